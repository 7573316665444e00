/*
 * tether/rpc.h - ONC RPC (RFC 5531): message headers, credentials and
 * record marking for stream transports. The client and server runtime
 * come later in their own sections of this header.
 */
#ifndef TETHER_RPC_H
#define TETHER_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tether/core.h"
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

#ifdef __cplusplus
}
#endif

#endif /* TETHER_RPC_H */
