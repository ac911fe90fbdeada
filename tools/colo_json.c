// SPDX-License-Identifier: GPL-2.0
/*
 * colo-qemu-agent: a bounded JSON reader (RFC 8259 grammar) for QMP. The
 * text comes from QEMU's monitor, a socket or a guest-reachable device: it is
 * treated as hostile. Recursion is capped at CJ_MAX_DEPTH levels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "colo_json.h"

struct cj_parser {
	struct cj_doc *d;
	size_t pos;
	int err;
};

static void cj_skip_ws(struct cj_parser *p)
{
	const char *s = p->d->s;

	while (p->pos < p->d->len &&
	       (s[p->pos] == ' ' || s[p->pos] == '\t' ||
		s[p->pos] == '\n' || s[p->pos] == '\r'))
		p->pos++;
}

static int cj_fail(struct cj_parser *p, int err)
{
	if (!p->err)
		p->err = err;
	return -1;
}

static int cj_new_tok(struct cj_parser *p, enum cj_type type)
{
	struct cj_doc *d = p->d;
	struct cj_tok *t;

	if (d->ntok >= CJ_MAX_TOKENS)
		return cj_fail(p, CJ_E_TOO_MANY);
	t = &d->tok[d->ntok];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->start = p->pos;
	return d->ntok++;
}

static bool cj_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int cj_parse_string(struct cj_parser *p)
{
	const char *s = p->d->s;
	int t;

	p->pos++;	/* the opening quote */
	t = cj_new_tok(p, CJ_STRING);
	if (t < 0)
		return -1;
	while (p->pos < p->d->len) {
		unsigned char c = s[p->pos];

		if (c == '"') {
			p->d->tok[t].end = p->pos++;
			return t;
		}
		if (c < 0x20)
			return cj_fail(p, CJ_E_SYNTAX);
		if (c != '\\') {
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= p->d->len)
			break;
		c = s[p->pos + 1];
		if (c == 'u') {
			int i;

			if (p->pos + 6 > p->d->len)
				break;
			for (i = 2; i < 6; i++)
				if (!cj_is_hex(s[p->pos + i]))
					return cj_fail(p, CJ_E_SYNTAX);
			p->pos += 6;
			continue;
		}
		if (!strchr("\"\\/bfnrt", c) || !c)
			return cj_fail(p, CJ_E_SYNTAX);
		p->pos += 2;
	}
	return cj_fail(p, CJ_E_SYNTAX);
}

static size_t cj_digits(struct cj_parser *p)
{
	size_t n = 0;

	while (p->pos < p->d->len && p->d->s[p->pos] >= '0' &&
	       p->d->s[p->pos] <= '9') {
		p->pos++;
		n++;
	}
	return n;
}

static int cj_parse_number(struct cj_parser *p)
{
	const char *s = p->d->s;
	int t = cj_new_tok(p, CJ_NUMBER);

	if (t < 0)
		return -1;
	if (s[p->pos] == '-')
		p->pos++;
	if (p->pos < p->d->len && s[p->pos] == '0')
		p->pos++;
	else if (!cj_digits(p))
		return cj_fail(p, CJ_E_SYNTAX);
	if (p->pos < p->d->len && s[p->pos] == '.') {
		p->pos++;
		if (!cj_digits(p))
			return cj_fail(p, CJ_E_SYNTAX);
	}
	if (p->pos < p->d->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->d->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (!cj_digits(p))
			return cj_fail(p, CJ_E_SYNTAX);
	}
	p->d->tok[t].end = p->pos;
	return t;
}

static int cj_parse_word(struct cj_parser *p, const char *word,
			 enum cj_type type)
{
	size_t n = strlen(word);
	int t;

	if (p->d->len - p->pos < n || memcmp(p->d->s + p->pos, word, n))
		return cj_fail(p, CJ_E_SYNTAX);
	t = cj_new_tok(p, type);
	if (t < 0)
		return -1;
	p->pos += n;
	p->d->tok[t].end = p->pos;
	return t;
}

static int cj_parse_value(struct cj_parser *p, unsigned int depth);

/* An object (@close '}') or an array (@close ']'). */
static int cj_parse_container(struct cj_parser *p, unsigned int depth,
			      enum cj_type type, char close)
{
	int t = cj_new_tok(p, type);

	if (t < 0)
		return -1;
	if (depth >= CJ_MAX_DEPTH)
		return cj_fail(p, CJ_E_TOO_DEEP);
	p->pos++;
	cj_skip_ws(p);
	if (p->pos < p->d->len && p->d->s[p->pos] == close) {
		p->d->tok[t].end = ++p->pos;
		return t;
	}
	for (;;) {
		cj_skip_ws(p);
		if (type == CJ_OBJECT) {
			int key;

			if (p->pos >= p->d->len || p->d->s[p->pos] != '"')
				return cj_fail(p, CJ_E_SYNTAX);
			key = cj_parse_string(p);
			if (key < 0)
				return -1;
			/* A key's subtree is itself; its value follows. */
			p->d->tok[key].next = key + 1;
			cj_skip_ws(p);
			if (p->pos >= p->d->len || p->d->s[p->pos] != ':')
				return cj_fail(p, CJ_E_SYNTAX);
			p->pos++;
		}
		if (cj_parse_value(p, depth + 1) < 0)
			return -1;
		p->d->tok[t].size++;
		cj_skip_ws(p);
		if (p->pos >= p->d->len)
			return cj_fail(p, CJ_E_SYNTAX);
		if (p->d->s[p->pos] == close)
			break;
		if (p->d->s[p->pos] != ',')
			return cj_fail(p, CJ_E_SYNTAX);
		p->pos++;
	}
	p->d->tok[t].end = ++p->pos;
	return t;
}

static int cj_parse_value(struct cj_parser *p, unsigned int depth)
{
	int t;

	cj_skip_ws(p);
	if (p->pos >= p->d->len)
		return cj_fail(p, CJ_E_SYNTAX);
	switch (p->d->s[p->pos]) {
	case '{':
		t = cj_parse_container(p, depth, CJ_OBJECT, '}');
		break;
	case '[':
		t = cj_parse_container(p, depth, CJ_ARRAY, ']');
		break;
	case '"':
		t = cj_parse_string(p);
		break;
	case 't':
		t = cj_parse_word(p, "true", CJ_TRUE);
		break;
	case 'f':
		t = cj_parse_word(p, "false", CJ_FALSE);
		break;
	case 'n':
		t = cj_parse_word(p, "null", CJ_NULL);
		break;
	default:
		if (p->d->s[p->pos] == '-' ||
		    (p->d->s[p->pos] >= '0' && p->d->s[p->pos] <= '9'))
			t = cj_parse_number(p);
		else
			t = cj_fail(p, CJ_E_SYNTAX);
	}
	if (t >= 0)
		p->d->tok[t].next = p->d->ntok;
	return t;
}

/*
 * Parse one JSON value spanning all of @s (surrounding blanks allowed).
 * CJ_OK, or an error with no tokens.
 */
int cj_parse(struct cj_doc *d, const char *s, size_t len)
{
	struct cj_parser p = { .d = d };

	d->s = s;
	d->len = len;
	d->ntok = 0;
	if (len > CJ_MAX_LEN)
		return CJ_E_TOO_LONG;
	if (cj_parse_value(&p, 0) < 0) {
		p.err = p.err ? p.err : CJ_E_SYNTAX;
	} else {
		cj_skip_ws(&p);
		if (p.pos != len)
			p.err = CJ_E_TRAILING;
	}
	/* No half-built tokens for lookups to trip on. */
	if (p.err)
		d->ntok = 0;
	return p.err;
}

const char *cj_strerror(int err)
{
	switch (err) {
	case CJ_OK:		return "no error";
	case CJ_E_TOO_LONG:	return "message too long";
	case CJ_E_TOO_MANY:	return "too many values";
	case CJ_E_TOO_DEEP:	return "nested too deeply";
	case CJ_E_SYNTAX:	return "not valid JSON";
	case CJ_E_TRAILING:	return "text after the JSON value";
	default:		return "unknown error";
	}
}

static bool cj_valid(const struct cj_doc *d, int t)
{
	return t >= 0 && (unsigned int)t < d->ntok;
}

static unsigned int cj_hex4(const char *s)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			v |= c - 'A' + 10;
	}
	return v;
}

static size_t cj_utf8(unsigned int cp, char *out)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | (cp >> 6);
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | (cp >> 12);
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | (cp >> 18);
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* One escape at @s (the backslash); its code point, *len its length. */
static unsigned int cj_unescape(const char *s, size_t avail, size_t *len)
{
	unsigned int cp, lo;

	*len = 2;
	switch (s[1]) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'u': break;
	default:  return (unsigned char)s[1];
	}
	*len = 6;
	cp = cj_hex4(s + 2);
	if (cp >= 0xd800 && cp < 0xdc00 && avail >= 12 && s[6] == '\\' &&
	    s[7] == 'u') {
		lo = cj_hex4(s + 8);
		if (lo >= 0xdc00 && lo < 0xe000) {
			*len = 12;
			return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
	}
	/* A lone surrogate or NUL cannot be a C string: U+FFFD instead. */
	if ((cp >= 0xd800 && cp < 0xe000) || cp == 0)
		return 0xfffd;
	return cp;
}

int cj_str(const struct cj_doc *d, int t, char *buf, size_t size)
{
	const struct cj_tok *tok;
	size_t i, n = 0;

	if (!cj_valid(d, t) || d->tok[t].type != CJ_STRING || !size)
		return -1;
	tok = &d->tok[t];
	for (i = tok->start; i < tok->end;) {
		char tmp[4];
		size_t len = 1, out = 1;

		if (d->s[i] == '\\')
			out = cj_utf8(cj_unescape(d->s + i, tok->end - i, &len),
				      tmp);
		else
			tmp[0] = d->s[i];
		if (n + out >= size) {
			buf[n] = '\0';
			return -1;
		}
		memcpy(buf + n, tmp, out);
		n += out;
		i += len;
	}
	buf[n] = '\0';
	return 0;
}

/* QMP's names are short: longer keys or values never match. */
#define CJ_CMP_MAX	128

bool cj_str_eq(const struct cj_doc *d, int t, const char *s)
{
	char buf[CJ_CMP_MAX];

	return cj_str(d, t, buf, sizeof(buf)) == 0 && !strcmp(buf, s);
}

int cj_get(const struct cj_doc *d, int obj, const char *key)
{
	unsigned int i, k;

	if (!cj_valid(d, obj) || d->tok[obj].type != CJ_OBJECT)
		return -1;
	k = obj + 1;
	for (i = 0; i < d->tok[obj].size; i++) {
		unsigned int v = k + 1;

		if (cj_str_eq(d, k, key))
			return v;
		k = d->tok[v].next;
	}
	return -1;
}

int cj_get_type(const struct cj_doc *d, int obj, const char *key,
		enum cj_type type)
{
	int t = cj_get(d, obj, key);

	return t >= 0 && d->tok[t].type == type ? t : -1;
}

int cj_int(const struct cj_doc *d, int t, int64_t *v)
{
	char buf[24], *end;
	size_t n;

	if (!cj_valid(d, t) || d->tok[t].type != CJ_NUMBER)
		return -1;
	n = d->tok[t].end - d->tok[t].start;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, d->s + d->tok[t].start, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return errno || *end ? -1 : 0;
}
