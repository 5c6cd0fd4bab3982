/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flight recorder's on-disk format (README.md, "Recording format"),
 * pure: bytes in, bytes out, no files. A segment is a fixed prefix (magic,
 * format version), a header frame (host, kernel, boot id, interval, the
 * recorded key and the identity of every row kind's field table), then one
 * frame per interval. A frame is [magic u32][length u32][crc32 u32]
 * [type u8][payload]; the CRC (zlib crc32) covers type and payload, in the
 * spirit of LevelDB's log records. An interval payload is zlib (level 1) of
 * the interval's time, length, drops, new dictionary strings and its rows,
 * integers varint-encoded, histogram buckets delta-encoded. The reader
 * returns intact frames and counts every byte it had to skip; it never
 * trusts a length, count or index it has not checked.
 */
#ifndef LATSCOPE_RECFMT_H
#define LATSCOPE_RECFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rows.h"

#define REC_MAGIC	"LATSCREC"  /* 8 bytes, then the version (u32 LE) */
#define REC_VERSION	2	    /* the newest read; interval segments are still written as 1 */
#define REC_VERSION_IV	1	    /* tier 0 (interval frames): what the first reader reads */
#define REC_FRAME_MAGIC 0x4652534cu /* "LSRF" little-endian */
#define REC_FRAME_HDR	13	    /* magic, length, crc, type */
#define REC_FRAME_MAX	(64u << 20) /* a longer length is corruption */
#define REC_PREFIX	12	    /* magic + version */
#define REC_MAX_KINDS	IV_MAX_TABLES

enum rec_frame_type {
	REC_T_HEADER = 1,
	REC_T_INTERVAL = 2,
	REC_T_SLOW = 3, /* slow-call events (record --slow-threshold) */
};

struct rec_kind {
	char name[32];
	uint32_t hash; /* rec_schema_hash() of the field table that wrote it */
	uint32_t row_size;
};

struct rec_header {
	uint32_t version;
	char host[256];
	char kernel[128];
	char boot_id[40];
	uint64_t start_ns;    /* CLOCK_REALTIME when the segment was opened */
	uint64_t interval_ns; /* the recorder's -i */
	enum ls_by by;	      /* the recorded key */
	uint64_t rollup_ns;   /* a roll-up tier's window length; 0: interval frames */
	size_t nkinds;
	struct rec_kind kinds[REC_MAX_KINDS];
};

/* a growable byte buffer */
struct rec_buf {
	uint8_t *p;
	size_t n, cap;
};

void rec_buf__free(struct rec_buf *b);

/*
 * The identity of a row kind's layout: name, row size and every field's
 * name, kind, offset and size. A reader decodes a kind only when its hash
 * matches the one in the segment header.
 */
uint32_t rec_schema_hash(const struct row_schema *s);

/* Can rows of s be recorded (no pointers beyond the owner)? */
bool rec_schema_ok(const struct row_schema *s);

/* Fill h's kinds from schemas (the ones this build knows). */
void rec_header__set_kinds(struct rec_header *h, const struct row_schema *const *schemas, size_t n);

struct rec_enc;

/* An encoder for one segment (its dictionary starts empty). NULL on ENOMEM. */
struct rec_enc *rec_enc__new(const struct rec_header *h);
void rec_enc__free(struct rec_enc *e);

/* Append the segment prefix and header frame to out. 0 or -ENOMEM. */
int rec_enc__header(struct rec_enc *e, struct rec_buf *out);

/*
 * Append one interval frame for iv to out (out is emptied first). Tables
 * whose schema is not in the header are left out. New dictionary strings
 * are committed with rec_enc__commit() once the frame is on disk; until
 * then the next call re-sends them. 0, -ENOMEM, or -ENOTSUP (a schema
 * that cannot be recorded).
 */
int rec_enc__interval(struct rec_enc *e, const struct interval *iv, struct rec_buf *out);
void rec_enc__commit(struct rec_enc *e);

struct rec_reader;

/*
 * A reader over one segment's bytes (not copied: keep them while reading).
 * schemas are the row kinds this build knows; a kind recorded with another
 * layout (hash) is an error. NULL with a reason in why when the prefix or
 * header is unusable (errno EINVAL) or on ENOMEM.
 */
struct rec_reader *rec_reader__new(const void *data, size_t len,
				   const struct row_schema *const *schemas, size_t nschemas,
				   char *why, size_t why_len);
void rec_reader__free(struct rec_reader *r);
const struct rec_header *rec_reader__header(const struct rec_reader *r);

/*
 * The next intact interval of the segment into iv (reset first; its
 * strings belong to the reader and live until rec_reader__free). 1: one
 * decoded, 0: end of the segment, -ENOMEM.
 */
int rec_reader__next(struct rec_reader *r, struct interval *iv);

/* Bytes skipped so far (torn or corrupt frames, garbage between frames),
 * and how many frames among them failed their CRC or decoding. */
size_t rec_reader__skipped(const struct rec_reader *r);
size_t rec_reader__bad_frames(const struct rec_reader *r);

#endif
