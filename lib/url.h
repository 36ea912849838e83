/* url.h: the broker URLs the engine's clients take, as kombu reads them:
 * amqp[s]://user:password@host:port/vhost and redis://[user]:password@host:
 * port/db, with %XX escapes decoded. */
#ifndef URL_H
#define URL_H

#include <stddef.h>

#define URL_STR 256	/* each part, decoded, with its NUL */

struct url {
	char user[URL_STR];
	char password[URL_STR];
	char host[URL_STR];
	int port;		/* 5672 (amqp), 5671 (amqps) or 6379 (redis)
				 * when absent */
	char path[URL_STR];	/* amqp: the vhost, "/" when empty; redis: the
				 * db number 0..65535, or "" */
};

/*
 * Parses url, whose scheme must be scheme ("amqp", "amqps" or "redis"), into *u.
 * User and password are optional, the host is not; a %00 or a broken
 * escape, a port outside 1..65535 and a part too long for URL_STR are
 * refused. Returns 0, or -1 with err saying "\"<url>...\" is not
 * <scheme>://user:password@host:port/<vhost or db>" (the caller names
 * the setting).
 */
int url_parse(const char *url, const char *scheme, struct url *u, char *err,
    size_t errlen);

#endif
