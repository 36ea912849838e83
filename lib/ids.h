/* ids.h: request and trace ids as README "The API" describes
 * them: which incoming ids are taken as they are, and fresh random ones. */
#ifndef IDS_H
#define IDS_H

#define ID_REQUEST_MAX 64	/* longest request id taken from a client */
#define ID_HEX_LEN 32		/* a trace id, and a fresh id: 128 bits in hex */

/* 1 if s is 1 to ID_REQUEST_MAX bytes of 0x21..0x7e other than '"' and
 * '\\' (printable ASCII, no space), else 0. s may be NULL. */
int id_request_valid(const char *s);

/*
 * Takes the trace id from a W3C traceparent header, version 00:
 * "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", exactly 55
 * bytes, lower-case hex only, neither id all zeros. On success copies the
 * trace id and a NUL into out and returns 0; else returns -1 and leaves
 * out alone. hdr may be NULL.
 */
int id_traceparent(const char *hdr, char out[ID_HEX_LEN + 1]);

/* Writes ID_HEX_LEN random lower-case hex digits and a NUL into out, from
 * getrandom(2), else /dev/urandom. Aborts if the kernel gives neither. */
void id_random_hex(char out[ID_HEX_LEN + 1]);

#endif
