/*
 * The gateway's public key, cached per worker. A read costs a file read or
 * one primary-key lookup, so every jwt_key_refresh seconds is cheap, and a
 * key the gateway rotates is in use within that time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "gwkey.h"
#include "log.h"
#include "xmalloc.h"

#define PEM_CAP 16384		/* a 16384-bit key's PEM is about 3 kB */

struct gwkey {
	const struct config *cfg;
	struct jwt_key *key;
	time_t next;		/* CLOCK_MONOTONIC second of the next read */
};

struct gwkey *
gwkey_new(const struct config *cfg)
{
	struct gwkey *g = xmalloc(sizeof(*g));

	memset(g, 0, sizeof(*g));
	g->cfg = cfg;
	return g;
}

void
gwkey_free(struct gwkey *g)
{
	if (g == NULL)
		return;
	jwt_key_free(g->key);
	free(g);
}

static void
broken(struct outcome *o)
{
	o->http = 200;
	o->code = CODE_UNKNOWN;
	snprintf(o->msg, sizeof(o->msg), "internal error, see the service log");
}

/* A fresh key from the configured source, or NULL with o set. */
static struct jwt_key *
load(struct gwkey *g, struct store *s, struct outcome *o)
{
	const char *file = g->cfg->jwt_public_key_file;
	struct jwt_key *k = NULL;
	char why[CONF_PATH + 128];
	char *pem;

	if (file[0] != '\0') {
		if ((k = jwt_key_from_file(file, why, sizeof(why))) == NULL) {
			log_msg(LOG_ERROR, "jwt_public_key_file %s", why);
			broken(o);
		}
		return k;
	}
	pem = xmalloc(PEM_CAP);
	if (store_gateway_key(s, pem, PEM_CAP, o) == 0 &&
	    (k = jwt_key_from_pem(pem, strlen(pem), why, sizeof(why))) == NULL) {
		log_msg(LOG_ERROR, "apigw_manager_context public_key of gateway "
		    "%s: %s", g->cfg->jwt_gateway_name, why);
		broken(o);
	}
	free(pem);
	return k;
}

const struct jwt_key *
gwkey_get(struct gwkey *g, struct store *s, struct outcome *o)
{
	time_t now = clock_sec();
	struct jwt_key *k;

	if (g->key && now < g->next)
		return g->key;
	if ((k = load(g, s, o)) == NULL) {
		if (g->key == NULL)
			return NULL;	/* tried again on the next request */
		log_msg(LOG_WARN, "keeping the gateway's previous public key");
		g->next = now + g->cfg->jwt_key_refresh;
		return g->key;
	}
	if (g->key == NULL || !jwt_key_equal(g->key, k))
		log_msg(LOG_INFO, "gateway public key %s", g->key ? "changed" :
		    "loaded");
	jwt_key_free(g->key);
	g->key = k;
	g->next = now + g->cfg->jwt_key_refresh;
	return k;
}
