/*
 * arena.c - the per-call region allocator. Chunks form a singly linked
 * list carved front to back; "cur" is the chunk being carved. Reset
 * bumps an epoch and rewinds the cursor: a chunk whose epoch is older
 * than the arena's counts as empty the next time the cursor reaches it.
 * So reset is O(1) and a steady-state call allocates nothing from the
 * system. A request larger than a chunk gets a chunk of its own.
 *
 * When the cursor's chunk is full, the first kept chunk after it that
 * can take the request is moved up to follow the cursor, so a kept
 * chunk is never skipped (and wasted) for the rest of the epoch; a new
 * chunk is linked in at the same place. The list is thus in the order
 * of use, and the same sequence of requests after a reset walks the
 * same chunks without allocating: held stays constant.
 *
 * Invariants: used <= held; held <= max_bytes when max_bytes != 0; in
 * the current epoch, every chunk after "cur" is untouched, so the
 * cursor only moves forward and never hands out a byte twice.
 * Alignment is computed on addresses, not offsets, so it holds for any
 * alignment up to 4096 whatever the allocator hook returns.
 */
#include "tether/core.h"

#include <string.h>

#define ARENA_DEFAULT_CHUNK 4096
#define ARENA_ALIGN 16
#define ARENA_MAX_ALIGN 4096

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;		/* usable bytes in mem[] */
	size_t off;		/* first free byte, if epoch is current */
	uint64_t epoch;		/* 64 bits: never wraps in practice */
	_Alignas(max_align_t) unsigned char mem[];
};

struct tether_arena {
	struct arena_chunk *first;
	struct arena_chunk *cur;	/* NULL: nothing carved this epoch */
	size_t chunk_size;
	size_t max_bytes;
	size_t held;			/* sum of chunk sizes */
	size_t used;			/* handed out since last reset */
	uint64_t epoch;
};

struct tether_arena *
tether_arena_new(size_t chunk_size, size_t max_bytes)
{
	struct tether_arena *a = tether_calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
	/* A chunk bigger than the bound could never be allocated. */
	if (max_bytes != 0 && a->chunk_size > max_bytes)
		a->chunk_size = max_bytes;
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

/*
 * Offset in c where n bytes aligned to align fit, or (size_t)-1. The
 * chunk's offset is taken as 0 if the chunk is stale (older epoch).
 */
static size_t
chunk_fit(const struct tether_arena *a, const struct arena_chunk *c,
	  size_t n, size_t align)
{
	uintptr_t base = (uintptr_t)c->mem;
	uintptr_t at = base + (c->epoch == a->epoch ? c->off : 0);
	uintptr_t aligned = (at + (align - 1)) & ~(uintptr_t)(align - 1);
	size_t off;

	if (aligned < at)
		return (size_t)-1;
	off = (size_t)(aligned - base);
	if (off > c->size || c->size - off < n)
		return (size_t)-1;
	return off;
}

/* Link c right after "after" (NULL: at the head of the list). */
static void
link_after(struct tether_arena *a, struct arena_chunk *after,
	   struct arena_chunk *c)
{
	struct arena_chunk **link = after ? &after->next : &a->first;

	c->next = *link;
	*link = c;
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

/*
 * A new chunk of at least need bytes, linked after "after" (the
 * cursor). Prefers chunk_size; near the bound, settles for what the
 * bound leaves if that still holds need bytes.
 */
static struct arena_chunk *
chunk_new(struct tether_arena *a, struct arena_chunk *after, size_t need)
{
	struct arena_chunk *c;
	size_t size = need > a->chunk_size ? need : a->chunk_size;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	if (a->max_bytes != 0) {
		if (need > a->max_bytes)
			return NULL;
		/* Over the bound: give back kept chunks this epoch has
		 * not used (none of them could take the request). */
		if (a->held > a->max_bytes - size)
			drop_unused(a, after);
		if (a->held > a->max_bytes - need)
			return NULL;
		if (size > a->max_bytes - a->held)
			size = a->max_bytes - a->held;
	}
	c = tether_malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->size = size;
	c->off = 0;
	c->epoch = a->epoch;
	link_after(a, after, c);
	a->held += size;
	return c;
}

void *
tether_arena_alloc_aligned(struct tether_arena *a, size_t n, size_t align)
{
	struct arena_chunk *c, **link;
	size_t off, need;

	if (align == 0 || (align & (align - 1)) != 0 || align > ARENA_MAX_ALIGN)
		return NULL;
	if (n == 0)
		n = 1;
	c = a->cur;
	if (c != NULL) {
		off = chunk_fit(a, c, n, align);
		if (off != (size_t)-1)
			goto found;
	}
	/* The cursor's chunk is full: find a kept chunk that fits and
	 * move it up to follow the cursor, so none is skipped. */
	for (link = c ? &c->next : &a->first; *link != NULL;
	     link = &(*link)->next) {
		off = chunk_fit(a, *link, n, align);
		if (off != (size_t)-1) {
			c = *link;
			*link = c->next;
			link_after(a, a->cur, c);
			goto found;
		}
	}
	/* Worst case the chunk's memory starts 1 byte past an alignment
	 * boundary; the hook only promises malloc's alignment. */
	need = n + (align - 1);
	if (need < n)
		return NULL;
	c = chunk_new(a, a->cur, need);
	if (c == NULL)
		return NULL;
	off = chunk_fit(a, c, n, align);
	TETHER_BUG_ON(off == (size_t)-1);
found:
	c->epoch = a->epoch;
	c->off = off + n;
	a->cur = c;
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
