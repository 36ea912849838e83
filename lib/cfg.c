/*
 * Config files: one "key = value" per line, '#' starts a comment line,
 * values may be double-quoted to keep leading or trailing spaces.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "num.h"

#define CFG_LINE_MAX 4096
#define CFG_KEYS_MAX 128	/* for the "set twice" check */

static const struct cfg_key *
find_key(const struct cfg_key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static int
set_value(const struct cfg_key *k, void *target, const char *v, char *err,
    size_t errlen)
{
	char *field = (char *)target + k->off;
	char why[128];
	int64_t n;

	switch (k->type) {
	case CFG_STR:
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "%s: value is longer than %zu bytes",
			    k->name, k->size - 1);
			return -1;
		}
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case CFG_INT:
		if (num_parse_i64(v, strlen(v), k->min, k->max, &n, why,
		    sizeof(why)) == -1)
			goto range;
		memcpy(field, &n, sizeof(n));
		return 0;
	case CFG_SIZE:
		if (num_parse_size(v, k->min, k->max, &n, why, sizeof(why)) == -1)
			goto range;
		memcpy(field, &n, sizeof(n));
		return 0;
	case CFG_MODE: {
		char *end;
		errno = 0;
		long m = strtol(v, &end, 8);
		if (*v == '\0' || *end != '\0' || errno || m < 0 || m > 0777) {
			snprintf(err, errlen, "%s: \"%s\" is not an octal file "
			    "mode such as 0660", k->name, v);
			return -1;
		}
		int mi = (int)m;
		memcpy(field, &mi, sizeof(mi));
		return 0;
	}
	case CFG_ENUM:
		for (int i = 0; k->choices[i]; i++)
			if (strcmp(k->choices[i], v) == 0) {
				memcpy(field, &i, sizeof(i));
				return 0;
			}
		snprintf(err, errlen, "%s: \"%s\" is not one of", k->name, v);
		for (int i = 0; k->choices[i]; i++) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, "%s %s", i ? "," : "",
			    k->choices[i]);
		}
		return -1;
	}
	snprintf(err, errlen, "%s: unknown type", k->name);
	return -1;
range:
	snprintf(err, errlen, "%s: \"%s\" %s (%lld to %lld)", k->name, v, why,
	    (long long)k->min, (long long)k->max);
	return -1;
}

int
cfg_set(const struct cfg_key *keys, void *target, const char *name,
    const char *value, char *err, size_t errlen)
{
	const struct cfg_key *k = find_key(keys, name);
	if (k == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", name);
		return -1;
	}
	return set_value(k, target, value, err, errlen);
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Splits one line into key and value; returns 0 for a blank or comment. */
static int
split_line(char *line, char **key, char **value, char *err, size_t errlen)
{
	char *s = trim(line);
	if (*s == '\0' || *s == '#')
		return 0;
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		snprintf(err, errlen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	*key = trim(s);
	*value = trim(eq + 1);
	size_t n = strlen(*value);
	if (n >= 2 && (*value)[0] == '"' && (*value)[n - 1] == '"') {
		(*value)[n - 1] = '\0';
		(*value)++;
	} else if (n > 0 && ((*value)[0] == '"' || (*value)[n - 1] == '"')) {
		snprintf(err, errlen, "unbalanced quotes");
		return -1;
	}
	if (**key == '\0') {
		snprintf(err, errlen, "missing key before \"=\"");
		return -1;
	}
	return 1;
}

int
cfg_load(const char *path, const struct cfg_key *keys, void *target,
    char *err, size_t errlen)
{
	char line[CFG_LINE_MAX], why[512];
	unsigned char seen[CFG_KEYS_MAX] = { 0 };
	int lineno = 0, rc = -1;
	FILE *f;
	struct stat st;
	/* O_NONBLOCK: a FIFO must not hang the open (-t in a deploy hook). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* Whoever can write the config chooses the database and the keys. */
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "%s is writable by others (mode %04o): "
		    "chmod o-w it", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *key, *value;
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(why, sizeof(why), "line is longer than %d bytes",
			    CFG_LINE_MAX - 2);
			goto fail;
		}
		int r = split_line(line, &key, &value, why, sizeof(why));
		if (r == 0)
			continue;
		if (r == -1)
			goto fail;
		const struct cfg_key *k = find_key(keys, key);
		if (k == NULL) {
			snprintf(why, sizeof(why), "unknown key \"%.64s\"", key);
			goto fail;
		}
		size_t idx = (size_t)(k - keys);
		if (idx < CFG_KEYS_MAX && seen[idx]) {
			snprintf(why, sizeof(why), "%s is set twice", k->name);
			goto fail;
		}
		if (idx < CFG_KEYS_MAX)
			seen[idx] = 1;
		if (set_value(k, target, value, why, sizeof(why)) == -1)
			goto fail;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
out:
	fclose(f);
	return rc;
}
