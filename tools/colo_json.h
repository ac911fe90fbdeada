/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small, bounded JSON reader for QMP messages: one document is parsed into
 * a flat array of tokens that point into the caller's text. Nothing is
 * allocated; every length, the token count and the nesting depth have a cap.
 */
#ifndef COLO_JSON_H
#define COLO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One QMP message: QEMU's replies we use are well under these. */
#define CJ_MAX_LEN	65536
#define CJ_MAX_TOKENS	1024
#define CJ_MAX_DEPTH	32

enum cj_type {
	CJ_NONE,
	CJ_OBJECT,
	CJ_ARRAY,
	CJ_STRING,	/* start/end: the text between the quotes, raw */
	CJ_NUMBER,
	CJ_TRUE,
	CJ_FALSE,
	CJ_NULL,
};

/*
 * An object's tokens are its members in order, key then value; an array's are
 * its elements. @next is the index just past the token's subtree.
 */
struct cj_tok {
	uint8_t type;
	uint32_t start;
	uint32_t end;
	uint32_t size;	/* members of an object, elements of an array */
	uint32_t next;
};

struct cj_doc {
	const char *s;
	size_t len;
	unsigned int ntok;
	struct cj_tok tok[CJ_MAX_TOKENS];
};

enum cj_error {
	CJ_OK,
	CJ_E_TOO_LONG = 1,
	CJ_E_TOO_MANY,
	CJ_E_TOO_DEEP,
	CJ_E_SYNTAX,
	CJ_E_TRAILING,
};

int cj_parse(struct cj_doc *d, const char *s, size_t len);
const char *cj_strerror(int err);

/* Token 0 is the root. Lookups return a token index, or -1. */
int cj_get(const struct cj_doc *d, int obj, const char *key);
int cj_get_type(const struct cj_doc *d, int obj, const char *key,
		enum cj_type type);
bool cj_str_eq(const struct cj_doc *d, int t, const char *s);
/* Unescaped into @buf (NUL-terminated); -1 if not a string or truncated. */
int cj_str(const struct cj_doc *d, int t, char *buf, size_t size);
/* An integer number that fits in int64_t; -1 otherwise. */
int cj_int(const struct cj_doc *d, int t, int64_t *v);

#endif /* COLO_JSON_H */
