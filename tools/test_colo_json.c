// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of colo-qemu-agent's JSON reader and QMP message classes, and a
 * random fuzz of both: every token must stay inside the text, nothing may
 * read past it (run under -fsanitize=address to see that too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colo_json.h"
#include "colo_qmp.h"

static int passed, failed;
static struct cj_doc doc;

static void check(bool ok, const char *what)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL: %s\n", what);
}

static int parse(const char *s)
{
	return cj_parse(&doc, s, strlen(s));
}

static void test_valid(void)
{
	static const char *const ok[] = {
		"{}", "[]", "0", "-0", "1.5e+3", "-12.25E-2", "\"\"", "true",
		"false", "null", " { \"a\" : [1, {\"b\": null}, \"c\"] } ",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"", "[[[[]]]]",
		"{\"a\":1,\"a\":2}",
	};
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\"}", "{\"a\":}", "{a:1}",
		"01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "\"abc",
		"\"\\x\"", "\"\\u12g4\"", "\"a\nb\"", "[1 2]", "{\"a\":1,}",
		"{} {}", "[1]x", "'a'", "{\"a\":1 \"b\":2}",
	};
	char what[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(what, sizeof(what), "valid: %s", ok[i]);
		check(parse(ok[i]) == CJ_OK, what);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "invalid: %s", bad[i]);
		check(parse(bad[i]) != CJ_OK, what);
	}
}

static void test_lookup(void)
{
	char buf[16];
	int64_t v;
	int t;

	check(parse("{\"x\": {\"deep\": [1, 2, {\"k\": 3}]}, \"id\": 42, "
		    "\"s\": \"a\\u0041\\ud83d\\ude00\", \"n\": -7}") == CJ_OK,
	      "lookup doc parses");
	t = cj_get(&doc, 0, "id");
	check(t >= 0 && cj_int(&doc, t, &v) == 0 && v == 42,
	      "id after a nested member is found");
	check(cj_get(&doc, 0, "k") < 0, "a nested key is not a member");
	t = cj_get_type(&doc, 0, "s", CJ_STRING);
	check(t >= 0 && cj_str(&doc, t, buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "aA\xf0\x9f\x98\x80"),
	      "escapes and a surrogate pair unescape to UTF-8");
	check(cj_str(&doc, t, buf, 3) < 0 && !strcmp(buf, "aA"),
	      "a string that does not fit is truncated and reported");
	check(cj_get_type(&doc, 0, "s", CJ_NUMBER) < 0, "type is checked");
	t = cj_get(&doc, 0, "n");
	check(cj_int(&doc, t, &v) == 0 && v == -7, "negative integer");
	check(parse("{\"a\\u0062\": 1}") == CJ_OK && cj_get(&doc, 0, "ab") == 2,
	      "an escaped key matches");
	check(parse("[\"\\u0000\\udc00\"]") == CJ_OK &&
	      cj_str(&doc, 1, buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "\xef\xbf\xbd\xef\xbf\xbd"),
	      "NUL and a lone surrogate become U+FFFD");
	check(parse("[1.5, 99999999999999999999, 1e3]") == CJ_OK &&
	      cj_int(&doc, 1, &v) < 0 && cj_int(&doc, 2, &v) < 0 &&
	      cj_int(&doc, 3, &v) < 0, "non-integers and overflow refused");
}

static void test_bounds(void)
{
	static char big[CJ_MAX_LEN + 2];
	size_t i;

	for (i = 0; i < CJ_MAX_DEPTH; i++)
		big[i] = '[';
	for (i = 0; i < CJ_MAX_DEPTH; i++)
		big[CJ_MAX_DEPTH + i] = ']';
	big[2 * CJ_MAX_DEPTH] = '\0';
	check(parse(big) == CJ_OK, "nesting up to the cap");
	memmove(big + 1, big, 2 * CJ_MAX_DEPTH + 1);
	big[0] = '[';
	strcat(big, "]");
	check(parse(big) == CJ_E_TOO_DEEP, "nesting past the cap refused");

	big[0] = '[';
	for (i = 0; i < CJ_MAX_TOKENS; i++)
		memcpy(big + 1 + 2 * i, "0,", 2);
	memcpy(big + 2 * CJ_MAX_TOKENS, "]", 2);
	check(parse(big) == CJ_E_TOO_MANY, "more tokens than the cap refused");
	memset(big, ' ', CJ_MAX_LEN + 1);
	big[0] = '1';
	check(cj_parse(&doc, big, CJ_MAX_LEN + 1) == CJ_E_TOO_LONG,
	      "text over the length cap refused");
	check(cj_parse(&doc, big, CJ_MAX_LEN) == CJ_OK,
	      "text at the length cap parses");
}

static void classify(const char *line, struct qmp_msg *m)
{
	qmp_classify(&doc, line, strlen(line), m);
}

static void test_qmp(void)
{
	struct qmp_msg m;

	classify("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": "
		 "2, \"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, "
		 "\"capabilities\": [\"oob\"]}}", &m);
	check(m.kind == QMP_GREETING, "greeting");
	classify("{\"return\": {}, \"id\": 3}", &m);
	check(m.kind == QMP_RETURN && m.has_id && m.id == 3, "return with id");
	classify("{\"return\": {\"mode\": \"primary\", \"last-mode\": \"none\", "
		 "\"reason\": \"none\"}, \"id\": 4}", &m);
	check(m.kind == QMP_RETURN && m.ret > 0 &&
	      cj_str_eq(m.doc, cj_get(m.doc, m.ret, "mode"), "primary"),
	      "query-colo-status return: mode");
	classify("{\"id\": 5, \"error\": {\"class\": \"GenericError\", "
		 "\"desc\": \"Parameter 'x-checkpoint-delay' expects uint32_t\"}}",
		 &m);
	check(m.kind == QMP_ERROR && m.id == 5 &&
	      !strcmp(m.err_class, "GenericError") &&
	      !strncmp(m.err_desc, "Parameter", 9), "error: class and desc");
	classify("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": "
		 "12}, \"event\": \"COLO_EXIT\", \"data\": {\"mode\": "
		 "\"secondary\", \"reason\": \"error\"}}", &m);
	check(m.kind == QMP_EVENT && !strcmp(m.event, "COLO_EXIT") &&
	      cj_str_eq(m.doc, cj_get(m.doc, m.ret, "reason"), "error"),
	      "COLO_EXIT event with data");
	classify("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, "
		 "\"microseconds\": 2}}", &m);
	check(m.kind == QMP_EVENT && !strcmp(m.event, "STOP") && m.ret < 0,
	      "STOP event without data");
	classify("{\"event\": 5}", &m);
	check(m.kind == QMP_BAD, "event name not a string: bad");
	classify("[\"return\"]", &m);
	check(m.kind == QMP_BAD, "not an object: bad");
	classify("{\"return\": {}, \"id\": \"x\"}", &m);
	check(m.kind == QMP_RETURN && !m.has_id, "a string id is not ours");
	classify("{\"error\": {\"class\": 7}}", &m);
	check(m.kind == QMP_ERROR && !strcmp(m.err_class, "?"),
	      "error with a bad class still classifies");
}

/* Feed lines through qmp_next() as a read would: framing and overlong. */
static void test_framing(void)
{
	static struct colo_qmp q;
	struct qmp_msg m;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.fd = -1;
	strcpy(q.buf, "\r\n{\"return\": {}, \"id\": 1}\r\n{\"event\": \"RES");
	q.len = strlen(q.buf);
	check(qmp_next(&q, &m) == 1 && m.kind == QMP_RETURN && m.id == 1,
	      "CRLF lines: the message after an empty line");
	check(qmp_next(&q, &m) == 0, "a partial line waits");
	strcpy(q.buf + q.len, "UME\"}\n");
	q.len += 6;
	check(qmp_next(&q, &m) == 1 && m.kind == QMP_EVENT &&
	      !strcmp(m.event, "RESUME"), "the line completes");

	/* A full buffer without a newline: dropped, reported once. */
	memset(q.buf, 'x', sizeof(q.buf) - 1);
	q.len = sizeof(q.buf) - 1;
	q.discarding = true;
	for (i = 0; i < 10; i++)
		q.buf[i] = 'y';
	q.buf[10] = '\n';
	strcpy(q.buf + 11, "{\"return\": 1, \"id\": 9}\n");
	q.len = strlen(q.buf);
	check(qmp_next(&q, &m) == 1 && m.kind == QMP_BAD &&
	      strstr(m.err_desc, "longer"), "overlong line reported as bad");
	check(qmp_next(&q, &m) == 1 && m.kind == QMP_RETURN && m.id == 9,
	      "the line after an overlong one is read");
}

static bool doc_sane(size_t len)
{
	unsigned int i;

	for (i = 0; i < doc.ntok; i++) {
		const struct cj_tok *t = &doc.tok[i];

		if (t->start > t->end || t->end > len || t->next > doc.ntok ||
		    t->next <= i)
			return false;
	}
	return true;
}

static void test_fuzz(void)
{
	static const char *const seeds[] = {
		"{\"event\": \"COLO_EXIT\", \"data\": {\"mode\": \"primary\", "
		"\"reason\": \"request\"}, \"timestamp\": {\"seconds\": 1, "
		"\"microseconds\": 2}}",
		"{\"return\": {\"mode\": \"none\", \"last-mode\": \"primary\", "
		"\"reason\": \"error\"}, \"id\": 12}",
		"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
		"\"\\u00e9\\\"x\"}, \"id\": 1}",
		"[1, -2.5e3, true, false, null, [], {}, \"\\ud83d\\ude00\"]",
	};
	static const char alphabet[] = "{}[]\",:\\u0123456789eE.+-tfnrl \n";
	char buf[512], str[64];
	unsigned int seed = 1, i, j, insane = 0;
	struct qmp_msg m;

	for (i = 0; i < 200000; i++) {
		const char *s = seeds[i % 4];
		size_t len = strlen(s);

		memcpy(buf, s, len);
		for (j = 0; j < 1 + (unsigned int)rand_r(&seed) % 4; j++) {
			size_t at;

			if (!len)
				break;
			at = rand_r(&seed) % len;

			switch (rand_r(&seed) % 3) {
			case 0:
				buf[at] = alphabet[rand_r(&seed) %
						   (sizeof(alphabet) - 1)];
				break;
			case 1:
				buf[at] = rand_r(&seed);
				break;
			default:
				len = at;
			}
		}
		qmp_classify(&doc, buf, len, &m);
		if (!doc_sane(len))
			insane++;
		for (j = 0; j < doc.ntok; j++)
			cj_str(&doc, j, str, sizeof(str));
	}
	check(!insane, "fuzz: every token stays inside the text");
}

int main(void)
{
	test_valid();
	test_lookup();
	test_bounds();
	test_qmp();
	test_framing();
	test_fuzz();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
