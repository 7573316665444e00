/*
 * tether/rpcb.h - the portmap (version 2) and rpcbind (versions 3 and 4)
 * protocols of RFC 1833: program, procedure and limit constants, the
 * argument and result types in C, and their XDR codecs. Shared by the
 * tether-portmap daemon and by rpcbind clients.
 */
#ifndef TETHER_RPCB_H
#define TETHER_RPCB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tether/core.h"
#include "tether/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== SECTION rpcb: rpcbind codecs (owned by lib/rpc/rpcb_proto.c) ==== */

/*
 * The wire forms follow RFC 1833 and libtirpc's rpcb_prot.x exactly; the
 * C forms follow tether/xdr.h's mapping: strings are NUL-terminated
 * char *, opaque<> is a pointer and a length, lists are singly linked
 * through a `next` pointer that is the last field (tether_xdr_list).
 *
 * Every codec is a tether_xdr_fn: encode reads *obj, decode fills *obj
 * with variable-length data in the stream's arena (or pointing into the
 * receive buffer with TETHER_XDR_ZEROCOPY for opaque data), size counts.
 * A decoder needs an arena (-TETHER_EINVAL without one) and never
 * allocates anything else. Strings are bounded by TETHER_RPCB_MAX_STR
 * and opaque data by TETHER_RPCB_MAX_OPAQUE; a longer one is
 * -TETHER_EOVERFLOW, checked before anything is reserved for it (the
 * CVE-2017-8779 "rpcbomb" sent small datagrams announcing huge
 * lengths). A string holding a NUL byte is -TETHER_EBADMSG. Lists are
 * bounded only by the input and the arena: give the arena a maximum.
 * Encoding a NULL string is -TETHER_EINVAL.
 */

/* Program numbers and versions. */
#define TETHER_PMAP_PROG  100000u
#define TETHER_PMAP_PORT  111u
#define TETHER_PMAP_VERS  2u
#define TETHER_RPCB_VERS  3u
#define TETHER_RPCB_VERS4 4u

/* portmap version 2 procedures. */
enum tether_pmap_proc {
	TETHER_PMAP_NULL = 0,
	TETHER_PMAP_SET = 1,
	TETHER_PMAP_UNSET = 2,
	TETHER_PMAP_GETPORT = 3,
	TETHER_PMAP_DUMP = 4,
	TETHER_PMAP_CALLIT = 5
};

/* rpcbind version 3 and 4 procedures (BCAST is v4's name for 5). */
enum tether_rpcb_proc {
	TETHER_RPCB_NULL = 0,
	TETHER_RPCB_SET = 1,
	TETHER_RPCB_UNSET = 2,
	TETHER_RPCB_GETADDR = 3,
	TETHER_RPCB_DUMP = 4,
	TETHER_RPCB_CALLIT = 5,
	TETHER_RPCB_BCAST = 5,
	TETHER_RPCB_GETTIME = 6,
	TETHER_RPCB_UADDR2TADDR = 7,
	TETHER_RPCB_TADDR2UADDR = 8,
	TETHER_RPCB_GETVERSADDR = 9, /* v4 only, as are the next three */
	TETHER_RPCB_INDIRECT = 10,
	TETHER_RPCB_GETADDRLIST = 11,
	TETHER_RPCB_GETSTAT = 12
};

/* "NULL", "SET", ... "GETSTAT" for a version 2, 3 or 4 procedure;
 * "UNKNOWN" (never NULL) for anything else. */
const char *tether_rpcb_proc_name(uint32_t vers, uint32_t proc);

/* pm_prot values of portmap v2 (the IP protocol numbers). */
#define TETHER_PMAP_IPPROTO_TCP 6u
#define TETHER_PMAP_IPPROTO_UDP 17u

/* rpcb_entry r_nc_semantics: netconfig's transport semantics. */
#define TETHER_RPCB_NC_TPI_CLTS	    1u
#define TETHER_RPCB_NC_TPI_COTS	    2u
#define TETHER_RPCB_NC_TPI_COTS_ORD 3u
#define TETHER_RPCB_NC_TPI_RAW	    4u

/* Limits of ours (RFC 1833 leaves string<> and opaque<> unbounded;
 * libtirpc caps them at 9000 bytes). No netid, universal address or
 * owner a real system uses comes near 1024 bytes. */
#define TETHER_RPCB_MAX_STR    1024u
#define TETHER_RPCB_MAX_OPAQUE 8800u
/* rpcb_stat_byvers holds one rpcb_stat per version 2, 3, 4;
 * rpcbs_proc counts calls of procedures 0..12. */
#define TETHER_RPCB_STAT_VERS	  3u
#define TETHER_RPCB_STAT_HIGHPROC 13u

/* ---- portmap v2 ---- */

/* struct pmap (mapping): SET, UNSET, GETPORT arguments. */
struct tether_pmap_mapping {
	uint32_t prog;
	uint32_t vers;
	uint32_t prot; /* TETHER_PMAP_IPPROTO_* */
	uint32_t port;
};

/* pmaplist: DUMP's result, an optional-data list. */
struct tether_pmap_list {
	struct tether_pmap_mapping map;
	struct tether_pmap_list *next;
};

/* CALLIT's arguments: the call to forward, its arguments as opaque. */
struct tether_pmap_call_args {
	uint32_t prog;
	uint32_t vers;
	uint32_t proc;
	uint8_t *args;
	uint32_t args_len;
};

/* CALLIT's result: the port that answered and its opaque results. */
struct tether_pmap_call_result {
	uint32_t port;
	uint8_t *res;
	uint32_t res_len;
};

int tether_pmap_codec_mapping(struct tether_xdr *x, void *obj);
/* obj is a struct tether_pmap_list ** (the list head; NULL: empty). */
int tether_pmap_codec_list(struct tether_xdr *x, void *obj);
int tether_pmap_codec_call_args(struct tether_xdr *x, void *obj);
int tether_pmap_codec_call_result(struct tether_xdr *x, void *obj);

/* ---- rpcbind v3/v4 ---- */

/* struct rpcb: SET, UNSET, GETADDR, GETVERSADDR arguments; DUMP rows. */
struct tether_rpcb {
	uint32_t prog;
	uint32_t vers;
	char *netid;
	char *addr; /* universal address */
	char *owner;
};

/* rp__list / rpcblist_ptr: DUMP's result. */
struct tether_rpcb_list {
	struct tether_rpcb rpcb;
	struct tether_rpcb_list *next;
};

/* rpcb_entry: one row of GETADDRLIST's result. */
struct tether_rpcb_entry {
	char *maddr; /* merged address */
	char *netid;
	uint32_t semantics; /* TETHER_RPCB_NC_TPI_* */
	char *protofmly;
	char *proto;
};

struct tether_rpcb_entry_list {
	struct tether_rpcb_entry entry;
	struct tether_rpcb_entry_list *next;
};

/* rpcbs_addrlist: GETADDR/GETPORT outcomes per (prog, vers, netid). */
struct tether_rpcb_stat_addr {
	uint32_t prog;
	uint32_t vers;
	int32_t success;
	int32_t failure;
	char *netid;
	struct tether_rpcb_stat_addr *next;
};

/* rpcbs_rmtcalllist: CALLIT/INDIRECT outcomes. */
struct tether_rpcb_stat_rmtcall {
	uint32_t prog;
	uint32_t vers;
	uint32_t proc;
	int32_t success;
	int32_t failure;
	int32_t indirect;
	char *netid;
	struct tether_rpcb_stat_rmtcall *next;
};

/* rpcb_stat: the statistics of one protocol version. */
struct tether_rpcb_stat {
	int32_t info[TETHER_RPCB_STAT_HIGHPROC]; /* calls per procedure */
	int32_t setinfo;			 /* successful SETs */
	int32_t unsetinfo;			 /* successful UNSETs */
	struct tether_rpcb_stat_addr *addrinfo;
	struct tether_rpcb_stat_rmtcall *rmtinfo;
};

/* rpcb_stat_byvers: GETSTAT's result, index 0 = version 2. */
struct tether_rpcb_stat_byvers {
	struct tether_rpcb_stat vers[TETHER_RPCB_STAT_VERS];
};

/* netbuf: TADDR2UADDR's argument and UADDR2TADDR's result, a
 * transport address in the host's struct sockaddr layout. As libtirpc,
 * a maxlen above TETHER_RPCB_NETBUF_MAXLEN is -TETHER_EOVERFLOW (both
 * ways), and on decode len > maxlen is -TETHER_EBADMSG (-TETHER_EINVAL
 * on encode). */
#define TETHER_RPCB_NETBUF_MAXLEN 9000u
struct tether_rpcb_netbuf {
	uint32_t maxlen;
	uint8_t *buf;
	uint32_t len;
};

/* rpcb_rmtcallargs: CALLIT / INDIRECT / BCAST arguments. */
struct tether_rpcb_rmtcallargs {
	uint32_t prog;
	uint32_t vers;
	uint32_t proc;
	uint8_t *args;
	uint32_t args_len;
};

/* rpcb_rmtcallres: their results. */
struct tether_rpcb_rmtcallres {
	char *addr;
	uint8_t *results;
	uint32_t results_len;
};

int tether_rpcb_codec_rpcb(struct tether_xdr *x, void *obj);
/* obj is a struct tether_rpcb_list ** (NULL: empty). */
int tether_rpcb_codec_list(struct tether_xdr *x, void *obj);
int tether_rpcb_codec_entry(struct tether_xdr *x, void *obj);
/* obj is a struct tether_rpcb_entry_list ** (NULL: empty). */
int tether_rpcb_codec_entry_list(struct tether_xdr *x, void *obj);
int tether_rpcb_codec_stat(struct tether_xdr *x, void *obj);
int tether_rpcb_codec_stat_byvers(struct tether_xdr *x, void *obj);
int tether_rpcb_codec_netbuf(struct tether_xdr *x, void *obj);
int tether_rpcb_codec_rmtcallargs(struct tether_xdr *x, void *obj);
int tether_rpcb_codec_rmtcallres(struct tether_xdr *x, void *obj);
/* obj is a char ** : a universal address (GETADDR, TADDR2UADDR results,
 * UADDR2TADDR argument), string<TETHER_RPCB_MAX_STR>. */
int tether_rpcb_codec_string(struct tether_xdr *x, void *obj);

/*
 * tether_rpcb_args_codec / tether_rpcb_res_codec - the codec of a
 * procedure's arguments / results, for dispatch and for clients:
 * vers is 2, 3 or 4. Returns NULL for a procedure the version does not
 * have. *size (may be NULL) gets the size of the C object the codec
 * fills (0 for void); for list results that is a pointer's size.
 * Void arguments and results give tether_xdr_void; bool results
 * (SET, UNSET) tether_xdr_codec_bool; uint results (GETPORT, GETTIME)
 * tether_xdr_codec_u32.
 */
tether_xdr_fn *tether_rpcb_args_codec(uint32_t vers, uint32_t proc,
				      size_t *size /* OUT */);
tether_xdr_fn *tether_rpcb_res_codec(uint32_t vers, uint32_t proc,
				     size_t *size /* OUT */);

/* ==== END SECTION rpcb ==== */

#ifdef __cplusplus
}
#endif

#endif /* TETHER_RPCB_H */
