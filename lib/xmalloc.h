/* xmalloc.h: the allocator wrappers that enforce the out-of-memory policy
 * stated in buf.h: they never return NULL, they print "out of memory" to
 * stderr and abort(). */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

/* malloc(n); n == 0 allocates one byte so the result is never NULL. */
void *xmalloc(size_t n);

/* realloc(p, n); p may be NULL; n == 0 is treated as 1. */
void *xrealloc(void *p, size_t n);

/* strdup(s); s must not be NULL. The caller frees the copy. */
char *xstrdup(const char *s);

/* The one place that reports exhausted memory and aborts. Also for callers
 * whose other allocator (json-c) returned NULL, or whose size overflowed. */
_Noreturn void xoom(void);

#endif
