/*
 * libFuzzer target for everything between the raw request and a validated
 * one: route_parse on the path, sj_parse on the body, fields_parse on both,
 * and the body as an X-Bkapi-Authorization header (fields_auth_header).
 * Input: the path, a newline, then the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fields.h"
#include "strictjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	const char *path = (const char *)data, *body;
	size_t plen, blen;
	struct route r;
	struct fields f;
	char err[512];

	if (nl == NULL)
		return 0;
	plen = (size_t)(nl - path);
	body = nl + 1;
	blen = size - plen - 1;
	struct json_object *h = NULL;
	if (fields_auth_header(body, blen, &f, &h, err, sizeof(err)) == 0)
		json_object_put(h);
	if (route_parse(path, plen, &r) == -1 ||
	    (r.kind != ROUTE_OPERATE && r.kind != ROUTE_OPERATE_PATH))
		return 0;
	struct json_object *o = sj_parse(body, blen, 32, err, sizeof(err));
	if (o == NULL)
		return 0;
	for (int gw = 0; gw < 2; gw++)
		if (fields_parse(o, &r, gw, &f, err, sizeof(err)) == 0)
			fields_free(&f);
	json_object_put(o);
	return 0;
}
