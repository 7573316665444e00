/*
 * alloc.c - the allocator hook every libtether allocation goes through,
 * with fault injection ("fail the Nth allocation") for tests.
 */
#include "tether/core.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void *
default_malloc(size_t size, void *ud)
{
	(void)ud;
	return malloc(size);
}

static void *
default_realloc(void *ptr, size_t size, void *ud)
{
	(void)ud;
	return realloc(ptr, size);
}

static void
default_free(void *ptr, void *ud)
{
	(void)ud;
	free(ptr);
}

static struct tether_allocator alloc_hook = {
	default_malloc, default_realloc, default_free, NULL
};

/* Fault injection state; atomics so threads in tests do not tear it. */
static atomic_ulong alloc_seen;
static atomic_ulong alloc_fail_n;
static atomic_int alloc_fail_sticky;

void
tether_set_allocator(const struct tether_allocator *a)
{
	if (a == NULL) {
		alloc_hook.malloc_fn = default_malloc;
		alloc_hook.realloc_fn = default_realloc;
		alloc_hook.free_fn = default_free;
		alloc_hook.ud = NULL;
		return;
	}
	TETHER_BUG_ON(a->malloc_fn == NULL || a->realloc_fn == NULL ||
		      a->free_fn == NULL);
	alloc_hook = *a;
}

void
tether_alloc_fail_at(unsigned long n, int every_after)
{
	atomic_store(&alloc_seen, 0);
	atomic_store(&alloc_fail_sticky, every_after != 0);
	atomic_store(&alloc_fail_n, n);
}

unsigned long
tether_alloc_count(void)
{
	return atomic_load(&alloc_seen);
}

/* Count this allocation; return non-zero if it must fail. */
static int
alloc_should_fail(void)
{
	unsigned long seen = atomic_fetch_add(&alloc_seen, 1) + 1;
	unsigned long n = atomic_load(&alloc_fail_n);

	if (n == 0)
		return 0;
	if (seen == n)
		return 1;
	return seen > n && atomic_load(&alloc_fail_sticky);
}

void *
tether_malloc(size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return alloc_hook.malloc_fn(size ? size : 1, alloc_hook.ud);
}

void *
tether_calloc(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = tether_malloc(n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

void *
tether_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return tether_malloc(size);
	if (alloc_should_fail())
		return NULL;
	return alloc_hook.realloc_fn(ptr, size ? size : 1, alloc_hook.ud);
}

void *
tether_reallocarray(void *ptr, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return tether_realloc(ptr, n * size);
}

void
tether_free(void *ptr)
{
	if (ptr != NULL)
		alloc_hook.free_fn(ptr, alloc_hook.ud);
}

char *
tether_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = tether_malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}
