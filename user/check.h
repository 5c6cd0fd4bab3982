/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* latscope check: kernel features, each collector tried in each flavour. */
#ifndef LATSCOPE_CHECK_H
#define LATSCOPE_CHECK_H

/* Print the report to stdout. Returns 0 when some collector can run, else 1. */
int check__run(void);

#endif
