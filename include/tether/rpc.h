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

#ifdef __cplusplus
extern "C" {
#endif

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
