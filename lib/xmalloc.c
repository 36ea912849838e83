/* xmalloc.c: allocation that cannot fail from the caller's point of view.
 * The policy (abort; the pool's master replaces the worker) is in buf.h. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

_Noreturn void
xoom(void)
{
	/* fputs, not printf: it must not allocate. */
	fputs("out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		xoom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		xoom();
	return q;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}
