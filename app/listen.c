/*
 * The listening sockets: a unix socket opened up to listen_mode and
 * listen_owner only once bound, a TCP one on a numeric address, or the one
 * inherited on fd 0.
 */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

static int
set_owner(const char *path, const char *owner, char *err, size_t errlen)
{
	char user[256], *group;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (*owner == '\0')
		return 0;
	snprintf(user, sizeof(user), "%s", owner);
	if ((group = strchr(user, ':')) != NULL)
		*group++ = '\0';
	if (*user) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL) {
			snprintf(err, errlen, "listen_owner: no user \"%s\"", user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "listen_owner: no group \"%s\"", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (chown(path, uid, gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_unix(const struct config *cfg, const char *addr, char *err,
    size_t errlen)
{
	const char *path = addr + 5;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen: socket path is too long");
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* A stale socket from an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/* Bind with no access at all, then open it up to the configured
	 * mode: nobody can connect in between. */
	mode_t old = umask(0777);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || chmod(path, (mode_t)cfg->listen_mode) == -1)
		goto fail;
	if (set_owner(path, cfg->listen_owner, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (listen(fd, (int)cfg->listen_backlog) == -1)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static int
listen_tcp(const struct config *cfg, const char *addr, char *err,
    size_t errlen)
{
	char host[CONF_PATH];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai = NULL;
	int fd = -1, one = 1, r;

	snprintf(host, sizeof(host), "%s", addr);
	char *colon = strrchr(host, ':');
	*colon = '\0';
	port = colon + 1;
	/* [::1]:9000 */
	char *h = host;
	if (*h == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	if ((r = getaddrinfo(h, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen %s: %s (use an IP address)",
		    addr, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, (int)cfg->listen_backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
listen_inherited(void)
{
	int type = 0, acc = 0;
	socklen_t l = sizeof(type);

	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &l) == -1 ||
	    type != SOCK_STREAM)
		return 0;
	l = sizeof(acc);
	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc;
}

int
listen_open(const struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->listen, "fd0") == 0) {
		if (!listen_inherited()) {
			snprintf(err, errlen, "listen = fd0, but fd 0 is not a "
			    "listening socket");
			return -1;
		}
		return 0;
	}
	if (strncmp(cfg->listen, "unix:", 5) == 0)
		return listen_unix(cfg, cfg->listen, err, errlen);
	return listen_tcp(cfg, cfg->listen, err, errlen);
}

int
listen_open_status(const struct config *cfg, char *err, size_t errlen)
{
	const char *a = cfg->status_listen;

	if (*a == '\0')
		return -1;
	if (strncmp(a, "unix:", 5) == 0)
		return listen_unix(cfg, a, err, errlen);
	return listen_tcp(cfg, a, err, errlen);
}

void
listen_remove(const char *addr)
{
	if (strncmp(addr, "unix:", 5) == 0)
		unlink(addr + 5);
}
