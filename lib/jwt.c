/*
 * RS512 compact JWS verification with libcrypto's EVP interface. Every step
 * refuses what it does not expect: a token that is not exactly
 * base64url.base64url.base64url, another alg, a bad signature, or claims
 * outside their time window.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jwt.h"
#include "strictjson.h"
#include "xmalloc.h"

#define PEM_MAX 65536		/* a 16384-bit key's PEM is about 3 kB */
#define JSON_DEPTH 16		/* a gateway's claims nest two or three levels */
#define ALG_SHOW 16		/* longest alg name quoted in a reason */

struct jwt_key {
	EVP_PKEY *pkey;
};

struct jwt_key *
jwt_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
	OSSL_DECODER_CTX *dctx = NULL;
	const unsigned char *p = (const unsigned char *)pem;
	struct jwt_key *k = NULL;
	EVP_PKEY *pkey = NULL;

	/* "RSA": SubjectPublicKeyInfo and PKCS#1 RSAPublicKey both decode. */
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
	    EVP_PKEY_PUBLIC_KEY, NULL, NULL);
	if (dctx == NULL || OSSL_DECODER_from_data(dctx, &p, &len) != 1 ||
	    pkey == NULL) {
		snprintf(err, errlen, "not a PEM RSA public key");
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		snprintf(err, errlen, "not an RSA key");
		goto out;
	}
	if (EVP_PKEY_get_bits(pkey) < JWT_MIN_BITS) {
		snprintf(err, errlen, "RSA key of %d bits, fewer than %d",
		    EVP_PKEY_get_bits(pkey), JWT_MIN_BITS);
		goto out;
	}
	k = xmalloc(sizeof(*k));
	k->pkey = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	OSSL_DECODER_CTX_free(dctx);
	ERR_clear_error();
	return k;
}

struct jwt_key *
jwt_key_from_file(const char *path, char *err, size_t errlen)
{
	struct jwt_key *k = NULL;
	char *buf = xmalloc(PEM_MAX);
	char why[128];
	struct stat st;
	ssize_t r;
	size_t n = 0;
	int fd;

	/* O_NONBLOCK: a FIFO is refused below, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* Public, but whoever may replace it may sign tokens. */
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "%s is writable by others (mode %04o): "
		    "chmod o-w it", path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (n < PEM_MAX && (r = read(fd, buf + n, PEM_MAX - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: read error", path);
			goto out;
		}
		n += (size_t)r;
	}
	if (n == PEM_MAX) {
		snprintf(err, errlen, "%s: too large for a public key", path);
		goto out;
	}
	if ((k = jwt_key_from_pem(buf, n, why, sizeof(why))) == NULL)
		snprintf(err, errlen, "%s: %s", path, why);
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return k;
}

void
jwt_key_free(struct jwt_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

int
jwt_key_equal(const struct jwt_key *a, const struct jwt_key *b)
{
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict base64url (RFC 7515 §2): the URL alphabet only, no padding, no
 * length that leaves a lone character, and zero unused bits in the last
 * character, so that each byte string has exactly one encoding. Returns a
 * malloc'd buffer (NUL-terminated for convenience) or NULL.
 */
static unsigned char *
b64url_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out;
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	if (n == 0 || n % 4 == 1)
		return NULL;
	out = xmalloc(n * 3 / 4 + 1);
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1)) {	/* non-canonical trailing bits */
		free(out);
		return NULL;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Quotes alg in a reason only when it is a short plain name. */
static void
alg_refused(const char *alg, char *err, size_t errlen)
{
	size_t n = strlen(alg);
	int plain = n > 0 && n <= ALG_SHOW;

	for (size_t i = 0; plain && i < n; i++)
		plain = isalnum((unsigned char)alg[i]);
	if (plain)
		snprintf(err, errlen, "alg %s is not RS512", alg);
	else
		snprintf(err, errlen, "alg is not RS512");
}

static int
check_header(const char *h, size_t n, char *err, size_t errlen)
{
	struct json_object *o, *alg;
	char why[128];
	int rc = -1;

	if ((o = sj_parse(h, n, JSON_DEPTH, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "header is not a strict JSON object");
		return -1;
	}
	if (!json_object_object_get_ex(o, "alg", &alg) ||
	    !json_object_is_type(alg, json_type_string)) {
		snprintf(err, errlen, "header has no alg");
		goto out;
	}
	if (strcmp(json_object_get_string(alg), "RS512") != 0) {
		alg_refused(json_object_get_string(alg), err, errlen);
		goto out;
	}
	/* RFC 7515 §4.1.11: extensions we do not know must be refused. */
	if (json_object_object_get_ex(o, "crit", NULL)) {
		snprintf(err, errlen, "header has crit");
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static int
check_signature(const struct jwt_key *key, const char *signed_part, size_t n,
    const unsigned char *sig, size_t siglen, char *err, size_t errlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	/* PKCS#1 v1.5 of the key's full size: RFC 7518 §3.3. */
	if (siglen != (size_t)EVP_PKEY_get_size(key->pkey)) {
		snprintf(err, errlen, "signature has the wrong length");
		goto out;
	}
	if (md == NULL || EVP_DigestVerifyInit(md, &pctx, EVP_sha512(), NULL,
	    key->pkey) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		snprintf(err, errlen, "libcrypto could not set up RS512");
		goto out;
	}
	if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)signed_part,
	    n) != 1) {
		snprintf(err, errlen, "signature does not verify");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/*
 * A NumericDate claim (RFC 7519 §2): 1 and *v when present and numeric,
 * 0 when absent, -1 when of another type.
 */
static int
time_claim(struct json_object *claims, const char *name, double *v)
{
	struct json_object *o;

	if (!json_object_object_get_ex(claims, name, &o))
		return 0;
	if (json_object_is_type(o, json_type_int))
		*v = (double)json_object_get_int64(o);
	else if (json_object_is_type(o, json_type_double))
		*v = json_object_get_double(o);
	else
		return -1;
	return isfinite(*v) ? 1 : -1;
}

static int
check_times(struct json_object *claims, time_t now, char *err, size_t errlen)
{
	double t, early = (double)now + JWT_LEEWAY, late = (double)now - JWT_LEEWAY;
	int r;

	if ((r = time_claim(claims, "exp", &t)) != 1) {
		snprintf(err, errlen, r == 0 ? "exp is missing" :
		    "exp is not a number");
		return -1;
	}
	if (t <= late) {
		snprintf(err, errlen, "token expired %.0f s ago",
		    (double)now - t);
		return -1;
	}
	if ((r = time_claim(claims, "nbf", &t)) == -1 || (r == 1 && t > early)) {
		snprintf(err, errlen, r == -1 ? "nbf is not a number" :
		    "token not valid for another %.0f s", t - (double)now);
		return -1;
	}
	if ((r = time_claim(claims, "iat", &t)) == -1 || (r == 1 && t > early)) {
		snprintf(err, errlen, r == -1 ? "iat is not a number" :
		    "token issued %.0f s in the future", t - (double)now);
		return -1;
	}
	return 0;
}

struct json_object *
jwt_verify(const char *token, const struct jwt_key *key, time_t now,
    char *err, size_t errlen)
{
	unsigned char *header = NULL, *payload = NULL, *sig = NULL;
	struct json_object *claims = NULL;
	const char *dot1, *dot2;
	size_t n = strnlen(token, JWT_MAX_LEN + 1), hlen, plen, slen;
	char why[128];

	if (n > JWT_MAX_LEN) {
		snprintf(err, errlen, "token is longer than %d bytes", JWT_MAX_LEN);
		return NULL;
	}
	dot1 = memchr(token, '.', n);
	dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - token))) {
		snprintf(err, errlen, "token is not three dot-separated parts");
		return NULL;
	}
	/* The header first: an alg we refuse is named as such, even when
	 * its signature part is empty (alg none). */
	if ((header = b64url_decode(token, (size_t)(dot1 - token), &hlen)) == NULL) {
		snprintf(err, errlen, "header is not base64url");
		goto out;
	}
	if (check_header((char *)header, hlen, err, errlen) == -1)
		goto out;
	if ((payload = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    &plen)) == NULL ||
	    (sig = b64url_decode(dot2 + 1, n - (size_t)(dot2 + 1 - token),
	    &slen)) == NULL) {
		snprintf(err, errlen, "%s is not base64url", payload == NULL ?
		    "payload" : "signature");
		goto out;
	}
	if (check_signature(key, token, (size_t)(dot2 - token), sig, slen, err,
	    errlen) == -1)
		goto out;
	/* Signed by the gateway, but still parsed as strictly as a body. */
	if ((claims = sj_parse((char *)payload, plen, JSON_DEPTH, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "claims are not a strict JSON object");
		goto out;
	}
	if (check_times(claims, now, err, errlen) == -1) {
		json_object_put(claims);
		claims = NULL;
	}
out:
	free(header);
	free(payload);
	free(sig);
	return claims;
}
