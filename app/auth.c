/*
 * Credential hashing with OpenSSL's libcrypto. App secrets and tokens are
 * random and long (operate-node-admin makes them), so a single SHA-256 is
 * the right hash: nothing to stretch, and it keeps lookups by hash cheap.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"

void
auth_hash(const char *s, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		mdlen = 0, memset(md, 0, 32);	/* never matches a stored hash */
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[AUTH_HASH_LEN] = '\0';
	if (mdlen == 0)
		out[0] = '!';
}

int
auth_secret_ok(const char *secret, const char *stored_hash)
{
	char h[AUTH_HASH_LEN + 1];

	auth_hash(secret, strlen(secret), h);
	if (strlen(stored_hash) != AUTH_HASH_LEN)
		return 0;
	return CRYPTO_memcmp(h, stored_hash, AUTH_HASH_LEN) == 0;
}
