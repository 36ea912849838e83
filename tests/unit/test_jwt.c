/* test_jwt.c: jwt_verify and jwt_key_from_pem with RSA keys made at test
 * time by libcrypto, tokens signed here; one table row per case. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"

#define NOW 1764655200		/* 2025-12-02 06:00:00 UTC */
#define ERR_LEN 128
#define HDR_RS512 "{\"alg\":\"RS512\",\"typ\":\"JWT\",\"kid\":\"bk-sops\"}"

static EVP_PKEY *signer, *stranger;	/* stranger: a key nobody trusts */
static struct jwt_key *key;		/* signer's public half */

static char *
pem_of(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_true(PEM_write_bio_PUBKEY(b, k) == 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = a[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = a[in[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = a[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

enum how { RSA_SHA512, RSA_SHA256, BY_STRANGER, HMAC_PEM, UNSIGNED };

/* header.claims.signature; the caller frees it. */
static char *
sign(const char *header, const char *claims, enum how how)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	char *t = malloc(32768), *p;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	b64url((const unsigned char *)header, strlen(header), t);
	p = t + strlen(t);
	*p++ = '.';
	b64url((const unsigned char *)claims, strlen(claims), p);
	if (how == UNSIGNED)
		siglen = 0;
	else if (how == HMAC_PEM) {
		/* The classic confusion: the public key used as an HMAC secret. */
		char *pem = pem_of(signer);
		unsigned int n = 0;
		HMAC(EVP_sha512(), pem, (int)strlen(pem), (unsigned char *)t,
		    strlen(t), sig, &n);
		siglen = n;
		free(pem);
	} else {
		assert_true(EVP_DigestSignInit(md, NULL, how == RSA_SHA256 ?
		    EVP_sha256() : EVP_sha512(), NULL, how == BY_STRANGER ?
		    stranger : signer) == 1);
		assert_true(EVP_DigestSign(md, sig, &siglen,
		    (unsigned char *)t, strlen(t)) == 1);
	}
	EVP_MD_CTX_free(md);
	p = t + strlen(t);
	*p++ = '.';
	b64url(sig, siglen, p);
	return t;
}

static char *
claims_at(long exp_off, const char *extra)
{
	char *c = malloc(512);
	snprintf(c, 512, "{\"iss\":\"APIGW\",\"app\":{\"app_code\":\"bk_fta\","
	    "\"verified\":true},\"user\":{\"username\":\"admin\",\"verified\":"
	    "true},\"exp\":%ld%s}", (long)NOW + exp_off, extra);
	return c;
}

/* A one-character change in part (0 header, 1 payload, 2 signature). */
static void
tamper(char *t, int part, int at)
{
	char *p = t;
	for (int i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	p[at] = p[at] == 'A' ? 'B' : 'A';
}

struct vcase {
	const char *name;
	const char *header;
	long exp_off;		/* exp = NOW + exp_off */
	const char *extra;	/* more claims, starting with ',' */
	enum how how;
	int tamper_part, tamper_at;	/* tamper_at < 0: untouched */
	const char *err;	/* NULL: accepted */
};

static const struct vcase vcases[] = {
	{ "good", HDR_RS512, 300, "", RSA_SHA512, 0, -1, NULL },
	{ "good, minimal header", "{\"alg\":\"RS512\"}", 300, "", RSA_SHA512, 0, -1, NULL },
	{ "exp within the leeway", HDR_RS512, -30, "", RSA_SHA512, 0, -1, NULL },
	{ "expired", HDR_RS512, -61, "", RSA_SHA512, 0, -1, "token expired 61 s ago" },
	{ "exp as a double", HDR_RS512, 300, ",\"x\":1.5", RSA_SHA512, 0, -1, NULL },
	{ "nbf in the past", HDR_RS512, 300, ",\"nbf\":1764655000", RSA_SHA512, 0, -1, NULL },
	{ "nbf within the leeway", HDR_RS512, 300, ",\"nbf\":1764655230", RSA_SHA512, 0, -1, NULL },
	{ "nbf in the future", HDR_RS512, 900, ",\"nbf\":1764655500", RSA_SHA512, 0, -1,
	  "token not valid for another 300 s" },
	{ "nbf not a number", HDR_RS512, 300, ",\"nbf\":\"0\"", RSA_SHA512, 0, -1, "nbf is not a number" },
	{ "iat now", HDR_RS512, 300, ",\"iat\":1764655200", RSA_SHA512, 0, -1, NULL },
	{ "iat in the future", HDR_RS512, 900, ",\"iat\":1764655500", RSA_SHA512, 0, -1,
	  "token issued 300 s in the future" },
	{ "alg none", "{\"alg\":\"none\",\"typ\":\"JWT\"}", 300, "", UNSIGNED, 0, -1,
	  "alg none is not RS512" },
	{ "alg none, signed", "{\"alg\":\"none\"}", 300, "", RSA_SHA512, 0, -1, "alg none is not RS512" },
	{ "HS512 with the public key as secret", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", 300, "",
	  HMAC_PEM, 0, -1, "alg HS512 is not RS512" },
	{ "RS256", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 300, "", RSA_SHA256, 0, -1,
	  "alg RS256 is not RS512" },
	{ "rs512 in lower case", "{\"alg\":\"rs512\"}", 300, "", RSA_SHA512, 0, -1, "alg rs512 is not RS512" },
	{ "alg not shown when odd", "{\"alg\":\"RS512 \"}", 300, "", RSA_SHA512, 0, -1, "alg is not RS512" },
	{ "no alg", "{\"typ\":\"JWT\"}", 300, "", RSA_SHA512, 0, -1, "header has no alg" },
	{ "alg not a string", "{\"alg\":512}", 300, "", RSA_SHA512, 0, -1, "header has no alg" },
	{ "duplicate alg", "{\"alg\":\"RS512\",\"alg\":\"none\"}", 300, "", RSA_SHA512, 0, -1,
	  "header is not a strict JSON object" },
	{ "crit", "{\"alg\":\"RS512\",\"crit\":[\"b64\"],\"b64\":false}", 300, "", RSA_SHA512, 0, -1,
	  "header has crit" },
	{ "header not JSON", "alg=RS512", 300, "", RSA_SHA512, 0, -1, "header is not a strict JSON object" },
	{ "RS512 header, SHA-256 signature", HDR_RS512, 300, "", RSA_SHA256, 0, -1,
	  "signature does not verify" },
	{ "another key", HDR_RS512, 300, "", BY_STRANGER, 0, -1, "signature does not verify" },
	{ "bad signature", HDR_RS512, 300, "", RSA_SHA512, 2, 10, "signature does not verify" },
	{ "tampered payload", HDR_RS512, 300, "", RSA_SHA512, 1, 20, "signature does not verify" },
	{ "missing exp", HDR_RS512, 0, "}", RSA_SHA512, 0, -1, "exp is missing" },
	{ "exp a string", HDR_RS512, 0, "", RSA_SHA512, 0, -1, "exp is not a number" },
	{ "exp null", HDR_RS512, 0, "", RSA_SHA512, 0, -1, "exp is not a number" },
};

/* The claims text of a case; the two exp rows write their own. */
static char *
case_claims(const struct vcase *c)
{
	if (strcmp(c->name, "missing exp") == 0)
		return strdup("{\"app\":{\"app_code\":\"bk_fta\",\"verified\":true}}");
	if (strcmp(c->name, "exp a string") == 0)
		return strdup("{\"exp\":\"1764655500\"}");
	if (strcmp(c->name, "exp null") == 0)
		return strdup("{\"exp\":null}");
	return claims_at(c->exp_off, c->extra);
}

static void
test_verify_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vcases) / sizeof(*vcases); i++) {
		const struct vcase *c = &vcases[i];
		char err[ERR_LEN] = "";
		char *claims = case_claims(c);
		char *t = sign(c->header, claims, c->how);
		struct json_object *o, *app;

		if (c->tamper_at >= 0)
			tamper(t, c->tamper_part, c->tamper_at);
		o = jwt_verify(t, key, NOW, err, sizeof(err));
		if (c->err == NULL) {
			if (o == NULL)
				fail_msg("%s: refused: %s", c->name, err);
			assert_true(json_object_object_get_ex(o, "app", &app));
			json_object_put(o);
		} else {
			if (o != NULL)
				fail_msg("%s: accepted", c->name);
			if (strcmp(err, c->err) != 0)
				fail_msg("%s: reason \"%s\", want \"%s\"", c->name,
				    err, c->err);
			/* No part of the token in the reason. */
			if (strrchr(t, '.')[1] != '\0')
				assert_null(strstr(err, strrchr(t, '.') + 1));
			assert_null(strstr(err, "eyJ"));
		}
		free(t);
		free(claims);
	}
}

struct scase {
	const char *name;
	const char *token;	/* a prefix to which a valid signature is not added */
	const char *err;
};

/* "eyJhbGciOiJSUzUxMiJ9" is {"alg":"RS512"}; "e30" is {}. */
static const struct scase scases[] = {
	{ "empty", "", "token is not three dot-separated parts" },
	{ "two parts", "eyJhbGciOiJSUzUxMiJ9.e30", "token is not three dot-separated parts" },
	{ "four parts", "eyJhbGciOiJSUzUxMiJ9.e30.AAAA.AAAA", "token is not three dot-separated parts" },
	{ "empty header", ".e30.AAAA", "header is not base64url" },
	{ "padding", "eyJhbGciOiJSUzUxMiJ9.e30=.AAAA", "payload is not base64url" },
	{ "standard alphabet", "eyJhbGciOiJSUzUxMiJ9.e3+.AAAA", "payload is not base64url" },
	{ "a lone character", "eyJhbGciOiJSUzUxMiJ9.e30AA.AAAA", "payload is not base64url" },
	{ "non-zero unused bits", "eyJhbGciOiJSUzUxMiJ9.e31.AAAA", "payload is not base64url" },
	{ "space", "eyJhbGciOiJSUzUxMiJ9.e30 .AAAA", "payload is not base64url" },
	{ "header non-zero bits", "e31.e30.AAAA", "header is not base64url" },
	{ "empty signature", "eyJhbGciOiJSUzUxMiJ9.e30.", "signature is not base64url" },
	{ "short signature", "eyJhbGciOiJSUzUxMiJ9.e30.AAAA", "signature has the wrong length" },
};

static void
test_syntax_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scases) / sizeof(*scases); i++) {
		char err[ERR_LEN] = "";
		struct json_object *o = jwt_verify(scases[i].token, key, NOW, err,
		    sizeof(err));
		if (o != NULL)
			fail_msg("%s: accepted", scases[i].name);
		if (strcmp(err, scases[i].err) != 0)
			fail_msg("%s: reason \"%s\", want \"%s\"", scases[i].name,
			    err, scases[i].err);
	}
}

static void
test_too_long(void **state)
{
	char *claims = malloc(JWT_MAX_LEN), err[ERR_LEN];
	char *t;

	(void)state;
	memset(claims, ' ', JWT_MAX_LEN - 1);
	claims[0] = '{';
	claims[JWT_MAX_LEN - 2] = '}';
	claims[JWT_MAX_LEN - 1] = '\0';
	t = sign(HDR_RS512, claims, RSA_SHA512);
	assert_null(jwt_verify(t, key, NOW, err, sizeof(err)));
	assert_string_equal(err, "token is longer than 8192 bytes");
	free(t);
	free(claims);
}

static void
test_keys(void **state)
{
	char err[ERR_LEN];
	char *pem = pem_of(signer);
	EVP_PKEY *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-256");
	struct jwt_key *k;

	(void)state;
	k = jwt_key_from_pem(pem, strlen(pem), err, sizeof(err));
	assert_non_null(k);
	jwt_key_free(k);
	jwt_key_free(NULL);
	assert_null(jwt_key_from_pem("hello", 5, err, sizeof(err)));
	assert_string_equal(err, "not a PEM RSA public key");
	free(pem);
	pem = pem_of(small);
	assert_null(jwt_key_from_pem(pem, strlen(pem), err, sizeof(err)));
	assert_string_equal(err, "RSA key of 1024 bits, fewer than 2048");
	free(pem);
	pem = pem_of(ec);
	assert_null(jwt_key_from_pem(pem, strlen(pem), err, sizeof(err)));
	assert_string_equal(err, "not a PEM RSA public key");
	free(pem);
	assert_null(jwt_key_from_file("/nonexistent/key.pem", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/key.pem: No such file or directory");
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}

static int
setup(void **state)
{
	char err[ERR_LEN];
	char *pem;

	(void)state;
	signer = EVP_RSA_gen(2048);
	stranger = EVP_RSA_gen(2048);
	if (signer == NULL || stranger == NULL)
		return -1;
	pem = pem_of(signer);
	key = jwt_key_from_pem(pem, strlen(pem), err, sizeof(err));
	free(pem);
	return key ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	jwt_key_free(key);
	EVP_PKEY_free(signer);
	EVP_PKEY_free(stranger);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_syntax_table),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
