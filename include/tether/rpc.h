/*
 * tether/rpc.h - ONC RPC (RFC 5531): message headers, credentials and
 * record marking for stream transports; call outcomes, the duplicate
 * request cache, the server and client runtime on the event loop, and
 * the portmapper client.
 */
#ifndef TETHER_RPC_H
#define TETHER_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tether/core.h"
#include "tether/rpcb.h"
#include "tether/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== SECTION msg: call and reply headers (owned by lib/rpc/msg.c) ==== */

/*
 * The RPC message header of RFC 5531 section 9: a call carries the
 * program, version, procedure and two opaque_auth (credential and
 * verifier); a reply is accepted (a verifier and an accept_stat) or
 * denied (a reject_stat). The call arguments or the SUCCESS results are
 * not part of the header: encode and decode leave the XDR stream
 * positioned at them, for the caller's codec.
 * Protocol statuses are protocol enums, not C errors; each has a names
 * table giving the RFC's spelling ("PROG_MISMATCH", "AUTH_BADCRED").
 */
#define TETHER_RPC_VERSION 2u
/* opaque_auth body: opaque body<400>. */
#define TETHER_RPC_AUTH_MAX_BYTES 400u

enum tether_rpc_msg_type {
	TETHER_RPC_CALL = 0,
	TETHER_RPC_REPLY = 1
};

enum tether_rpc_reply_stat {
	TETHER_RPC_MSG_ACCEPTED = 0,
	TETHER_RPC_MSG_DENIED = 1
};

enum tether_rpc_accept_stat {
	TETHER_RPC_SUCCESS = 0,		/* results follow */
	TETHER_RPC_PROG_UNAVAIL = 1,
	TETHER_RPC_PROG_MISMATCH = 2,	/* mismatch: versions supported */
	TETHER_RPC_PROC_UNAVAIL = 3,
	TETHER_RPC_GARBAGE_ARGS = 4,
	TETHER_RPC_SYSTEM_ERR = 5
};

enum tether_rpc_reject_stat {
	TETHER_RPC_RPC_MISMATCH = 0,	/* mismatch: RPC versions supported */
	TETHER_RPC_AUTH_ERROR = 1	/* auth_stat says why */
};

enum tether_rpc_auth_stat {
	TETHER_RPC_AUTH_OK = 0,
	TETHER_RPC_AUTH_BADCRED = 1,
	TETHER_RPC_AUTH_REJECTEDCRED = 2,
	TETHER_RPC_AUTH_BADVERF = 3,
	TETHER_RPC_AUTH_REJECTEDVERF = 4,
	TETHER_RPC_AUTH_TOOWEAK = 5,
	TETHER_RPC_AUTH_INVALIDRESP = 6,
	TETHER_RPC_AUTH_FAILED = 7,
	TETHER_RPC_AUTH_KERB_GENERIC = 8,
	TETHER_RPC_AUTH_TIMEEXPIRE = 9,
	TETHER_RPC_AUTH_TKT_FILE = 10,
	TETHER_RPC_AUTH_DECODE = 11,
	TETHER_RPC_AUTH_NET_ADDR = 12,
	TETHER_RPC_RPCSEC_GSS_CREDPROBLEM = 13,
	TETHER_RPC_RPCSEC_GSS_CTXPROBLEM = 14
};

/* Authentication flavors with a number assigned by IANA that we name. */
enum tether_rpc_auth_flavor {
	TETHER_RPC_AUTH_NONE = 0,
	TETHER_RPC_AUTH_SYS = 1,
	TETHER_RPC_AUTH_SHORT = 2,
	TETHER_RPC_AUTH_DH = 3,
	TETHER_RPC_RPCSEC_GSS = 6,
	TETHER_RPC_AUTH_TLS = 7
};

/*
 * Names for logs: the RFC's identifiers. A value outside the enum gives
 * "UNKNOWN" (never NULL), so untrusted values can be printed as is.
 */
const char *tether_rpc_msg_type_name(uint32_t v);
const char *tether_rpc_reply_stat_name(uint32_t v);
const char *tether_rpc_accept_stat_name(uint32_t v);
const char *tether_rpc_reject_stat_name(uint32_t v);
const char *tether_rpc_auth_stat_name(uint32_t v);
const char *tether_rpc_auth_flavor_name(uint32_t v);

/*
 * opaque_auth: a flavor and up to 400 bytes of body, stored inline so a
 * decoded message owns its credentials and needs no arena.
 * Invariant: len <= TETHER_RPC_AUTH_MAX_BYTES.
 */
struct tether_rpc_opaque_auth {
	uint32_t flavor;	/* enum tether_rpc_auth_flavor or other */
	uint32_t len;
	unsigned char body[TETHER_RPC_AUTH_MAX_BYTES];
};

/* Lowest and highest version supported (PROG_MISMATCH, RPC_MISMATCH). */
struct tether_rpc_mismatch {
	uint32_t low;
	uint32_t high;
};

struct tether_rpc_call {
	uint32_t rpcvers;	/* 2; a decoder reports others as they are */
	uint32_t prog;
	uint32_t vers;
	uint32_t proc;
	struct tether_rpc_opaque_auth cred;
	struct tether_rpc_opaque_auth verf;
};

/*
 * A reply, flattened: stat picks which of the fields below mean
 * something. MSG_ACCEPTED: verf, accept_stat, and mismatch when
 * accept_stat is PROG_MISMATCH. MSG_DENIED: reject_stat, then mismatch
 * (RPC_MISMATCH) or auth_stat (AUTH_ERROR). auth_stat is carried as
 * sent: values past RPCSEC_GSS_CTXPROBLEM are kept, not refused, since
 * new ones get assigned and a client should still see the denial.
 */
struct tether_rpc_reply {
	enum tether_rpc_reply_stat stat;
	struct tether_rpc_opaque_auth verf;
	enum tether_rpc_accept_stat accept_stat;
	enum tether_rpc_reject_stat reject_stat;
	uint32_t auth_stat;	/* enum tether_rpc_auth_stat */
	struct tether_rpc_mismatch mismatch;
};

struct tether_rpc_msg {
	uint32_t xid;
	enum tether_rpc_msg_type type;
	union {
		struct tether_rpc_call call;	/* type == CALL */
		struct tether_rpc_reply reply;	/* type == REPLY */
	} u;
	/* Set by encode and decode: the stream offset where the call's
	 * arguments or a SUCCESS reply's results start (for other replies,
	 * the end of the message). */
	size_t body_pos;
};

/*
 * tether_rpc_msg_init_call / _init_reply - fill m with a call (rpcvers
 * 2, AUTH_NONE credential and verifier) or an accepted SUCCESS reply
 * with an AUTH_NONE verifier, for the caller to adjust.
 */
void tether_rpc_msg_init_call(struct tether_rpc_msg *m /* OUT */,
			      uint32_t xid, uint32_t prog, uint32_t vers,
			      uint32_t proc);
void tether_rpc_msg_init_reply(struct tether_rpc_msg *m /* OUT */,
			       uint32_t xid);

/*
 * tether_rpc_msg_encode - write m's header at x's position (x must be an
 * encode or size stream) and set m->body_pos; the caller then encodes
 * the arguments or results. Returns 0, the stream's error
 * (-TETHER_ENOSPC when the buffer is full), -TETHER_EINVAL for a type,
 * reply_stat, accept_stat or reject_stat the protocol does not define,
 * -TETHER_EOVERFLOW for an opaque_auth over 400 bytes. On error x->err
 * says what and where.
 */
int tether_rpc_msg_encode(struct tether_xdr *x, struct tether_rpc_msg *m);

/*
 * tether_rpc_msg_decode - read a message header from x into *m, leaving
 * x at the arguments / results (m->body_pos). Needs no arena: both
 * opaque_auth bodies are copied into m. Returns 0, -TETHER_ETRUNC,
 * -TETHER_EBADMSG (an undefined msg_type, reply_stat, accept_stat or
 * reject_stat), -TETHER_EOVERFLOW (an opaque_auth over 400 bytes).
 * x->err says what and where. rpcvers is not checked: a server answers
 * RPC_MISMATCH, which needs the rest of the call. The pad bytes after
 * an opaque_auth body are not checked, whatever the stream's flags:
 * libtirpc clients leave garbage there.
 */
int tether_rpc_msg_decode(struct tether_xdr *x,
			  struct tether_rpc_msg *m /* OUT */);

/*
 * tether_rpc_msg_size - the bytes tether_rpc_msg_encode would write for
 * m, or 0 if it would fail (see its errors). For sizing buffers.
 */
size_t tether_rpc_msg_size(const struct tether_rpc_msg *m);

/* ==== END SECTION msg ==== */

/* ==== SECTION auth: credentials (owned by lib/rpc/cred.c) ==== */

/*
 * AUTH_SYS (a.k.a. AUTH_UNIX) credential body, RFC 5531 appendix A:
 * stamp, machinename<255>, uid, gid, gids<16>. The machine name is kept
 * counted (it may legally hold any byte) and NUL-terminated for logs.
 */
#define TETHER_RPC_AUTHSYS_MAX_MACHINENAME 255u
#define TETHER_RPC_AUTHSYS_MAX_GIDS 16u

struct tether_rpc_authsys {
	uint32_t stamp;
	uint32_t machinename_len;
	char machinename[TETHER_RPC_AUTHSYS_MAX_MACHINENAME + 1];
	uint32_t uid;
	uint32_t gid;
	uint32_t ngids;
	uint32_t gids[TETHER_RPC_AUTHSYS_MAX_GIDS];
};

/*
 * tether_rpc_authsys_init - fill p. machinename is a C string of at
 * most 255 bytes, gids[0..ngids) at most 16 values (gids may be NULL
 * when ngids is 0). Returns 0 or -TETHER_EOVERFLOW (p then untouched),
 * -TETHER_EINVAL for a NULL machinename.
 */
int tether_rpc_authsys_init(struct tether_rpc_authsys *p /* OUT */,
			    uint32_t stamp, const char *machinename,
			    uint32_t uid, uint32_t gid, uint32_t ngids,
			    const uint32_t *gids);

/*
 * tether_rpc_authsys_encode - encode p as an AUTH_SYS opaque_auth into
 * *out (flavor AUTH_SYS). Returns 0, -TETHER_EOVERFLOW for a machine
 * name over 255 bytes or more than 16 gids.
 */
int tether_rpc_authsys_encode(const struct tether_rpc_authsys *p,
			      struct tether_rpc_opaque_auth *out /* OUT */);

/*
 * tether_rpc_authsys_decode - parse an AUTH_SYS body. Returns 0,
 * -TETHER_EINVAL if a's flavor is not AUTH_SYS, -TETHER_ETRUNC,
 * -TETHER_EOVERFLOW (machine name over 255 bytes, over 16 gids),
 * -TETHER_EBADMSG (non-zero padding, bytes left after the gids).
 */
int tether_rpc_authsys_decode(const struct tether_rpc_opaque_auth *a,
			      struct tether_rpc_authsys *p /* OUT */);

/* An AUTH_NONE opaque_auth (flavor 0, empty body). */
void tether_rpc_auth_none(struct tether_rpc_opaque_auth *a /* OUT */);

/*
 * tether_rpc_auth_set - an opaque_auth of any flavor with body[0..len):
 * the AUTH_SHORT handle a server handed out, or a flavor we pass
 * through without interpreting. Returns 0 or -TETHER_EOVERFLOW for len
 * over 400 (a untouched), -TETHER_EINVAL for a NULL body with len > 0.
 */
int tether_rpc_auth_set(struct tether_rpc_opaque_auth *a /* OUT */,
			uint32_t flavor, const void *body, size_t len);

/* ==== END SECTION auth ==== */

/* ==== SECTION recmark: record marking (owned by lib/rpc/recmark.c) ==== */

/*
 * On a stream transport every RPC message is a record sent as one or
 * more fragments, each behind a 4-byte big-endian header: the top bit
 * says "last fragment of the record", the other 31 bits the fragment's
 * length (RFC 5531 section 11).
 */
#define TETHER_RPC_RM_LAST_FRAG 0x80000000u
#define TETHER_RPC_RM_LEN_MASK 0x7fffffffu
#define TETHER_RPC_RM_HDR_SIZE 4u
/* Defaults when 0 is passed for a limit. */
#define TETHER_RPC_RM_DEFAULT_MAX_FRAG (1u << 20)
#define TETHER_RPC_RM_DEFAULT_MAX_RECORD (4u << 20)

/* States of the decoder; tether_rpc_rm_state_name() names them. */
enum tether_rpc_rm_state {
	TETHER_RPC_RM_HEADER = 0,	/* reading a fragment header */
	TETHER_RPC_RM_BODY = 1,		/* reading a fragment's bytes */
	TETHER_RPC_RM_DONE = 2,		/* a whole record waits for the caller */
	TETHER_RPC_RM_ERROR = 3		/* the stream is unusable */
};

const char *tether_rpc_rm_state_name(enum tether_rpc_rm_state s);

/*
 * An incremental record-marking decoder. Feed it whatever the socket
 * gave, in any pieces; it assembles the record in rec, a buffer bounded
 * by max_record. A length announced by the peer is checked against
 * max_frag and max_record before any memory is reserved for it, and the
 * buffer only grows as bytes actually arrive.
 * Layout public for embedding; every field is private.
 */
struct tether_rpc_rm_decoder {
	struct tether_buf rec;		/* the record being assembled */
	size_t max_frag;		/* largest fragment accepted */
	size_t max_record;		/* largest record accepted */
	size_t frag_left;		/* bytes of this fragment still due */
	size_t nfrags;			/* fragments in the current record */
	int err;			/* sticky error once in ERROR */
	enum tether_rpc_rm_state state;
	unsigned char hdr[TETHER_RPC_RM_HDR_SIZE];
	unsigned char hdr_have;		/* header bytes collected */
	unsigned char last;		/* current fragment ends the record */
};

/*
 * tether_rpc_rm_init - set up d with the given limits (0 picks the
 * defaults above; max_frag is capped at TETHER_RPC_RM_LEN_MASK).
 * Allocates nothing. Free with tether_rpc_rm_free.
 */
void tether_rpc_rm_init(struct tether_rpc_rm_decoder *d, size_t max_frag,
			size_t max_record);

/* Release the record storage; d may be initialised again. */
void tether_rpc_rm_free(struct tether_rpc_rm_decoder *d);

/*
 * tether_rpc_rm_feed - give the decoder n more bytes of the stream.
 * Returns, HAProxy style:
 *   > 0  a record is complete; that many bytes of p were used to finish
 *        it (the rest of p starts the next record: feed it again after
 *        tether_rpc_rm_next);
 *     0  all n bytes were taken and the record is not complete yet;
 *   < 0  the stream is broken: -TETHER_EMSGSIZE when the peer announces
 *        a fragment longer than max_frag or a record that would pass
 *        max_record, -TETHER_ENOMEM (the stream position is then lost
 *        too), -TETHER_EBUSY when called while a finished record has
 *        not been released. Errors other than EBUSY are sticky.
 * Zero-length fragments are accepted anywhere in a record.
 */
ssize_t tether_rpc_rm_feed(struct tether_rpc_rm_decoder *d, const void *p,
			   size_t n);

/*
 * tether_rpc_rm_record - the finished record, or NULL while none is
 * complete. *len gets its length (0 for an empty record, whose pointer
 * is still non-NULL). The bytes stay owned by d, valid until the next
 * call of tether_rpc_rm_next, _take or _free.
 */
const unsigned char *tether_rpc_rm_record(const struct tether_rpc_rm_decoder *d,
					  size_t *len /* OUT */);

/* Number of fragments the finished (or current) record arrived in. */
size_t tether_rpc_rm_fragments(const struct tether_rpc_rm_decoder *d);

/* Release the finished record and get ready for the next; storage is
 * kept for reuse. Does nothing when no record is finished. */
void tether_rpc_rm_next(struct tether_rpc_rm_decoder *d);

/*
 * tether_rpc_rm_take - hand the finished record's storage to the caller
 * (free it with tether_free) and get ready for the next record.
 * Returns the bytes (NULL for an empty record that never allocated) and
 * *len their count; returns NULL with *len 0 if no record is finished.
 */
unsigned char *tether_rpc_rm_take(struct tether_rpc_rm_decoder *d,
				  size_t *len /* OUT */);

/* Current state, for logs and tests. */
enum tether_rpc_rm_state
tether_rpc_rm_get_state(const struct tether_rpc_rm_decoder *d);

/*
 * tether_rpc_rm_frag_count - how many fragments framing a record of len
 * bytes into fragments of at most max_frag bytes gives (0 means
 * TETHER_RPC_RM_DEFAULT_MAX_FRAG). An empty record is one empty last
 * fragment.
 */
size_t tether_rpc_rm_frag_count(size_t len, size_t max_frag);

/*
 * tether_rpc_rm_frame_iov - frame a record for writev() without copying
 * it. hdrs must have room for tether_rpc_rm_frag_count(len, max_frag)
 * headers (nhdrs), iov for twice that many entries (niov). The iovecs
 * point alternately into hdrs and into rec; rec and hdrs must stay alive
 * until the write is done. *iovcnt gets the number of entries used.
 * Returns 0, -TETHER_ENOSPC if hdrs or iov is too small, -TETHER_EINVAL
 * for max_frag above TETHER_RPC_RM_LEN_MASK.
 */
int tether_rpc_rm_frame_iov(const void *rec, size_t len, size_t max_frag,
			    unsigned char (*hdrs)[TETHER_RPC_RM_HDR_SIZE],
			    size_t nhdrs, struct iovec *iov, size_t niov,
			    size_t *iovcnt /* OUT */);

/*
 * tether_rpc_rm_frame_buf - append the framed record (headers and a copy
 * of rec) to out. Returns 0, -TETHER_EINVAL as above, -TETHER_ENOSPC if
 * out's maximum would be passed, -TETHER_ENOMEM; on error out is
 * unchanged.
 */
int tether_rpc_rm_frame_buf(struct tether_buf *out, const void *rec,
			    size_t len, size_t max_frag);

/* ==== END SECTION recmark ==== */

/* ==== SECTION status: call outcomes (owned by lib/rpc/status.c) ==== */

/*
 * What became of a call, as a client sees it: every failure a program
 * can act on has its own value. The numbering is ours. Protocol details
 * (the version range of a mismatch, the auth_stat of a denial, the
 * system error under a transport failure) travel beside the status in
 * struct tether_rpc_result.
 */
#define TETHER_RPC_STATUS_MAP(X)                                            \
	X(OK, "success")                                                    \
	X(TIMEDOUT, "timed out")                                            \
	X(CANTCONNECT, "cannot connect to the server")                      \
	X(CANTSEND, "cannot send the call (it did not run)")                \
	X(CONN_LOST, "connection lost: the call may or may not have run")   \
	X(CANTRECV, "cannot receive the reply")                             \
	X(REPLY_TOO_BIG, "reply larger than the receive limit")             \
	X(CANTENCODE_ARGS, "cannot encode the arguments")                   \
	X(CANTDECODE_RES, "cannot decode the results")                      \
	X(RPC_MISMATCH, "RPC version mismatch")                             \
	X(AUTH_ERROR, "authentication error")                               \
	X(PROG_UNAVAIL, "program unavailable")                              \
	X(PROG_MISMATCH, "program version mismatch")                        \
	X(PROC_UNAVAIL, "procedure unavailable")                            \
	X(GARBAGE_ARGS, "server cannot decode the arguments")               \
	X(SYSTEM_ERR, "remote system error")                                \
	X(CANCELED, "call canceled (client closed)")                        \
	X(NOMEM, "out of memory")

enum tether_rpc_status {
#define TETHER__RPC_ST_ENUM(name, str) TETHER_RPC_ST_##name,
	TETHER_RPC_STATUS_MAP(TETHER__RPC_ST_ENUM)
#undef TETHER__RPC_ST_ENUM
	TETHER_RPC_ST_MAX
};

/* "TIMEDOUT", "PROG_MISMATCH", ...; "UNKNOWN" outside the enum. */
const char *tether_rpc_status_name(enum tether_rpc_status st);
/* A sentence for people ("program version mismatch"). */
const char *tether_rpc_status_str(enum tether_rpc_status st);

/* The outcome of one call. */
struct tether_rpc_result {
	enum tether_rpc_status status;
	/* PROG_MISMATCH: versions the server has; RPC_MISMATCH: RPC
	 * protocol versions it speaks. */
	struct tether_rpc_mismatch mismatch;
	uint32_t auth_stat;	/* AUTH_ERROR: enum tether_rpc_auth_stat */
	int err;		/* transport failures: -TETHER_E* under it */
};

/*
 * tether_rpc_result_format - "PROG_MISMATCH (versions 1..3)",
 * "AUTH_ERROR (AUTH_TOOWEAK)", "CANTCONNECT (connection refused)" into
 * buf[0..size), always NUL-terminated when size > 0. Returns buf.
 */
char *tether_rpc_result_format(const struct tether_rpc_result *r, char *buf,
			       size_t size);

/* ==== END SECTION status ==== */

/* ==== SECTION drc: duplicate request cache (owned by lib/rpc/drc.c) ==== */

/*
 * At-most-once execution for retransmitted calls. A call is identified
 * by its XID, the client's address, program, version, procedure and a
 * checksum of its argument bytes (so an XID reused for different
 * arguments is a new call). The first arrival creates an IN_PROGRESS
 * entry; a duplicate that arrives while the procedure runs is dropped
 * (the client retransmits again); once the reply is stored, duplicates
 * get the same reply bytes again without running the procedure.
 *
 * Bounds: at most max_entries entries and max_bytes bytes of stored
 * replies (entries themselves included). Completed entries are evicted
 * least recently used first; entries in progress are never evicted, so
 * when they fill the table a new call is simply not cached.
 * The table is keyed with SipHash under a random key: its keys come
 * from the network. Not thread-safe: one owner (the server's loop).
 */
struct tether_rpc_drc;
struct tether_rpc_drc_entry;

struct tether_rpc_drc_key {
	uint32_t xid;
	uint32_t prog;
	uint32_t vers;
	uint32_t proc;
	struct tether_addr addr;	/* the client; len 0 for none */
	uint64_t cksum;			/* tether_rpc_drc_checksum of args */
};

/* Results of tether_rpc_drc_lookup (>= 0). */
enum tether_rpc_drc_verdict {
	TETHER_RPC_DRC_NEW = 0,		/* run it; *entry is in progress */
	TETHER_RPC_DRC_IN_PROGRESS = 1,	/* duplicate of a running call: drop */
	TETHER_RPC_DRC_REPLAY = 2	/* duplicate of a done one: resend */
};

/* "NEW", "IN_PROGRESS", "REPLAY"; "UNKNOWN" otherwise. */
const char *tether_rpc_drc_verdict_name(int v);

/* Counters, for stats and tests. */
struct tether_rpc_drc_stats {
	size_t entries;		/* now, in progress included */
	size_t in_progress;	/* now */
	size_t bytes;		/* now */
	uint64_t hits_in_progress;	/* duplicates dropped */
	uint64_t hits_replayed;		/* duplicates answered from cache */
	uint64_t evictions;		/* completed entries evicted (LRU) */
	uint64_t uncached;		/* calls not cached (full, no memory) */
};

/* Defaults when 0 is passed. */
#define TETHER_RPC_DRC_DEFAULT_ENTRIES 1024u
#define TETHER_RPC_DRC_DEFAULT_BYTES (4u << 20)

/*
 * tether_rpc_drc_new - an empty cache (0 picks a default for either
 * bound). Returns 0 and *out, -TETHER_ENOMEM, or the error of
 * tether_hash_key_random. Free with tether_rpc_drc_free.
 */
int tether_rpc_drc_new(struct tether_rpc_drc **out /* OUT */,
		       size_t max_entries, size_t max_bytes);

/* Free the cache and every entry (NULL is a no-op). Entry pointers
 * handed out become invalid. */
void tether_rpc_drc_free(struct tether_rpc_drc *d);

/* The argument checksum for a key: keyed SipHash of args[0..n). */
uint64_t tether_rpc_drc_checksum(const struct tether_rpc_drc *d,
				 const void *args, size_t n);

/*
 * tether_rpc_drc_lookup - look the call up, and insert it when new.
 * Returns TETHER_RPC_DRC_NEW with *entry (the caller must later call
 * _complete or _abort on it exactly once), TETHER_RPC_DRC_IN_PROGRESS,
 * TETHER_RPC_DRC_REPLAY with *reply / *len pointing at the stored reply
 * (valid until the next call on d; the entry becomes most recently
 * used), or -TETHER_ENOSPC (full of calls in progress) / -TETHER_ENOMEM:
 * the call was not cached and should run uncached.
 */
int tether_rpc_drc_lookup(struct tether_rpc_drc *d,
			  const struct tether_rpc_drc_key *key,
			  struct tether_rpc_drc_entry **entry /* OUT */,
			  const unsigned char **reply /* OUT */,
			  size_t *len /* OUT */);

/*
 * tether_rpc_drc_complete - store the reply bytes (copied) for an entry
 * in progress, evicting completed entries as needed to stay within
 * max_bytes. A reply that cannot be stored (larger than max_bytes, no
 * memory) removes the entry instead. Returns 0, -TETHER_EMSGSIZE or
 * -TETHER_ENOMEM (entry removed in both cases).
 */
int tether_rpc_drc_complete(struct tether_rpc_drc *d,
			    struct tether_rpc_drc_entry *entry,
			    const void *reply, size_t len);

/* tether_rpc_drc_abort - forget an entry in progress (the call was
 * dropped without a reply, so a retransmission should run it). */
void tether_rpc_drc_abort(struct tether_rpc_drc *d,
			  struct tether_rpc_drc_entry *entry);

/* Current counters into *st. */
void tether_rpc_drc_get_stats(const struct tether_rpc_drc *d,
			      struct tether_rpc_drc_stats *st /* OUT */);

/* ==== END SECTION drc ==== */

/* ==== SECTION server: the server runtime (owned by lib/rpc/svc*.c) ==== */

/*
 * An RPC server on a struct tether_loop: any number of TCP, UDP and
 * AF_UNIX stream listeners, any number of (program, version) dispatch
 * tables, all served by the loop's thread.
 *
 * A call goes: record reassembly (streams, bounded by max_record) →
 * header → RPC version (RPC_MISMATCH) → credential (AUTH_ERROR; AUTH_NONE
 * and AUTH_SYS are accepted, AUTH_SYS is parsed for the procedure, and
 * AUTH_SHORT when switched on, see below) →
 * program (PROG_UNAVAIL), version (PROG_MISMATCH with the registered
 * low..high), procedure (PROC_UNAVAIL; procedure 0 answers every version
 * with an empty reply unless the table defines it) → duplicate request
 * cache (at-most-once) → arguments decoded into the call's own arena
 * (GARBAGE_ARGS) → the procedure. The procedure replies with
 * tether_rpc_server_reply() at once or later (asynchronous completion:
 * it keeps the call handle); the arena is reset when the reply is sent.
 *
 * Limits (struct tether_rpc_server_config) bound what one client can
 * make the server hold: a record over max_record closes that
 * connection; past max_conns new connections are accepted and closed at
 * once; a connection with max_inflight calls unanswered is not read
 * until one completes; a connection idle for idle_ms (nothing in
 * flight) is closed. Others are served meanwhile.
 *
 * Replies over UDP leave from the listening socket to the datagram's
 * source address. On a listener bound to a wildcard address (0.0.0.0,
 * ::) the address each datagram was sent to is learnt (IP_PKTINFO,
 * IPV6_RECVPKTINFO) and its reply is sent from that address, so a
 * client that sent to one of several local addresses sees the answer
 * come from it (also for replies made later, or by a worker). A
 * broadcast call is answered from the address of the interface it came
 * in on (ipi_spec_dst), as libtirpc does.
 *
 * AUTH_SHORT (opt-in, tether_rpc_server_auth_short): an accepted reply
 * to an AUTH_SYS call carries an AUTH_SHORT verifier, a handle the
 * client may send instead of the AUTH_SYS credential; the procedure
 * sees the AUTH_SYS identity the handle stands for. Handles live in a
 * bounded table (least recently used evicted first) and expire; an
 * unknown or expired one is denied AUTH_ERROR / AUTH_REJECTEDCRED, and
 * the client sends AUTH_SYS again (RFC 5531 section 8.2, appendix A).
 * Clients that ignore the verifier keep working; libtirpc's authunix
 * takes the handle up and sends AUTH_SYS again when it is rejected
 * (interop.runtime.tirpc_client checks this).
 *
 * Threads: a server and its call handles belong to the loop's thread;
 * none of these functions is thread-safe, with one exception: a
 * procedure marked blocking (the table flag TETHER_RPC_SERVER_BLOCKING
 * or tether_rpc_server_set_blocking) runs on a worker thread of the
 * server's pool, and there, on its own call handle only, it may use
 * the call accessors (tether_rpc_server_call_*, including the arena)
 * and must answer with exactly one of tether_rpc_server_reply* or
 * tether_rpc_server_drop before it returns (a procedure that returns
 * without answering is answered SYSTEM_ERR). The reply is encoded on
 * the worker, then sent from the loop's thread, which also resets the
 * arena. Such a procedure must not call anything else of the server,
 * nor touch the loop. Arguments are decoded on the loop's thread
 * before the call is queued.
 */
struct tether_rpc_server;
struct tether_rpc_server_call;

/*
 * A procedure. args points at the decoded arguments (args_size bytes in
 * the call's arena, NULL for void), ud is the dispatch table's. Reply
 * with one of tether_rpc_server_reply*, now or later.
 */
typedef void tether_rpc_server_proc_fn(struct tether_rpc_server_call *call,
				       void *args, void *ud);

/* One procedure of a dispatch table. */
struct tether_rpc_server_proc {
	uint32_t proc;
	tether_xdr_fn *args_codec;	/* NULL: void arguments */
	size_t args_size;		/* bytes of the decoded argument type */
	tether_xdr_fn *res_codec;	/* NULL: void results */
	tether_rpc_server_proc_fn *fn;	/* NULL: answer with void */
};

/* Flags of a dispatch table. */
#define TETHER_RPC_SERVER_NEED_AUTHSYS 0x1u	/* else AUTH_TOOWEAK */
#define TETHER_RPC_SERVER_NO_DRC 0x2u		/* idempotent: never cached */
#define TETHER_RPC_SERVER_BLOCKING 0x4u		/* every procedure on the pool */

/* What tether-rpcgen's server skeleton emits for one version. */
struct tether_rpc_server_table {
	uint32_t prog;
	uint32_t vers;
	const struct tether_rpc_server_proc *procs;
	size_t nprocs;
	unsigned flags;
};

/*
 * The return value of a procedure written for a tether-rpcgen server
 * skeleton, int foo_1_svc(args..., R *res, struct
 * tether_rpc_server_call *call), besides 0 (the skeleton replies with
 * *res) and -TETHER_E* (it answers SYSTEM_ERR): the procedure took the
 * answer over and has replied, or will reply later, itself with one of
 * tether_rpc_server_reply* (*res, in the call's arena, stays valid
 * until then and may be the reply's results).
 */
#define TETHER_RPC_SERVER_LATER 1

/* Creation options; zeroed means the defaults in brackets. */
struct tether_rpc_server_config {
	size_t max_record;	/* [1 MiB] largest call record, streams */
	unsigned max_conns;	/* [1024] stream connections at once */
	unsigned max_inflight;	/* [16] unanswered calls per connection */
	unsigned idle_ms;	/* [120000] idle stream connection timeout */
	size_t arena_max;	/* [max_record * 4] per-call arena bound */
	size_t drc_entries;	/* [1024] duplicate request cache */
	size_t drc_bytes;	/* [4 MiB] */
	int no_drc;		/* non-zero: no duplicate request cache */
};

/* Defaults. */
#define TETHER_RPC_SERVER_DEFAULT_MAX_RECORD (1u << 20)
#define TETHER_RPC_SERVER_DEFAULT_MAX_CONNS 1024u
#define TETHER_RPC_SERVER_DEFAULT_MAX_INFLIGHT 16u
#define TETHER_RPC_SERVER_DEFAULT_IDLE_MS 120000u

/*
 * tether_rpc_server_new - a server that will run on loop (which must
 * outlive it). cfg may be NULL. Returns 0 and *out, -TETHER_EINVAL,
 * -TETHER_ENOMEM. Free with tether_rpc_server_free.
 */
int tether_rpc_server_new(struct tether_rpc_server **out /* OUT */,
			  struct tether_loop *loop,
			  const struct tether_rpc_server_config *cfg);

/*
 * tether_rpc_server_free - close every listener and connection and free
 * the server. Call handles still outstanding are released: the
 * application must not use them afterwards. Not from one of the
 * server's own callbacks. NULL is a no-op.
 */
void tether_rpc_server_free(struct tether_rpc_server *srv);

/*
 * tether_rpc_server_register - serve a (program, version). The table
 * (and its procs) is not copied and must outlive the server; ud goes
 * to its procedures. Returns 0, -TETHER_EEXIST (that version is
 * registered), -TETHER_EINVAL, -TETHER_ENOMEM.
 */
int tether_rpc_server_register(struct tether_rpc_server *srv,
			       const struct tether_rpc_server_table *t,
			       void *ud);

/* tether_rpc_server_unregister - stop serving (prog, vers); calls in
 * flight complete. Returns 0 or -TETHER_ENOENT. */
int tether_rpc_server_unregister(struct tether_rpc_server *srv,
				 uint32_t prog, uint32_t vers);

/*
 * tether_rpc_server_set_blocking - run procedure proc of the registered
 * (prog, vers) on the worker pool (on non-zero) or on the loop's thread
 * (0, the default unless the table has TETHER_RPC_SERVER_BLOCKING). See
 * the section comment for what such a procedure may do. The pool is
 * started with the defaults at the first such call unless
 * tether_rpc_server_pool_start was called. Returns 0, -TETHER_ENOENT
 * (not registered), -TETHER_ENOMEM.
 */
int tether_rpc_server_set_blocking(struct tether_rpc_server *srv,
				   uint32_t prog, uint32_t vers,
				   uint32_t proc, int on);

/*
 * tether_rpc_server_pool_start - start threads workers (0: 4) taking
 * blocking calls from a queue of at most max_queue calls (0: 64) that
 * wait for a worker. A blocking call that finds the queue full is
 * answered SYSTEM_ERR at once (overload; counted in pool_overload and
 * not kept by the reply cache, so a retransmission may run) and the
 * server goes on serving the others. The workers are joined by
 * tether_rpc_server_free, after the procedures they are running
 * return. Returns 0, -TETHER_EBUSY (already started), -TETHER_EINVAL
 * (over 256 threads), -TETHER_ENOMEM, or the thread error.
 */
#define TETHER_RPC_SERVER_POOL_DEFAULT_THREADS 4u
#define TETHER_RPC_SERVER_POOL_DEFAULT_QUEUE 64u
int tether_rpc_server_pool_start(struct tether_rpc_server *srv,
				 unsigned threads, unsigned max_queue);

/*
 * tether_rpc_server_auth_short - hand out AUTH_SHORT handles for AUTH_SYS
 * callers and accept them (on non-zero), or stop (0: the table is
 * dropped and AUTH_SHORT credentials are denied AUTH_REJECTEDCRED).
 * Handles: at most max_entries (0: 1024) identities, each expiring
 * ttl_ms (0: 300000) after it was last used; the least recently used
 * goes first when the table is full. tether_rpc_server_auth_short_limits
 * sets them (they apply to a table made afterwards, i.e. call it before
 * switching on). Returns 0, -TETHER_EINVAL (max_entries over
 * TETHER_RPC_SERVER_SHORT_MAX_ENTRIES), -TETHER_ENOMEM.
 */
#define TETHER_RPC_SERVER_SHORT_DEFAULT_ENTRIES 1024u
#define TETHER_RPC_SERVER_SHORT_MAX_ENTRIES (1u << 20)
#define TETHER_RPC_SERVER_SHORT_DEFAULT_TTL_MS 300000u
int tether_rpc_server_auth_short(struct tether_rpc_server *srv, int on);
void tether_rpc_server_auth_short_limits(struct tether_rpc_server *srv,
					 unsigned max_entries,
					 unsigned ttl_ms);

/*
 * tether_rpc_server_listen - bind and listen on addr: socktype
 * SOCK_STREAM (TCP over IPv4/IPv6, or AF_UNIX: an existing socket file
 * at the path is replaced) or SOCK_DGRAM (UDP, IPv4/IPv6). Port 0
 * picks a free port; *bound (may be NULL) gets the address actually
 * bound. Returns 0, -TETHER_EINVAL, -TETHER_EAFNOSUPPORT (e.g. AF_UNIX
 * datagrams), -TETHER_EADDRINUSE, -TETHER_ENOMEM or a mapped errno.
 */
int tether_rpc_server_listen(struct tether_rpc_server *srv, int socktype,
			     const struct tether_addr *addr,
			     struct tether_addr *bound /* OUT */);

/*
 * tether_rpc_server_adopt - serve an already connected stream socket
 * (e.g. one end of a socketpair, or a connection accepted elsewhere).
 * The server owns fd from then on, also on failure (it is closed).
 * Counts against max_conns. Returns 0, -TETHER_EBUSY (at max_conns),
 * -TETHER_ENOMEM, or a loop error.
 */
int tether_rpc_server_adopt(struct tether_rpc_server *srv, int fd);

/* The call's header, credential and client, valid for the call's life. */
const struct tether_rpc_call *
tether_rpc_server_call_header(const struct tether_rpc_server_call *call);
uint32_t tether_rpc_server_call_xid(const struct tether_rpc_server_call *call);
/* The AUTH_SYS credential, or NULL when the call came with AUTH_NONE. */
const struct tether_rpc_authsys *
tether_rpc_server_call_authsys(const struct tether_rpc_server_call *call);
/* The client's address (len 0 for an AF_UNIX client without a name). */
const struct tether_addr *
tether_rpc_server_call_peer(const struct tether_rpc_server_call *call);
/* The call's arena: results may be built in it; reset after the reply. */
struct tether_arena *
tether_rpc_server_call_arena(struct tether_rpc_server_call *call);
/* The ud the call's dispatch table was registered with (what its
 * procedure got as ud), for code that only holds the call handle. */
void *tether_rpc_server_call_ud(const struct tether_rpc_server_call *call);

/*
 * tether_rpc_server_reply - send SUCCESS with res (coded by the table's
 * res_codec; res ignored for void results) and release the call: the
 * handle and its arena are invalid afterwards, whatever the result.
 * A reply that cannot be encoded (codec error, larger than max_record
 * or a datagram) is answered SYSTEM_ERR instead. If the client's
 * connection is gone the reply is discarded (the duplicate request
 * cache still keeps it for a retransmission on a new connection).
 * Returns 0 or the encoding error that turned into SYSTEM_ERR.
 */
int tether_rpc_server_reply(struct tether_rpc_server_call *call,
			    const void *res);

/*
 * tether_rpc_server_reply_error - answer with an accept_stat other than
 * SUCCESS (GARBAGE_ARGS, SYSTEM_ERR, PROC_UNAVAIL, PROG_UNAVAIL) and
 * release the call. -TETHER_EINVAL for SUCCESS or PROG_MISMATCH (the
 * call is then answered SYSTEM_ERR).
 */
int tether_rpc_server_reply_error(struct tether_rpc_server_call *call,
				  enum tether_rpc_accept_stat stat);

/* tether_rpc_server_reply_auth_error - deny the call with auth_stat
 * (AUTH_ERROR) and release it. */
void tether_rpc_server_reply_auth_error(struct tether_rpc_server_call *call,
					enum tether_rpc_auth_stat stat);

/* tether_rpc_server_drop - release the call without answering (the
 * client will time out or retransmit; a retransmission runs again). */
void tether_rpc_server_drop(struct tether_rpc_server_call *call);

/* Counters, for stats and tests. */
struct tether_rpc_server_stats {
	unsigned conns;			/* stream connections open */
	unsigned listeners;
	uint64_t calls;			/* call records received */
	uint64_t replies;		/* replies sent or queued */
	uint64_t dropped;		/* calls or records dropped */
	uint64_t conns_refused;		/* over max_conns */
	uint64_t conns_oversize;	/* closed for a record too big */
	uint64_t conns_idle;		/* closed for idleness */
	unsigned calls_pending;		/* handles outstanding */
	struct tether_rpc_drc_stats drc;
	/* Worker pool (zero until started). */
	unsigned pool_threads;
	unsigned pool_queued;		/* calls waiting for a worker */
	unsigned pool_busy;		/* workers running a procedure */
	unsigned pool_busy_max;		/* the most at once so far */
	uint64_t pool_overload;		/* answered SYSTEM_ERR: queue full */
	/* AUTH_SHORT. */
	uint64_t short_issued;		/* handles made */
	uint64_t short_accepted;	/* calls that came with a valid one */
	uint64_t short_rejected;	/* unknown or expired handles */
	unsigned short_entries;		/* handles alive */
};

void tether_rpc_server_get_stats(const struct tether_rpc_server *srv,
				 struct tether_rpc_server_stats *st /* OUT */);

/* ==== END SECTION server ==== */

/* ==== SECTION client: the client runtime (owned by lib/rpc/clnt*.c) ==== */

/*
 * A client for one (program, version) at one address, over TCP, UDP or
 * an AF_UNIX stream socket.
 *
 * Calls are asynchronous underneath: each gets a fresh XID and waits in
 * a table of calls in flight; many may be outstanding on one connection
 * (pipelining) and replies are matched by XID in any order. A reply
 * whose XID is not in flight (late, duplicate, or for a timed-out call)
 * is dropped. Over UDP a call is sent again with the same XID after
 * retrans_ms, then 2x, 4x ... (capped at 8 s) until its timeout. Over a
 * stream, a connection that breaks fails every call whose record was
 * completely handed to the kernel with CONN_LOST (it may or may not
 * have run) and the calls not yet fully sent with CANTSEND (they did
 * not run); the next call connects again. A connect that fails fails
 * the calls waiting for it (CANTCONNECT) and makes later calls wait
 * before the next attempt: 100 ms, doubling up to reconnect_max_ms,
 * back to none once a connection is made.
 *
 * Synchronous calls (tether_rpc_client_call) run the client's loop with
 * tether_loop_run_once until the call completes: with a private loop
 * (loop NULL at creation) that is all they do; with a shared loop,
 * other callbacks of that loop run meanwhile and the call must not be
 * made from inside one of them (tether_loop_run_once is not reentrant).
 * With a private loop, once connected, the socket is blocking with a
 * 20 ms SO_RCVTIMEO and a synchronous call waits in recv itself (one
 * system call per reply instead of epoll_wait then recv); between the
 * 20 ms slices the loop runs its timers, so a call's timeout may be
 * noticed up to one slice late. Every other send and receive of the
 * client passes MSG_DONTWAIT, so driving a private loop by hand
 * (tether_rpc_client_loop) never blocks on the socket.
 *
 * Threads: a client belongs to the thread that runs its loop; it is not
 * thread-safe and none of its calls may be made from another thread.
 * Separate clients (each with its own loop) may be used by separate
 * threads. The completion callback runs on the loop's thread.
 */
struct tether_rpc_client;

/* Creation options; zeroed means the defaults in brackets. */
struct tether_rpc_client_config {
	size_t max_record;	/* [4 MiB] largest reply accepted */
	unsigned timeout_ms;	/* [25000] per call, when a call passes 0 */
	unsigned retrans_ms;	/* [500] UDP: first retransmission */
	unsigned reconnect_max_ms; /* [5000] longest wait between connects */
	/* [len 0: the kernel picks] local address every connection (or
	 * the UDP socket) is bound to before it connects: a client that
	 * must come from one address of several, e.g. to a load balancer
	 * that keeps sessions by client address. Same family as the
	 * server's, never AF_UNIX; port 0 takes any free port. */
	struct tether_addr source;
};

#define TETHER_RPC_CLIENT_DEFAULT_MAX_RECORD (4u << 20)
#define TETHER_RPC_CLIENT_DEFAULT_TIMEOUT_MS 25000u
#define TETHER_RPC_CLIENT_DEFAULT_RETRANS_MS 500u
#define TETHER_RPC_CLIENT_MAX_RETRANS_MS 8000u
#define TETHER_RPC_CLIENT_RECONNECT_MIN_MS 100u
#define TETHER_RPC_CLIENT_RECONNECT_MAX_MS 5000u

/*
 * tether_rpc_client_new - a client for (prog, vers) at addr over
 * socktype (SOCK_STREAM: TCP or AF_UNIX; SOCK_DGRAM: UDP). loop is the
 * loop asynchronous calls complete on; NULL gives the client a private
 * loop (synchronous calls only, or drive it with
 * tether_rpc_client_loop). The connection is opened lazily, on the
 * first call; connection failures (a cfg->source that cannot be bound
 * included) are reported as the calls' status.
 * Returns 0 and *out, -TETHER_EINVAL (also: a source of another family
 * than addr's, or with an AF_UNIX server), -TETHER_EAFNOSUPPORT,
 * -TETHER_ENOMEM.
 */
int tether_rpc_client_new(struct tether_rpc_client **out /* OUT */,
			  struct tether_loop *loop,
			  const struct tether_addr *addr, int socktype,
			  uint32_t prog, uint32_t vers,
			  const struct tether_rpc_client_config *cfg);

/*
 * tether_rpc_client_new_lookup - the same, for a server found through
 * the portmapper on host (its port is ignored: 111 is asked; NULL means
 * 127.0.0.1) with tether_rpcb_getaddr (GETADDR v4, v3, then portmap v2
 * GETPORT; blocking, bounded by cfg's timeout or 3 s). netid picks the
 * transport (udp, udp6: datagrams; tcp, tcp6, local: stream). With a
 * cfg->source, the lookup is made from it too.
 * Returns 0 and *out, -TETHER_ENOENT (not registered), or the errors of
 * tether_rpcb_getaddr and tether_rpc_client_new.
 */
int tether_rpc_client_new_lookup(struct tether_rpc_client **out /* OUT */,
				 struct tether_loop *loop,
				 const struct tether_addr *host, uint32_t prog,
				 uint32_t vers, enum tether_netid netid,
				 const struct tether_rpc_client_config *cfg);

/*
 * tether_rpc_client_free - close the client. Calls still in flight
 * complete with CANCELED first (their callbacks run from here). Not
 * from one of the client's own callbacks. NULL is a no-op.
 */
void tether_rpc_client_free(struct tether_rpc_client *c);

/* The loop the client runs on (its private one when created without). */
struct tether_loop *tether_rpc_client_loop(struct tether_rpc_client *c);

/*
 * tether_rpc_client_set_auth - send cred (copied) with every later
 * call; the verifier is AUTH_NONE. NULL goes back to AUTH_NONE.
 * tether_rpc_client_set_authsys builds an AUTH_SYS credential.
 * AUTH_SHORT: when an accepted reply to an AUTH_SYS call carries an
 * AUTH_SHORT verifier, its body (an XDR opaque_auth, as Sun's RPC and
 * libtirpc use it) becomes the credential of later calls; if the server
 * refuses it (AUTH_REJECTEDCRED or AUTH_BADCRED), it is dropped and the
 * call is sent again, once, with the AUTH_SYS credential (new XID, same
 * callback, what is left of its timeout). Either function drops a
 * handle held. Return 0, -TETHER_EOVERFLOW (see
 * tether_rpc_authsys_encode).
 */
int tether_rpc_client_set_auth(struct tether_rpc_client *c,
			       const struct tether_rpc_opaque_auth *cred);
int tether_rpc_client_set_authsys(struct tether_rpc_client *c,
				  const struct tether_rpc_authsys *p);

/*
 * Completion of an asynchronous call, on the loop's thread: r says how
 * it went; on TETHER_RPC_ST_OK the results were decoded into the res
 * the call was given. The callback may start new calls.
 */
typedef void tether_rpc_client_done_fn(struct tether_rpc_client *c,
				       const struct tether_rpc_result *r,
				       void *ud);

/*
 * tether_rpc_client_call_async - start a call of proc with args (coded
 * by args_codec; NULL for void) and, on success, decode the results
 * into res with res_codec (NULL for void), copying variable-length
 * data into arena (caller-owned; may be NULL for results without any).
 * res and arena must stay valid until done runs. timeout_ms 0 takes the
 * client's default. done always runs exactly once, from the loop (never
 * from inside this function), unless this function fails.
 * Returns 0; -TETHER_EINVAL; -TETHER_ENOMEM; -TETHER_EMSGSIZE when the
 * encoded call would pass the transport's limit.
 */
int tether_rpc_client_call_async(struct tether_rpc_client *c, uint32_t proc,
				 tether_xdr_fn *args_codec, const void *args,
				 tether_xdr_fn *res_codec, void *res,
				 struct tether_arena *arena,
				 unsigned timeout_ms,
				 tether_rpc_client_done_fn *done, void *ud);

/*
 * tether_rpc_client_call - the same, waiting for the outcome (see the
 * section comment for how it waits). *r (may be NULL) gets the details.
 * Returns the status: TETHER_RPC_ST_OK (0) when res holds the results.
 */
enum tether_rpc_status
tether_rpc_client_call(struct tether_rpc_client *c, uint32_t proc,
		       tether_xdr_fn *args_codec, const void *args,
		       tether_xdr_fn *res_codec, void *res,
		       struct tether_arena *arena, unsigned timeout_ms,
		       struct tether_rpc_result *r /* OUT */);

/* Calls in flight (sent or queued, not yet completed). */
size_t tether_rpc_client_pending(const struct tether_rpc_client *c);

/* ==== END SECTION client ==== */

/* ==== SECTION rpcb: portmapper client (owned by lib/rpc/rpcb.c) ==== */

/*
 * Registering with, and asking, the portmapper: rpcbind versions 4 and
 * 3 (SET, UNSET, GETADDR with universal addresses) over the local socket
 * rpcbind listens on, as libtirpc does, and portmap version 2 (SET,
 * UNSET, GETPORT) over TCP to port 111 where there is no local socket
 * (tether-portmap, old portmappers, remote hosts). These live in rpc.h
 * rather than a header of their own because they are a thin layer on
 * the client above.
 *
 * One-shot calls block (each runs a client on a private loop, bounded by
 * the timeout). The keeper runs on the server's loop and keeps
 * registrations alive: every check_ms it asks the portmapper whether
 * each registration is still there and registers it again if not, so a
 * portmapper that was killed and restarted finds the server again
 * within one period, without restarting the server.
 */
/* The portmapper's program and port, as tether/rpcb.h defines them;
 * the port an int as tether_addr_parse() and _set_port() take it. */
#define TETHER_RPCB_PROG TETHER_PMAP_PROG
#define TETHER_RPCB_PORT ((int)TETHER_PMAP_PORT)
#define TETHER_RPCB_LOCAL_PATH "/run/rpcbind.sock"
#define TETHER_RPCB_DEFAULT_TIMEOUT_MS 3000u
#define TETHER_RPCB_DEFAULT_CHECK_MS 1000u

/* Where the portmapper is; zeroed means the defaults in brackets. */
struct tether_rpcb_config {
	const char *local_path;	/* [TETHER_RPCB_LOCAL_PATH] rpcbind v4/v3 */
	int no_local;		/* non-zero: never use the local socket */
	const struct tether_addr *remote; /* [127.0.0.1:111] v4/v3 GETADDR,
					   * v2 for everything */
	unsigned timeout_ms;	/* [3000] per call */
	/* [NULL: the kernel picks] the local address calls to the remote
	 * are made from (struct tether_rpc_client_config's source); not
	 * used on the local socket. */
	const struct tether_addr *source;
};

/*
 * tether_rpcb_set - register (prog, vers, netid) at addr: rpcbind v4 SET
 * over the local socket, or, when there is none, portmap v2 SET over TCP
 * to the remote (tcp and udp netids only). Returns 0; -TETHER_EEXIST
 * when the portmapper refuses (another address holds the entry);
 * -TETHER_ENOTSUP (a netid v2 cannot carry); -TETHER_ECONNREFUSED,
 * -TETHER_ETIMEDOUT (no portmapper); -TETHER_EPROTO (it answered with
 * an RPC error); -TETHER_EINVAL, -TETHER_ENOMEM.
 */
int tether_rpcb_set(const struct tether_rpcb_config *cfg, uint32_t prog,
		    uint32_t vers, enum tether_netid netid,
		    const struct tether_addr *addr);

/*
 * tether_rpcb_unset - remove (prog, vers, netid); TETHER_NETID_MAX
 * removes every netid. Returns 0, -TETHER_ENOENT (nothing removed), or
 * the errors of tether_rpcb_set.
 */
int tether_rpcb_unset(const struct tether_rpcb_config *cfg, uint32_t prog,
		      uint32_t vers, enum tether_netid netid);

/*
 * tether_rpcb_getaddr - where (prog, vers, netid) is served: GETADDR v4,
 * then v3 if the portmapper has no v4, then portmap v2 GETPORT (tcp and
 * udp), to cfg->remote (127.0.0.1:111 by default) over the netid's
 * own transport (rpcbind answers for the transport asked over: UDP for
 * udp, TCP for tcp; give an IPv6 remote for tcp6 and udp6), or over the
 * local socket for local. The host of a v2 answer is the remote's.
 * Returns 0 and
 * *out; -TETHER_ENOENT (not registered); the other errors as above.
 */
int tether_rpcb_getaddr(const struct tether_rpcb_config *cfg, uint32_t prog,
			uint32_t vers, enum tether_netid netid,
			struct tether_addr *out /* OUT */);

/* Registrations kept alive on a loop. */
struct tether_rpcb_keeper;

struct tether_rpcb_keeper_stats {
	uint64_t checks;	/* lookups made */
	uint64_t sets;		/* registrations (re)made */
	uint64_t failures;	/* calls that failed (no portmapper...) */
	unsigned registered;	/* registrations seen in place at the
				 * last check */
};

/*
 * tether_rpcb_keeper_new - a keeper on loop (cfg copied; cfg->remote is
 * copied too), checking every check_ms (0: 1000). Returns 0 and *out,
 * -TETHER_ENOMEM, -TETHER_EINVAL.
 */
int tether_rpcb_keeper_new(struct tether_rpcb_keeper **out /* OUT */,
			   struct tether_loop *loop,
			   const struct tether_rpcb_config *cfg,
			   unsigned check_ms);

/*
 * tether_rpcb_keeper_add - keep (prog, vers, netid) registered at addr.
 * The first registration is attempted at once (asynchronously). Checks
 * use portmap v2 GETPORT over TCP, so tcp and udp registrations are
 * seen in place; others are simply SET again every round.
 * Returns 0, -TETHER_EINVAL, -TETHER_ENOMEM.
 */
int tether_rpcb_keeper_add(struct tether_rpcb_keeper *k, uint32_t prog,
			   uint32_t vers, enum tether_netid netid,
			   const struct tether_addr *addr);

void tether_rpcb_keeper_get_stats(
	const struct tether_rpcb_keeper *k,
	struct tether_rpcb_keeper_stats *st /* OUT */);

/*
 * tether_rpcb_keeper_free - stop keeping; with unregister set, remove
 * every registration first (blocking, tether_rpcb_unset). Not from a
 * callback of the loop. NULL is a no-op.
 */
void tether_rpcb_keeper_free(struct tether_rpcb_keeper *k, int unregister);

/* ==== END SECTION rpcb ==== */

#ifdef __cplusplus
}
#endif

#endif /* TETHER_RPC_H */
