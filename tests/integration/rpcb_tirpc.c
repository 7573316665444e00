/*
 * rpcb_tirpc.c - differential test of the portmap/rpcbind codecs against
 * libtirpc (linked into this test only): random pmap, pmaplist, rpcb,
 * rpcblist, rpcb_entry_list, rpcb_stat_byvers and netbuf values encoded
 * by us decode with libtirpc (xdr_pmap, xdr_pmaplist_ptr, xdr_rpcb,
 * xdr_rpcblist_ptr, xdr_rpcb_entry_list_ptr, xdr_rpcb_stat_byvers,
 * xdr_netbuf) to the same values and re-encode to the same bytes; those
 * bytes decode with ours; and mutated inputs we accept libtirpc accepts
 * and reads the same way.
 */
#include <rpc/rpc.h>
#include <rpc/pmap_prot.h>
#include <rpc/rpcb_prot.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpcb.h"

static unsigned checks, failures;

#define CHECK(cond)                                                    \
	do {                                                           \
		checks++;                                              \
		if (!(cond)) {                                         \
			if (failures++ < 30)                           \
				fprintf(stderr, "%s:%d: failed: %s\n", \
					__FILE__, __LINE__, #cond);    \
		}                                                      \
	} while (0)

static unsigned rnd_state = 4242;

static uint32_t
rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) ^ (rnd_state << 13);
}

static struct tether_arena *arena;

static char *
rstr(void)
{
	static const char *const pool[] = {
		"",
		"tcp",
		"udp",
		"tcp6",
		"udp6",
		"local",
		"superuser",
		"unknown",
		"1000",
		"0.0.0.0.0.111",
		"::.0.111",
		"/run/rpcbind.sock",
		"127.0.0.1.8.1",
		"inet",
		"inet6",
		"-",
		"a string of some length that needs padding",
	};
	const char *s;
	char *p;
	size_t n, i;

	if (rnd() % 4 != 0) {
		s = pool[rnd() % TETHER_ARRAY_SIZE(pool)];
		return tether_arena_strndup(arena, s, strlen(s));
	}
	n = rnd() % 300;
	p = tether_arena_alloc(arena, n + 1);
	for (i = 0; i < n; i++)
		p[i] = (char)(1 + rnd() % 255);
	p[n] = 0;
	return p;
}

static uint32_t
rval(void)
{
	switch (rnd() % 4) {
	case 0:
		return 0;
	case 1:
		return 0xffffffffu;
	default:
		return rnd();
	}
}

typedef bool_t tirpc_fn(XDR *, void *);

/*
 * The core comparison: our encoding A of obj; libtirpc decodes A, its
 * re-encoding must be A again (so it read every field as we wrote it);
 * then we decode A and re-encode: A again.
 */
static void
compare(tether_xdr_fn *ours, void *obj, size_t objsize, tirpc_fn *theirs,
	size_t tsize)
{
	static unsigned char a[65536], b[65536], c[65536];
	struct tether_xdr x;
	size_t na, nb, nc;
	void *tobj = calloc(1, tsize);
	void *dobj = calloc(1, objsize);
	XDR tx;
	int rc;

	tether_xdr_init_encode(&x, a, sizeof(a));
	rc = ours(&x, obj);
	CHECK(rc == 0);
	if (rc != 0)
		goto out;
	na = tether_xdr_getpos(&x);

	xdrmem_create(&tx, (char *)a, (u_int)na, XDR_DECODE);
	CHECK(theirs(&tx, tobj));
	CHECK(xdr_getpos(&tx) == na);
	xdr_destroy(&tx);
	xdrmem_create(&tx, (char *)b, sizeof(b), XDR_ENCODE);
	CHECK(theirs(&tx, tobj));
	nb = xdr_getpos(&tx);
	xdr_destroy(&tx);
	CHECK(nb == na && memcmp(a, b, na) == 0);

	tether_xdr_init_decode(&x, b, nb, 0, arena);
	CHECK(ours(&x, dobj) == 0);
	CHECK(tether_xdr_getpos(&x) == nb);
	tether_xdr_init_encode(&x, c, sizeof(c));
	CHECK(ours(&x, dobj) == 0);
	nc = tether_xdr_getpos(&x);
	CHECK(nc == na && memcmp(a, c, na) == 0);

	/* Mutations: whatever we accept, libtirpc reads the same way. */
	{
		int m;

		for (m = 0; m < 8; m++) {
			size_t pos = rnd() % na, len = na;

			memcpy(c, a, na);
			if (m & 1)
				c[pos] = (unsigned char)rnd();
			else
				len = pos; /* truncation */
			memset(dobj, 0, objsize);
			tether_xdr_init_decode(&x, c, len, 0, arena);
			if (ours(&x, dobj) != 0)
				continue;
			len = tether_xdr_getpos(&x);
			theirs(&(XDR){ .x_op = XDR_FREE }, tobj);
			memset(tobj, 0, tsize);
			xdrmem_create(&tx, (char *)c, (u_int)len, XDR_DECODE);
			if (!theirs(&tx, tobj) && getenv("RPCB_DEBUG")) {
				size_t k;
				fprintf(stderr,
					"fn %p m %d pos %zu len %zu na %zu\n",
					(void *)ours, m, pos, len, na);
				for (k = 0; k < len; k++)
					fprintf(stderr, "%02x%s", c[k],
						k % 16 == 15 ? "\n" : " ");
				fprintf(stderr, "\n");
			}
			CHECK(xdr_getpos(&tx) == len);
			xdr_destroy(&tx);
			xdrmem_create(&tx, (char *)b, sizeof(b), XDR_ENCODE);
			CHECK(theirs(&tx, tobj));
			nb = xdr_getpos(&tx);
			xdr_destroy(&tx);
			CHECK(nb == len && memcmp(b, c, len) == 0);
		}
	}
out : {
	XDR fx = { .x_op = XDR_FREE };

	theirs(&fx, tobj);
}
	free(tobj);
	free(dobj);
}

static bool_t
t_pmap(XDR *x, void *o)
{
	return xdr_pmap(x, o);
}

static bool_t
t_pmaplist(XDR *x, void *o)
{
	return xdr_pmaplist_ptr(x, o);
}

static bool_t
t_rpcb(XDR *x, void *o)
{
	return xdr_rpcb(x, o);
}

static bool_t
t_rpcblist(XDR *x, void *o)
{
	return xdr_rpcblist_ptr(x, o);
}

static bool_t
t_entry_list(XDR *x, void *o)
{
	return xdr_rpcb_entry_list_ptr(x, o);
}

static bool_t
t_stat_byvers(XDR *x, void *o)
{
	return xdr_rpcb_stat_byvers(x, o);
}

static bool_t
t_netbuf(XDR *x, void *o)
{
	return xdr_netbuf(x, o);
}

static void
rand_rpcb(struct tether_rpcb *r)
{
	r->prog = rval();
	r->vers = rval();
	r->netid = rstr();
	r->addr = rstr();
	r->owner = rstr();
}

static void
one_round(void)
{
	struct tether_pmap_mapping m = { rval(), rval(), rval(), rval() };
	struct tether_pmap_list *pl = NULL, **pp = &pl;
	struct tether_rpcb r;
	struct tether_rpcb_list *rl = NULL, **rp = &rl;
	struct tether_rpcb_entry_list *el = NULL, **ep = &el;
	struct tether_rpcb_stat_byvers s;
	struct tether_rpcb_netbuf nb;
	unsigned i, n, v;

	compare(tether_pmap_codec_mapping, &m, sizeof(m), t_pmap,
		sizeof(struct pmap));

	n = rnd() % 20;
	for (i = 0; i < n; i++) {
		*pp = tether_arena_alloc(arena, sizeof(**pp));
		(*pp)->map = (struct tether_pmap_mapping){ rval(), rval(),
							   rval(), rval() };
		(*pp)->next = NULL;
		pp = &(*pp)->next;
	}
	compare(tether_pmap_codec_list, &pl, sizeof(pl), t_pmaplist,
		sizeof(struct pmaplist *));

	rand_rpcb(&r);
	compare(tether_rpcb_codec_rpcb, &r, sizeof(r), t_rpcb, sizeof(rpcb));

	n = rnd() % 12;
	for (i = 0; i < n; i++) {
		*rp = tether_arena_alloc(arena, sizeof(**rp));
		rand_rpcb(&(*rp)->rpcb);
		(*rp)->next = NULL;
		rp = &(*rp)->next;
	}
	compare(tether_rpcb_codec_list, &rl, sizeof(rl), t_rpcblist,
		sizeof(rpcblist_ptr));

	n = rnd() % 8;
	for (i = 0; i < n; i++) {
		*ep = tether_arena_alloc(arena, sizeof(**ep));
		(*ep)->entry =
			(struct tether_rpcb_entry){ rstr(), rstr(), rval(),
						    rstr(), rstr() };
		(*ep)->next = NULL;
		ep = &(*ep)->next;
	}
	compare(tether_rpcb_codec_entry_list, &el, sizeof(el), t_entry_list,
		sizeof(rpcb_entry_list_ptr));

	memset(&s, 0, sizeof(s));
	for (v = 0; v < TETHER_RPCB_STAT_VERS; v++) {
		struct tether_rpcb_stat_addr **ap = &s.vers[v].addrinfo;
		struct tether_rpcb_stat_rmtcall **cp = &s.vers[v].rmtinfo;

		for (i = 0; i < TETHER_RPCB_STAT_HIGHPROC; i++)
			s.vers[v].info[i] = (int32_t)rval();
		s.vers[v].setinfo = (int32_t)rval();
		s.vers[v].unsetinfo = (int32_t)rval();
		n = rnd() % 4;
		for (i = 0; i < n; i++) {
			*ap = tether_arena_alloc(arena, sizeof(**ap));
			**ap = (struct tether_rpcb_stat_addr){
				rval(),		 rval(), (int32_t)rval(),
				(int32_t)rval(), rstr(), NULL
			};
			ap = &(*ap)->next;
		}
		n = rnd() % 3;
		for (i = 0; i < n; i++) {
			*cp = tether_arena_alloc(arena, sizeof(**cp));
			**cp = (struct tether_rpcb_stat_rmtcall){
				rval(),		 rval(),
				rval(),		 (int32_t)rval(),
				(int32_t)rval(), (int32_t)rval(),
				rstr(),		 NULL
			};
			cp = &(*cp)->next;
		}
	}
	compare(tether_rpcb_codec_stat_byvers, &s, sizeof(s), t_stat_byvers,
		sizeof(rpcb_stat_byvers));

	nb.len = rnd() % 130;
	nb.maxlen = nb.len + rnd() % 3;
	nb.buf = tether_arena_alloc(arena, nb.len + 1);
	for (i = 0; i < nb.len; i++)
		nb.buf[i] = (uint8_t)rnd();
	compare(tether_rpcb_codec_netbuf, &nb, sizeof(nb), t_netbuf,
		sizeof(struct netbuf));
}

/* Values libtirpc builds itself decode with ours to the same fields. */
static void
from_tirpc(void)
{
	struct rpcb tr = { 100000, 4, "tcp6", "::.0.111", "superuser" };
	rpcblist l2 = { { 100000, 2, "udp", "0.0.0.0.0.111", "superuser" },
			NULL };
	rpcblist l1 = { { 100024, 1, "local", "/run/x", "1000" }, &l2 };
	rpcblist_ptr lp = &l1;
	struct pmaplist p2 = { { 100003, 3, 17, 2049 }, NULL };
	struct pmaplist p1 = { { 100003, 4, 6, 2049 }, &p2 };
	struct pmaplist *pp = &p1;
	unsigned char buf[1024];
	struct tether_rpcb r;
	struct tether_rpcb_list *dl = NULL;
	struct tether_pmap_list *dp = NULL;
	struct tether_xdr x;
	XDR tx;

	xdrmem_create(&tx, (char *)buf, sizeof(buf), XDR_ENCODE);
	CHECK(xdr_rpcb(&tx, &tr));
	tether_xdr_init_decode(&x, buf, xdr_getpos(&tx), 0, arena);
	CHECK(tether_rpcb_codec_rpcb(&x, &r) == 0);
	CHECK(r.prog == 100000 && r.vers == 4);
	CHECK(strcmp(r.netid, "tcp6") == 0 && strcmp(r.addr, "::.0.111") == 0);
	CHECK(strcmp(r.owner, "superuser") == 0);
	xdr_destroy(&tx);

	xdrmem_create(&tx, (char *)buf, sizeof(buf), XDR_ENCODE);
	CHECK(xdr_rpcblist_ptr(&tx, &lp));
	tether_xdr_init_decode(&x, buf, xdr_getpos(&tx), 0, arena);
	CHECK(tether_rpcb_codec_list(&x, &dl) == 0);
	CHECK(dl != NULL && dl->rpcb.prog == 100024 &&
	      strcmp(dl->rpcb.addr, "/run/x") == 0);
	CHECK(dl != NULL && dl->next != NULL && dl->next->next == NULL &&
	      strcmp(dl->next->rpcb.netid, "udp") == 0);
	xdr_destroy(&tx);

	xdrmem_create(&tx, (char *)buf, sizeof(buf), XDR_ENCODE);
	CHECK(xdr_pmaplist(&tx, &pp));
	tether_xdr_init_decode(&x, buf, xdr_getpos(&tx), 0, arena);
	CHECK(tether_pmap_codec_list(&x, &dp) == 0);
	CHECK(dp != NULL && dp->map.vers == 4 && dp->map.prot == 6);
	CHECK(dp != NULL && dp->next != NULL && dp->next->map.prot == 17 &&
	      dp->next->map.port == 2049 && dp->next->next == NULL);
	xdr_destroy(&tx);
}

int
main(void)
{
	int i;

	arena = tether_arena_new(0, 64u << 20);
	if (arena == NULL)
		return 1;
	from_tirpc();
	for (i = 0; i < 400; i++) {
		one_round();
		tether_arena_reset(arena);
	}
	tether_arena_free(arena);
	printf("rpcb_tirpc: %u checks, %u failures\n", checks, failures);
	return failures != 0;
}
