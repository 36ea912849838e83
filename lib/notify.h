/*
 * Readiness for systemd (Type=notify) without libsystemd: sd_notify(3)'s
 * protocol is one datagram of "KEY=VALUE" lines to the AF_UNIX socket that
 * $NOTIFY_SOCKET names.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>

/*
 * Sends state ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1",
 * "STATUS=...") to $NOTIFY_SOCKET: a path, or an abstract name written
 * with a leading '@'. Returns 1 when sent, 0 when NOTIFY_SOCKET is unset
 * or empty (not under systemd), -1 with err filled otherwise.
 */
int notify_send(const char *state, char *err, size_t errlen);

/* "RELOADING=1" with the MONOTONIC_USEC systemd 253 and later want. */
int notify_reloading(char *err, size_t errlen);

#endif
