/* ids.c: validation of client-supplied request ids and traceparent headers,
 * and fresh random ids from the kernel's CSPRNG (never rand(): ids from
 * several workers forked from one master must not collide). */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ids.h"

/* W3C Trace Context, version 00: "00-" 32 hex "-" 16 hex "-" 2 hex. */
#define TP_LEN 55
#define TP_TRACE 3
#define TP_PARENT 36
#define TP_PARENT_LEN 16
#define TP_FLAGS 53
#define TP_FLAGS_LEN 2
#define LOWER_HEX "0123456789abcdef"
#define READ_TRIES 8	/* short reads or EINTR before giving up a source */

int
id_request_valid(const char *s)
{
	unsigned char c;
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i <= ID_REQUEST_MAX; i++) {
		c = (unsigned char)s[i];
		if (c == '\0')
			return i > 0;
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return 0;
	}
	return 0;
}

int
id_traceparent(const char *hdr, char out[ID_HEX_LEN + 1])
{
	if (hdr == NULL || strnlen(hdr, TP_LEN + 1) != TP_LEN)
		return -1;
	if (hdr[0] != '0' || hdr[1] != '0' || hdr[2] != '-' ||
	    hdr[TP_PARENT - 1] != '-' || hdr[TP_FLAGS - 1] != '-')
		return -1;
	/* Each field ends at a '-' or the NUL: a span of it is all of it. */
	if (strspn(hdr + TP_TRACE, LOWER_HEX) != ID_HEX_LEN ||
	    strspn(hdr + TP_PARENT, LOWER_HEX) != TP_PARENT_LEN ||
	    strspn(hdr + TP_FLAGS, LOWER_HEX) != TP_FLAGS_LEN)
		return -1;
	if (strspn(hdr + TP_TRACE, "0") == ID_HEX_LEN ||
	    strspn(hdr + TP_PARENT, "0") == TP_PARENT_LEN)
		return -1;
	memcpy(out, hdr + TP_TRACE, ID_HEX_LEN);
	out[ID_HEX_LEN] = '\0';
	return 0;
}

static int
from_getrandom(unsigned char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int i;

	for (i = 0; i < READ_TRIES && got < n; i++) {
		r = getrandom(p + got, n - got, 0);
		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	return got == n ? 0 : -1;
}

/* For kernels or seccomp filters without getrandom(2). */
static int
from_urandom(unsigned char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int fd, i;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < READ_TRIES && got < n; i++) {
		r = read(fd, p + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	close(fd);
	return got == n ? 0 : -1;
}

void
id_random_hex(char out[ID_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[ID_HEX_LEN / 2];
	size_t i;

	/* An id from a weak source could repeat across workers; no id at all
	 * is better, and neither source fails on a working Linux system. */
	if (from_getrandom(raw, sizeof raw) < 0 &&
	    from_urandom(raw, sizeof raw) < 0)
		abort();
	for (i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	out[ID_HEX_LEN] = '\0';
}
