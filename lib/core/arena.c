/*
 * arena.c - the per-call region allocator. Chunks form a singly linked
 * list carved front to back; "cur" is the chunk being carved. Reset
 * bumps an epoch and rewinds the cursor: a chunk whose epoch is older
 * than the arena's counts as empty the next time the cursor reaches it.
 * So reset is O(1) and a steady-state call allocates nothing from the
 * system. A request larger than a chunk gets a chunk of its own.
 *
 * Invariants: used <= held; held <= max_bytes when max_bytes != 0; in
 * the current epoch, every chunk after "cur" is untouched, so the
 * cursor only moves forward and never hands out a byte twice.
 */
#include "tether/core.h"

#include <string.h>

#define ARENA_DEFAULT_CHUNK 4096
#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;		/* usable bytes in mem[] */
	size_t off;		/* first free byte, valid when epoch matches */
	unsigned long epoch;
	_Alignas(ARENA_ALIGN) unsigned char mem[];
};

struct tether_arena {
	struct arena_chunk *first;
	struct arena_chunk *cur;	/* NULL: nothing carved this epoch */
	size_t chunk_size;
	size_t max_bytes;
	size_t held;			/* sum of chunk sizes */
	size_t used;			/* handed out since the last reset */
	unsigned long epoch;
};

struct tether_arena *
tether_arena_new(size_t chunk_size, size_t max_bytes)
{
	struct tether_arena *a = tether_calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
	a->max_bytes = max_bytes;
	return a;
}

void
tether_arena_free(struct tether_arena *a)
{
	struct arena_chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->first; c != NULL; c = next) {
		next = c->next;
		tether_free(c);
	}
	tether_free(a);
}

static size_t
align_up(size_t off, size_t align)
{
	return (off + align - 1) & ~(align - 1);
}

/* Room for n bytes aligned to align in chunk c, or (size_t)-1. */
static size_t
chunk_fit(const struct arena_chunk *c, size_t n, size_t align)
{
	size_t off = align_up(c->off, align);

	if (off < c->off || off > c->size || c->size - off < n)
		return (size_t)-1;
	return off;
}

/* A chunk seen for the first time this epoch is empty. */
static void
chunk_refresh(const struct tether_arena *a, struct arena_chunk *c)
{
	if (c->epoch != a->epoch) {
		c->epoch = a->epoch;
		c->off = 0;
	}
}

/* Free the chunks after "after" (all untouched this epoch). */
static void
drop_unused(struct tether_arena *a, struct arena_chunk *after)
{
	struct arena_chunk **link = after ? &after->next : &a->first;
	struct arena_chunk *c, *next;

	for (c = *link; c != NULL; c = next) {
		next = c->next;
		a->held -= c->size;
		tether_free(c);
	}
	*link = NULL;
}

static struct arena_chunk *
chunk_new(struct tether_arena *a, struct arena_chunk *after, size_t size)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	if (a->max_bytes != 0 && size > a->max_bytes)
		return NULL;
	/* Over the bound: give back kept chunks this epoch has not used. */
	if (a->max_bytes != 0 && a->held > a->max_bytes - size)
		drop_unused(a, after);
	if (a->max_bytes != 0 && a->held > a->max_bytes - size)
		return NULL;
	c = tether_malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->size = size;
	c->off = 0;
	c->epoch = a->epoch;
	if (after == NULL) {
		c->next = a->first;
		a->first = c;
	} else {
		c->next = after->next;
		after->next = c;
	}
	a->held += size;
	return c;
}

void *
tether_arena_alloc_aligned(struct tether_arena *a, size_t n, size_t align)
{
	struct arena_chunk *c, *last = NULL;
	size_t off, need;

	if (align == 0 || (align & (align - 1)) != 0 || align > 4096)
		return NULL;
	if (n == 0)
		n = 1;
	for (c = a->cur ? a->cur : a->first; c != NULL; c = c->next) {
		chunk_refresh(a, c);
		off = chunk_fit(c, n, align);
		if (off != (size_t)-1)
			goto found;
		last = c;
		/* Leaving a small kept chunk for a large request wastes it for
		 * this epoch only; stop scanning when nothing left can fit. */
		if (n > a->chunk_size)
			break;
	}
	need = n + (align > ARENA_ALIGN ? align : 0);
	if (need < n)
		return NULL;
	c = chunk_new(a, last ? last : a->cur,
		      need > a->chunk_size ? need : a->chunk_size);
	if (c == NULL)
		return NULL;
	off = chunk_fit(c, n, align);
	TETHER_BUG_ON(off == (size_t)-1);
found:
	a->cur = c;
	c->off = off + n;
	a->used += n;
	return c->mem + off;
}

void *
tether_arena_alloc(struct tether_arena *a, size_t n)
{
	return tether_arena_alloc_aligned(a, n, ARENA_ALIGN);
}

void *
tether_arena_memdup(struct tether_arena *a, const void *p, size_t n)
{
	void *q = tether_arena_alloc_aligned(a, n, 1);

	if (q != NULL && n != 0)
		memcpy(q, p, n);
	return q;
}

char *
tether_arena_strndup(struct tether_arena *a, const char *p, size_t n)
{
	char *q;

	if (n == SIZE_MAX)
		return NULL;
	q = tether_arena_alloc_aligned(a, n + 1, 1);
	if (q != NULL) {
		if (n != 0)
			memcpy(q, p, n);
		q[n] = '\0';
	}
	return q;
}

void
tether_arena_reset(struct tether_arena *a)
{
	a->used = 0;
	a->cur = NULL;
	a->epoch++;
}

size_t
tether_arena_used(const struct tether_arena *a)
{
	return a->used;
}

size_t
tether_arena_held(const struct tether_arena *a)
{
	return a->held;
}
