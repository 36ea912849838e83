/*
 * The API gateway's public key for auth_mode jwt, held by each worker: from
 * jwt_public_key_file or bk-sops' apigw_manager_context row, read again
 * every jwt_key_refresh seconds so that a rotated key takes effect without
 * a restart.
 */
#ifndef GWKEY_H
#define GWKEY_H

#include "config.h"
#include "jwt.h"
#include "store.h"

struct gwkey;

struct gwkey *gwkey_new(const struct config *cfg);
void gwkey_free(struct gwkey *g);	/* accepts NULL */

/*
 * The key to verify with, (re)loaded when due. A failed reload keeps the
 * previous key (logged); with no key at all returns NULL and sets o (503
 * when the database is down, 3599999 otherwise). The key stays owned by g
 * and valid until the next call.
 */
const struct jwt_key *gwkey_get(struct gwkey *g, struct store *s,
    struct outcome *o);

#endif
