/* url.c: broker URLs (url.h): the amqp:// URL kombu takes for RabbitMQ and
 * the redis:// URL redis-py takes, split into decoded parts. */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "num.h"
#include "url.h"

static const struct scheme {
	const char *name;
	int port;		/* when the URL has none: the servers' defaults */
	const char *path;	/* what the path names, for messages */
	const char *no_path;	/* the path when the URL has none */
	int64_t db_max;		/* > 0: the path is a number 0..db_max */
} schemes[] = {
	{ "amqp", 5672, "vhost", "/", 0 },	/* kombu: empty is "/" */
	{ "amqps", 5671, "vhost", "/", 0 },	/* RabbitMQ's TLS port */
	{ "redis", 6379, "db", "", 65535 },
};

/* The value of the hex digit c (an unsigned char), or -1. */
static int
hexval(int c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p = c ? strchr(digits, tolower(c)) : NULL;

	return p ? (int)(p - digits) : -1;
}

/* Copies s[0..n) decoding %XX; refuses %00 and a broken escape. */
static int
unescape(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
url_parse(const char *url, const char *scheme, struct url *u, char *err,
    size_t errlen)
{
	const struct scheme *sc = NULL;
	size_t sl = strlen(scheme);
	const char *p = url, *at, *host, *colon, *slash, *end;
	int64_t port;

	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++)
		if (strcmp(scheme, schemes[i].name) == 0)
			sc = &schemes[i];
	if (sc == NULL) {
		snprintf(err, errlen, "scheme \"%.16s\" is not amqp, amqps or redis",
		    scheme);
		return -1;
	}
	if (strncmp(p, scheme, sl) != 0 || strncmp(p + sl, "://", 3) != 0)
		goto bad;
	p += sl + 3;
	end = p + strlen(p);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = end;
	at = memrchr(p, '@', (size_t)(slash - p));
	host = at ? at + 1 : p;
	if (at) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		const char *ue = c ? c : at;
		if (unescape(p, (size_t)(ue - p), u->user, sizeof(u->user)) == -1 ||
		    (c && unescape(c + 1, (size_t)(at - c - 1), u->password,
		    sizeof(u->password)) == -1))
			goto bad;
	}
	colon = memchr(host, ':', (size_t)(slash - host));
	if (unescape(host, (size_t)((colon ? colon : slash) - host), u->host,
	    sizeof(u->host)) == -1 || u->host[0] == '\0')
		goto bad;
	u->port = sc->port;
	if (colon) {
		if (num_parse_i64(colon + 1, (size_t)(slash - colon - 1), 1, 65535,
		    &port, NULL, 0) == -1)
			goto bad;
		u->port = (int)port;
	}
	/* The path is all after the first '/'. */
	if (*slash && unescape(slash + 1, strlen(slash + 1), u->path,
	    sizeof(u->path)) == -1)
		goto bad;
	if (u->path[0] == '\0')
		snprintf(u->path, sizeof(u->path), "%s", sc->no_path);
	else if (sc->db_max > 0 && num_parse_i64(u->path, strlen(u->path), 0,
	    sc->db_max, &port, NULL, 0) == -1)
		goto bad;
	return 0;
bad:
	/* Not the URL itself: it may hold a password, and this goes to logs
	 * and to the terminal of whoever runs operate-node -t. */
	snprintf(err, errlen, "the value is not %s://user:password@host:port/%s",
	    scheme, sc->path);
	return -1;
}
