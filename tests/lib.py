# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Shared helpers for latscope's Python tests (see tests/run.py)."""


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts it as skipped."""
