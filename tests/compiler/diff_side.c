/*
 * diff_side.c - one side of the differential test, compiled twice: with
 * SIDE_OURS against tether-rpcgen's header and codecs, with SIDE_RPCGEN
 * against Debian rpcgen's and libtirpc. Both fill values with the same
 * generated filler (tether-rpcgen --fill), so one seed gives one value.
 * HDR and FILL name the headers; the main program is diff_main.c.
 */
#include HDR
#include FILL

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef SIDE_OURS
#define SIDE(name) ours_##name
#else
#define SIDE(name) rp_##name
#endif

size_t SIDE(ntypes)(void);
const char *SIDE(type_name)(size_t i);
int SIDE(encode)(size_t i, uint64_t seed, unsigned char *buf, size_t n,
		 size_t *len);
int SIDE(reencode)(size_t i, const unsigned char *in, size_t inlen,
		   unsigned char *buf, size_t n, size_t *len);

/* Filled values come from one pool, emptied before each fill. */
static unsigned char pool[1 << 20];
static size_t pool_used;

static void *
pool_alloc(void *ud, size_t n)
{
	void *p;

	(void)ud;
	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(pool) - pool_used)
		abort();
	p = pool + pool_used;
	pool_used += n;
	memset(p, 0, n);
	return p;
}

#ifdef SIDE_OURS
static struct tether_arena *arena;

#define CODEC(T)                                                           \
	static int enc_##T(void *o, unsigned char *b, size_t n, size_t *len) \
	{                                                                  \
		struct tether_xdr x;                                       \
		int rc;                                                    \
		tether_xdr_init_encode(&x, b, n);                          \
		rc = txdr_##T(&x, o);                                      \
		*len = tether_xdr_getpos(&x);                              \
		return rc;                                                 \
	}                                                                  \
	static int dec_##T(const unsigned char *b, size_t n, void *o)      \
	{                                                                  \
		struct tether_xdr x;                                       \
		int rc;                                                    \
		if (arena == NULL)                                         \
			arena = tether_arena_new(0, 64u << 20);            \
		tether_arena_reset(arena);                                 \
		tether_xdr_init_decode(&x, b, n, 0, arena);                \
		rc = txdr_##T(&x, o);                                      \
		return rc == 0 && tether_xdr_getpos(&x) != n ? -1 : rc;    \
	}                                                                  \
	static void rel_##T(void *o)                                       \
	{                                                                  \
		(void)o;                                                   \
	}
#else
#define CODEC(T)                                                           \
	static int enc_##T(void *o, unsigned char *b, size_t n, size_t *len) \
	{                                                                  \
		XDR x;                                                     \
		int ok;                                                    \
		xdrmem_create(&x, (char *)b, (u_int)n, XDR_ENCODE);        \
		ok = xdr_##T(&x, o);                                       \
		*len = xdr_getpos(&x);                                     \
		xdr_destroy(&x);                                           \
		return ok ? 0 : -1;                                        \
	}                                                                  \
	static int dec_##T(const unsigned char *b, size_t n, void *o)      \
	{                                                                  \
		XDR x;                                                     \
		int ok;                                                    \
		size_t pos;                                                \
		xdrmem_create(&x, (char *)(uintptr_t)b, (u_int)n,          \
			      XDR_DECODE);                                 \
		ok = xdr_##T(&x, o);                                       \
		pos = xdr_getpos(&x);                                      \
		xdr_destroy(&x);                                           \
		return ok && pos == n ? 0 : -1;                            \
	}                                                                  \
	static void rel_##T(void *o)                                       \
	{                                                                  \
		xdr_free((xdrproc_t)xdr_##T, (char *)o);                   \
	}
#endif

#define FILLW(T)                                                           \
	static void fillw_##T(struct txdr_fill *f, void *o)                \
	{                                                                  \
		txdr_fill_##T(f, (T *)o, 0);                               \
	}

#define DEFS(T) CODEC(T) FILLW(T)
TXDR_FILL_TYPES(DEFS)

struct side_type {
	const char *name;
	size_t size;
	void (*fill)(struct txdr_fill *, void *);
	int (*enc)(void *, unsigned char *, size_t, size_t *);
	int (*dec)(const unsigned char *, size_t, void *);
	void (*rel)(void *);
};

#define ENTRY(T) { #T, sizeof(T), fillw_##T, enc_##T, dec_##T, rel_##T },
static const struct side_type types[] = { TXDR_FILL_TYPES(ENTRY) };

size_t
SIDE(ntypes)(void)
{
	return sizeof(types) / sizeof(types[0]);
}

const char *
SIDE(type_name)(size_t i)
{
	return types[i].name;
}

int
SIDE(encode)(size_t i, uint64_t seed, unsigned char *buf, size_t n,
	     size_t *len)
{
	struct txdr_fill f;
	void *obj;

	pool_used = 0;
	f.state = seed * 0x9e3779b97f4a7c15ull + 1;
	f.alloc = pool_alloc;
	f.ud = NULL;
	obj = pool_alloc(NULL, types[i].size);
	types[i].fill(&f, obj);
	return types[i].enc(obj, buf, n, len);
}

int
SIDE(reencode)(size_t i, const unsigned char *in, size_t inlen,
	       unsigned char *buf, size_t n, size_t *len)
{
	void *obj = calloc(1, types[i].size);
	int rc;

	if (obj == NULL)
		abort();
	rc = types[i].dec(in, inlen, obj);
	if (rc == 0)
		rc = types[i].enc(obj, buf, n, len);
	types[i].rel(obj);
	free(obj);
	return rc;
}
