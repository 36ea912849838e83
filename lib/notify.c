/*
 * sd_notify(3)'s datagram, written out: the service needs four messages
 * (READY, RELOADING, STOPPING, STATUS), not a library for them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

int
notify_send(const char *state, char *err, size_t errlen)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n, len = strlen(state);
	socklen_t salen;
	int fd, rc = -1;

	if (path == NULL || *path == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET is neither an absolute "
		    "path nor an abstract name of at most %zu bytes",
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';		/* the abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s",
		    strerror(errno));
		return -1;
	}
	if (sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	    salen) != (ssize_t)len)
		snprintf(err, errlen, "NOTIFY_SOCKET %s: %s", path,
		    strerror(errno));
	else
		rc = 1;
	close(fd);
	return rc;
}

int
notify_reloading(char *err, size_t errlen)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	return notify_send(msg, err, errlen);
}
