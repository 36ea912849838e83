/* test_conn.c: the FastCGI params limit (conn_params_too_large) over a
 * socketpair: params that end under the limit, records past it, a pair
 * that declares lengths past it, and a stream that ends early. One case
 * per table row. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "conn.h"

#define MAX 1024

static size_t
rec(unsigned char *p, int type, const unsigned char *c, size_t n)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(n >> 8), (unsigned char)n, 0, 0 };
	memcpy(p, h, 8);
	if (n)
		memcpy(p + 8, c, n);
	return 8 + n;
}

/* A name-value pair: the name of nlen bytes, a value that declares vlen
 * bytes (4-byte form) and carries have of them. */
static size_t
pair(unsigned char *p, size_t nlen, uint32_t vlen, size_t have)
{
	size_t o = 0;
	p[o++] = (unsigned char)nlen;
	p[o++] = (unsigned char)(0x80 | vlen >> 24);
	p[o++] = (unsigned char)(vlen >> 16);
	p[o++] = (unsigned char)(vlen >> 8);
	p[o++] = (unsigned char)vlen;
	memset(p + o, 'n', nlen);
	o += nlen;
	memset(p + o, 'v', have);
	return o + have;
}

struct pcase {
	const char *what;
	uint32_t vlen;		/* the value's declared length */
	size_t have;		/* bytes of it sent */
	int records;		/* params records of that pair */
	int end;		/* the empty params record follows */
	int want;		/* conn_params_too_large */
};

static const struct pcase cases[] = {
	{ "small, ended", 100, 100, 1, 1, 0 },
	{ "just under the limit, ended", 900, 900, 1, 1, 0 },
	{ "declares 2^31 - 2", 0x7ffffffe, 10, 1, 0, 1 },
	{ "declares past the limit", 2000, 100, 1, 0, 1 },
	{ "records past the limit", 600, 600, 2, 0, 1 },
	{ "ends early (EOF)", 500, 100, 1, 0, 0 },
};

static void
test_params_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct pcase *c = &cases[i];
		unsigned char buf[8192], pv[4096];
		size_t n = 0, pn;
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		n += rec(buf + n, 1, (const unsigned char *)"\0\1\0\0\0\0\0\0", 8);
		pn = pair(pv, 8, c->vlen, c->have);
		for (int r = 0; r < c->records; r++)
			n += rec(buf + n, 4, pv, pn);
		if (c->end)
			n += rec(buf + n, 4, NULL, 0);
		assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
		if (!c->end)
			shutdown(sv[1], SHUT_WR);	/* no more comes */
		if (conn_params_too_large(sv[0], MAX) != c->want)
			fail_msg("case %zu (%s): want %d", i, c->what, c->want);
		/* nothing was consumed: libfcgi reads it all */
		unsigned char again[8192];
		assert_int_equal(recv(sv[0], again, sizeof(again), 0), (ssize_t)n);
		close(sv[0]);
		close(sv[1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
