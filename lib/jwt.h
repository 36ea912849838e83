/*
 * Verification of compact JWS tokens (RFC 7515, RFC 7519) signed with RS512,
 * the one algorithm an API gateway in front of this service uses. The
 * signature is checked by libcrypto; nothing else is accepted.
 */
#ifndef JWT_H
#define JWT_H

#include <stddef.h>
#include <time.h>

struct json_object;

#define JWT_MAX_LEN 8192	/* nginx's default large header buffer */
#define JWT_LEEWAY 60		/* seconds of clock skew allowed on exp, nbf, iat */
#define JWT_MIN_BITS 2048	/* smallest RSA key taken (NIST SP 800-131A) */

struct jwt_key;

/*
 * An RSA public key from PEM text ("BEGIN PUBLIC KEY" or "BEGIN RSA PUBLIC
 * KEY") of len bytes. Returns a key the caller frees with jwt_key_free, or
 * NULL with err set.
 */
struct jwt_key *jwt_key_from_pem(const char *pem, size_t len, char *err,
    size_t errlen);
/* The same from a file. */
struct jwt_key *jwt_key_from_file(const char *path, char *err, size_t errlen);
void jwt_key_free(struct jwt_key *k);	/* accepts NULL */
/* 1 when both hold the same public key. */
int jwt_key_equal(const struct jwt_key *a, const struct jwt_key *b);

/*
 * Verifies token (NUL-terminated) with key at time now: three base64url
 * parts without padding, a header whose "alg" is "RS512" (any other alg,
 * "none" included, is refused, and so is "crit"), a valid RS512 signature,
 * and claims that are a JSON object with a numeric "exp" later than
 * now - JWT_LEEWAY, and "nbf" and "iat", when present, numeric and not
 * later than now + JWT_LEEWAY. Header and claims are parsed as strict JSON
 * (no duplicate keys).
 *
 * Returns the claims, which the caller releases with json_object_put(), or
 * NULL with a short reason in err. The reason never contains the token.
 */
struct json_object *jwt_verify(const char *token, const struct jwt_key *key,
    time_t now, char *err, size_t errlen);

#endif
