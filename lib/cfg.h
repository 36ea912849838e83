/*
 * A "key = value" config file reader driven by a table of keys. Unknown
 * keys, keys set twice and bad values are errors reported as file:line.
 */
#ifndef CFG_H
#define CFG_H

#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_STR,	/* char[size], value copied as written */
	CFG_INT,	/* int64_t within [min, max] */
	CFG_SIZE,	/* int64_t byte count, suffix k or m allowed */
	CFG_ENUM,	/* int, index of the value in choices */
	CFG_MODE,	/* int, octal file mode 0..0777 */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;			/* offsetof() in the target struct */
	size_t size;			/* CFG_STR: size of the buffer */
	int64_t min, max;		/* CFG_INT, CFG_SIZE */
	const char *const *choices;	/* CFG_ENUM: NULL-terminated */
};

/*
 * Reads path into target, whose fields must already hold the defaults.
 * The file must be a regular file (a FIFO is refused, not waited on) that
 * others cannot write.
 * keys ends with a {NULL} entry. Returns 0, or -1 with err set to
 * "path:line: message".
 */
int cfg_load(const char *path, const struct cfg_key *keys, void *target,
    char *err, size_t errlen);
/* Sets one key from a string, as a line of the file would. */
int cfg_set(const struct cfg_key *keys, void *target, const char *name,
    const char *value, char *err, size_t errlen);

#endif
