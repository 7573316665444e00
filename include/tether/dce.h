/*
 * tether/dce.h - DCE/RPC over connection-oriented transports (C706 ch. 12,
 * MS-RPCE 2.2): PDU codec, stream framer, fragment reassembly and
 * fragmentation, presentation context negotiation, the NDR 2.0 subset,
 * protocol towers, and the endpoint mapper's stubs. Pure codecs: no I/O.
 */
#ifndef TETHER_DCE_H
#define TETHER_DCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tether/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* UUIDs and syntax identifiers                                        */
/* ------------------------------------------------------------------ */

/* A UUID by fields, as NDR carries it (C706 App. A). */
struct tether_dce_uuid {
	uint32_t time_low;
	uint16_t time_mid;
	uint16_t time_hi_and_version;
	uint8_t clock_seq[2]; /* clock_seq_hi_and_reserved, clock_seq_low */
	uint8_t node[6];
};

#define TETHER_DCE_UUID_STRLEN 37 /* 36 characters and a NUL */

/*
 * tether_dce_uuid_parse - read "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
 * (either case) into *out. Returns 0 or -TETHER_EINVAL.
 */
int tether_dce_uuid_parse(const char *s, struct tether_dce_uuid *out /* OUT */);

/* Write the lower-case text form into buf (at least 37 bytes); returns buf. */
char *tether_dce_uuid_format(const struct tether_dce_uuid *u, char *buf);

/* 1 when equal / when all zero, else 0. */
int tether_dce_uuid_equal(const struct tether_dce_uuid *a,
			  const struct tether_dce_uuid *b);
int tether_dce_uuid_is_nil(const struct tether_dce_uuid *u);

/* An interface or transfer syntax: UUID + version (p_syntax_id_t). On the
 * wire the version is one u32 with the major in the low 16 bits. */
struct tether_dce_syntax {
	struct tether_dce_uuid uuid;
	uint16_t vers_major;
	uint16_t vers_minor;
};

/* Well-known syntaxes. */
extern const struct tether_dce_syntax tether_dce_ndr20;	 /* 8a885d04... v2.0 */
extern const struct tether_dce_syntax tether_dce_ndr64;	 /* 71710533... v1.0 */
extern const struct tether_dce_syntax tether_dce_epm_v3; /* e1af8308... v3.0 */

/* Bind-time feature negotiation bits [MS-RPCE 2.2.2.14]. */
#define TETHER_DCE_BTFN_SEC_CTX_MULTIPLEXING 0x01
#define TETHER_DCE_BTFN_KEEP_ON_ORPHAN	     0x02

/*
 * tether_dce_syntax_is_btfn - 1 when s is a bind-time feature negotiation
 * pseudo transfer syntax (6cb71c2c-9812-4540-..., v1.0); *bits gets the
 * first octet of its bitmask (may be NULL). Else 0.
 */
int tether_dce_syntax_is_btfn(const struct tether_dce_syntax *s,
			      uint8_t *bits /* OUT */);

/* ------------------------------------------------------------------ */
/* PDUs                                                                */
/* ------------------------------------------------------------------ */

enum tether_dce_ptype {
	TETHER_DCE_PT_REQUEST = 0,
	TETHER_DCE_PT_RESPONSE = 2,
	TETHER_DCE_PT_FAULT = 3,
	TETHER_DCE_PT_BIND = 11,
	TETHER_DCE_PT_BIND_ACK = 12,
	TETHER_DCE_PT_BIND_NAK = 13,
	TETHER_DCE_PT_ALTER_CONTEXT = 14,
	TETHER_DCE_PT_ALTER_CONTEXT_RESP = 15,
	TETHER_DCE_PT_AUTH3 = 16,
	TETHER_DCE_PT_SHUTDOWN = 17,
	TETHER_DCE_PT_CO_CANCEL = 18,
	TETHER_DCE_PT_ORPHANED = 19
};

/* pfc_flags [C706 12.6.3.1, MS-RPCE 2.2.2.3]; PENDING_CANCEL means
 * SUPPORT_HEADER_SIGN on bind, bind_ack and alter_context(_resp). */
#define TETHER_DCE_PFC_FIRST_FRAG      0x01
#define TETHER_DCE_PFC_LAST_FRAG       0x02
#define TETHER_DCE_PFC_PENDING_CANCEL  0x04
#define TETHER_DCE_PFC_RESERVED_1      0x08
#define TETHER_DCE_PFC_CONC_MPX	       0x10
#define TETHER_DCE_PFC_DID_NOT_EXECUTE 0x20
#define TETHER_DCE_PFC_MAYBE	       0x40
#define TETHER_DCE_PFC_OBJECT_UUID     0x80

/* packed_drep[0]: integer representation (high nibble), character
 * representation (low nibble); packed_drep[1]: floating point. */
#define TETHER_DCE_DREP_LE     0x10
#define TETHER_DCE_DREP_BE     0x00
#define TETHER_DCE_DREP_EBCDIC 0x01

#define TETHER_DCE_HDR_LEN	    16
#define TETHER_DCE_AUTH_TRAILER_LEN 8	  /* sec_trailer before auth_value */
#define TETHER_DCE_FRAG_MAX	    65535 /* frag_length is a u16 */
#define TETHER_DCE_FRAG_MIN_RECV    1432  /* C706: every receiver takes this */

/* Common header [C706 12.6.1]. */
struct tether_dce_hdr {
	uint8_t rpc_vers;
	uint8_t rpc_vers_minor;
	uint8_t ptype;
	uint8_t pfc_flags;
	uint8_t drep[4];
	uint16_t frag_length;
	uint16_t auth_length;
	uint32_t call_id;
};

/* Results of one presentation context [C706 12.6.3.1, MS-RPCE 3.3.1.5.3]. */
enum tether_dce_ctx_result_code {
	TETHER_DCE_CTX_ACCEPTANCE = 0,
	TETHER_DCE_CTX_USER_REJECTION = 1,
	TETHER_DCE_CTX_PROVIDER_REJECTION = 2,
	TETHER_DCE_CTX_NEGOTIATE_ACK = 3
};

/* Provider reasons for a rejected context. */
enum tether_dce_provider_reason {
	TETHER_DCE_REASON_NOT_SPECIFIED = 0,
	TETHER_DCE_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED = 1,
	TETHER_DCE_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED = 2,
	TETHER_DCE_REASON_LOCAL_LIMIT_EXCEEDED = 3
};

/* bind_nak reasons [MS-RPCE 2.2.2.5, C706 12.6.3.1]. */
enum tether_dce_nak_reason {
	TETHER_DCE_NAK_NOT_SPECIFIED = 0,
	TETHER_DCE_NAK_TEMPORARY_CONGESTION = 1,
	TETHER_DCE_NAK_LOCAL_LIMIT_EXCEEDED = 2,
	TETHER_DCE_NAK_CALLED_PADDR_UNKNOWN = 3,
	TETHER_DCE_NAK_PROTOCOL_VERSION_NOT_SUPPORTED = 4,
	TETHER_DCE_NAK_DEFAULT_CONTEXT_NOT_SUPPORTED = 5,
	TETHER_DCE_NAK_USER_DATA_NOT_READABLE = 6,
	TETHER_DCE_NAK_NO_PSAP_AVAILABLE = 7,
	TETHER_DCE_NAK_AUTH_TYPE_NOT_RECOGNIZED = 8,
	TETHER_DCE_NAK_INVALID_CHECKSUM = 9
};

/* Fault and status codes [C706 App. N, MS-RPCE 3.1.1.5.5] as an X-macro:
 * name, value. */
#define TETHER_DCE_STATUS_MAP(X)                       \
	X(nca_s_fault_int_div_by_zero, 0x1c000001)     \
	X(nca_s_fault_addr_error, 0x1c000002)          \
	X(nca_s_fault_fp_div_zero, 0x1c000003)         \
	X(nca_s_fault_fp_underflow, 0x1c000004)        \
	X(nca_s_fault_fp_overflow, 0x1c000005)         \
	X(nca_s_fault_invalid_tag, 0x1c000006)         \
	X(nca_s_fault_invalid_bound, 0x1c000007)       \
	X(nca_s_rpc_version_mismatch, 0x1c000008)      \
	X(nca_s_unspec_reject, 0x1c000009)             \
	X(nca_s_bad_actid, 0x1c00000a)                 \
	X(nca_s_who_are_you_failed, 0x1c00000b)        \
	X(nca_s_manager_not_entered, 0x1c00000c)       \
	X(nca_s_fault_cancel, 0x1c00000d)              \
	X(nca_s_fault_ill_inst, 0x1c00000e)            \
	X(nca_s_fault_fp_error, 0x1c00000f)            \
	X(nca_s_fault_int_overflow, 0x1c000010)        \
	X(nca_s_fault_unspec, 0x1c000012)              \
	X(nca_s_fault_remote_comm_failure, 0x1c000013) \
	X(nca_s_fault_pipe_empty, 0x1c000014)          \
	X(nca_s_fault_pipe_closed, 0x1c000015)         \
	X(nca_s_fault_pipe_order, 0x1c000016)          \
	X(nca_s_fault_pipe_discipline, 0x1c000017)     \
	X(nca_s_fault_pipe_comm_error, 0x1c000018)     \
	X(nca_s_fault_pipe_memory, 0x1c000019)         \
	X(nca_s_fault_context_mismatch, 0x1c00001a)    \
	X(nca_s_fault_remote_no_memory, 0x1c00001b)    \
	X(nca_s_invalid_pres_context_id, 0x1c00001c)   \
	X(nca_s_unsupported_authn_level, 0x1c00001d)   \
	X(nca_s_invalid_checksum, 0x1c00001f)          \
	X(nca_s_invalid_crc, 0x1c000020)               \
	X(nca_s_fault_user_defined, 0x1c000021)        \
	X(nca_s_fault_tx_open_failed, 0x1c000022)      \
	X(nca_s_fault_codeset_conv_error, 0x1c000023)  \
	X(nca_s_fault_object_not_found, 0x1c000024)    \
	X(nca_s_fault_no_client_stub, 0x1c000025)      \
	X(nca_s_comm_failure, 0x1c010001)              \
	X(nca_s_op_rng_error, 0x1c010002)              \
	X(nca_s_unk_if, 0x1c010003)                    \
	X(nca_s_wrong_boot_time, 0x1c010006)           \
	X(nca_s_you_crashed, 0x1c010009)               \
	X(nca_s_proto_error, 0x1c01000b)               \
	X(nca_s_out_args_too_big, 0x1c010013)          \
	X(nca_s_server_too_busy, 0x1c010014)           \
	X(nca_s_fault_string_too_long, 0x1c010015)     \
	X(nca_s_unsupported_type, 0x1c010017)          \
	X(nca_s_fault_access_denied, 0x00000005)       \
	X(nca_s_fault_ndr, 0x000006f7)                 \
	X(ept_s_not_registered, 0x16c9a0d6)

enum tether_dce_status {
#define TETHER__DCE_ST_ENUM(name, val) TETHER_DCE_##name = (val),
	TETHER_DCE_STATUS_MAP(TETHER__DCE_ST_ENUM)
#undef TETHER__DCE_ST_ENUM
		TETHER_DCE_STATUS_OK = 0
};

/* Names for logs and tests. Unknown values give "unknown". */
const char *tether_dce_ptype_name(unsigned ptype);
const char *tether_dce_nak_reason_name(unsigned reason);
const char *tether_dce_ctx_result_name(unsigned result);
const char *tether_dce_provider_reason_name(unsigned reason);
const char *tether_dce_status_name(uint32_t status);

/* One presentation context element of a bind / alter_context. */
struct tether_dce_ctx_elem {
	uint16_t p_cont_id;
	uint8_t n_transfer_syn; /* 1..255 */
	struct tether_dce_syntax abstract_syntax;
	const struct tether_dce_syntax *transfer_syntaxes; /* n_transfer_syn */
};

/* One result of a bind_ack / alter_context_resp, in the offered order. */
struct tether_dce_ctx_result {
	uint16_t result; /* enum tether_dce_ctx_result_code */
	uint16_t reason; /* provider reason; BTFN: accepted bits */
	struct tether_dce_syntax transfer_syntax;
};

/* bind (11) and alter_context (14). */
struct tether_dce_bind {
	uint16_t max_xmit_frag;
	uint16_t max_recv_frag;
	uint32_t assoc_group_id;
	uint8_t n_context_elem;
	const struct tether_dce_ctx_elem *ctx; /* n_context_elem */
};

/* bind_ack (12) and alter_context_resp (15). */
struct tether_dce_bind_ack {
	uint16_t max_xmit_frag;
	uint16_t max_recv_frag;
	uint32_t assoc_group_id;
	uint16_t sec_addr_len; /* including the NUL; 0 = none */
	const char *sec_addr;  /* NUL-terminated when sec_addr_len */
	uint8_t n_results;
	const struct tether_dce_ctx_result *results;
};

/* bind_nak (13). */
#define TETHER_DCE_NAK_MAX_VERSIONS 8
struct tether_dce_bind_nak {
	uint16_t reason;    /* enum tether_dce_nak_reason */
	uint8_t n_versions; /* protocol versions supported */
	uint8_t versions[TETHER_DCE_NAK_MAX_VERSIONS][2]; /* major, minor */
};

/* request (0). */
struct tether_dce_request {
	uint32_t alloc_hint;
	uint16_t p_cont_id;
	uint16_t opnum;
	struct tether_dce_uuid object; /* when PFC_OBJECT_UUID */
	const uint8_t *stub;
	size_t stub_len;
};

/* response (2). */
struct tether_dce_response {
	uint32_t alloc_hint;
	uint16_t p_cont_id;
	uint8_t cancel_count;
	const uint8_t *stub;
	size_t stub_len;
};

/* fault (3). */
struct tether_dce_fault {
	uint32_t alloc_hint;
	uint16_t p_cont_id;
	uint8_t cancel_count;
	uint32_t status;     /* enum tether_dce_status or other */
	const uint8_t *stub; /* optional extended error data */
	size_t stub_len;
};

/* The auth_verifier, passed through untouched (we do no auth):
 * sec_trailer fields, then auth_length bytes of credentials. */
struct tether_dce_auth {
	uint8_t type;
	uint8_t level;
	uint8_t pad_length;
	uint8_t reserved;
	uint32_t context_id;
	const uint8_t *value; /* hdr.auth_length bytes */
};

/*
 * A decoded PDU. Pointers (stubs, auth value, sec_addr) point into the
 * decoded bytes; context and result lists live in the caller's arena.
 * To encode, fill hdr (rpc_vers, minor, ptype, pfc_flags, drep, call_id;
 * frag_length and auth_length are computed) and the body for the type.
 */
struct tether_dce_pdu {
	struct tether_dce_hdr hdr;
	struct tether_dce_auth auth; /* valid when hdr.auth_length > 0 */
	union {
		struct tether_dce_bind bind; /* bind, alter_context */
		struct tether_dce_bind_ack
			bind_ack; /* and alter_context_resp */
		struct tether_dce_bind_nak bind_nak;
		struct tether_dce_request request;
		struct tether_dce_response response;
		struct tether_dce_fault fault;
	} u;
};

/*
 * tether_dce_pdu_init - zero *pdu and set a header for ptype: version 5.0,
 * little-endian ASCII IEEE data representation, FIRST|LAST flags.
 */
void tether_dce_pdu_init(struct tether_dce_pdu *pdu /* OUT */, unsigned ptype,
			 uint32_t call_id);

/*
 * tether_dce_hdr_decode - read and check the 16-byte common header.
 * Accepts at least 16 bytes. Returns 0; -TETHER_ETRUNC when len < 16;
 * -TETHER_EBADMSG for an invalid data representation, a frag_length
 * below 16 or an auth_length that cannot fit; -TETHER_EPROTO when the
 * version is not 5.0 or 5.1 — *out is filled in every case but the
 * first, so a server can still answer bind_nak (reason 4) to call_id.
 */
int tether_dce_hdr_decode(const uint8_t *p, size_t len,
			  struct tether_dce_hdr *out /* OUT */);

/*
 * tether_dce_pdu_decode - decode one complete PDU of exactly len bytes
 * (len must equal frag_length). Context/result lists are allocated in
 * arena (needed for bind, alter_context, bind_ack, alter_context_resp;
 * may be NULL otherwise). Pointers in *out point into p.
 * Returns 0, or: the header errors above; -TETHER_EBADMSG for a body
 * that does not match its lengths or counts, reserved PTYPEs, flags that
 * make no sense for the type, or trailing bytes; -TETHER_ENOTSUP for an
 * unknown PTYPE; -TETHER_ENOMEM when the arena is exhausted;
 * -TETHER_EINVAL when a list must be decoded and arena is NULL.
 */
int tether_dce_pdu_decode(const uint8_t *p, size_t len,
			  struct tether_arena *arena,
			  struct tether_dce_pdu *out /* OUT */);

/*
 * tether_dce_pdu_encode - write *pdu into buf[0..cap). frag_length is
 * computed; an auth_verifier (sec_trailer and hdr.auth_length bytes of
 * pdu->auth.value) is appended when hdr.auth_length is non-zero.
 * Integers follow hdr.drep[0]. *len gets the PDU size.
 * Returns 0, -TETHER_ENOSPC when cap is too small, -TETHER_EMSGSIZE
 * when the PDU would pass 65535 bytes, -TETHER_EINVAL for an unknown
 * type or inconsistent lists (NULL list with a non-zero count).
 */
int tether_dce_pdu_encode(const struct tether_dce_pdu *pdu, uint8_t *buf,
			  size_t cap, size_t *len /* OUT */);

/* ------------------------------------------------------------------ */
/* Stream framing, reassembly, fragmentation                           */
/* ------------------------------------------------------------------ */

/*
 * An incremental PDU framer for one byte stream. It collects the header,
 * checks it, rejects a frag_length above max_frag before allocating, and
 * then collects the rest into a buffer it owns (grown to the largest PDU
 * seen, never past max_frag). Errors are sticky: the stream is unusable.
 * Layout public for embedding; fields private.
 */
struct tether_dce_framer {
	uint8_t hdr[TETHER_DCE_HDR_LEN]; /* private */
	uint8_t *buf;			 /* private */
	size_t cap;			 /* private */
	size_t have;			 /* private */
	size_t need;			 /* private: frag_length or 16 */
	size_t max_frag;		 /* private */
	int err;			 /* private: sticky error */
	int ready;			 /* private: PDU handed out */
};

/* Set up a framer accepting PDUs up to max_frag bytes (16..65535);
 * allocates nothing. -TETHER_EINVAL for a bad max_frag. */
int tether_dce_framer_init(struct tether_dce_framer *f, size_t max_frag);
void tether_dce_framer_free(struct tether_dce_framer *f);

/* Change the bound (after a bind fixed max_recv_frag); applies to the
 * next PDU. -TETHER_EINVAL for a bad value. */
int tether_dce_framer_set_max(struct tether_dce_framer *f, size_t max_frag);

/*
 * tether_dce_framer_feed - give the framer len bytes of the stream.
 * Returns >0 when a PDU is complete: the value is how many of the input
 * bytes were used, *pdu / *pdu_len give the PDU (valid until the next
 * call), and the caller feeds the rest again. Returns 0 when all input
 * was taken and more is needed. Returns <0 on error: -TETHER_EMSGSIZE
 * (frag_length over max_frag), the header errors of
 * tether_dce_hdr_decode except -TETHER_EPROTO (a wrong version is framed
 * so the caller can nak it), -TETHER_ENOMEM.
 */
ssize_t tether_dce_framer_feed(struct tether_dce_framer *f, const uint8_t *p,
			       size_t len, const uint8_t **pdu /* OUT */,
			       size_t *pdu_len /* OUT */);

/*
 * Reassembly of a multi-fragment request or response: fragments of one
 * call, in order, first with PFC_FIRST_FRAG, last with PFC_LAST_FRAG.
 * The stub is bounded by max_stub. Layout public; fields read-only.
 */
struct tether_dce_reasm {
	uint8_t *stub;	    /* read-only: the reassembled stub */
	size_t len;	    /* read-only */
	size_t cap;	    /* private */
	size_t max_stub;    /* private */
	int active;	    /* read-only: a call is in progress */
	uint8_t ptype;	    /* read-only: of the call in progress */
	uint32_t call_id;   /* read-only */
	uint16_t p_cont_id; /* read-only */
	uint16_t opnum;	    /* read-only (request) */
};

void tether_dce_reasm_init(struct tether_dce_reasm *r, size_t max_stub);
void tether_dce_reasm_free(struct tether_dce_reasm *r);
/* Drop a call in progress (e.g. after an error answered with a fault). */
void tether_dce_reasm_reset(struct tether_dce_reasm *r);

/*
 * tether_dce_reasm_add - add a decoded request or response fragment.
 * Returns 1 when the call is complete: *stub / *stub_len give the whole
 * stub (pointing into the fragment for a single-fragment call, else into
 * r->stub, valid until the next add or reset). Returns 0 when more
 * fragments are needed. Errors (the call in progress is dropped):
 * -TETHER_EINVAL for another PTYPE; -TETHER_EPROTO for a fragment
 * without FIRST_FRAG when idle, with FIRST_FRAG while a call is in
 * progress, or whose call_id, PTYPE, context or opnum differ;
 * -TETHER_EMSGSIZE past max_stub; -TETHER_ENOMEM.
 */
int tether_dce_reasm_add(struct tether_dce_reasm *r,
			 const struct tether_dce_pdu *frag,
			 const uint8_t **stub /* OUT */,
			 size_t *stub_len /* OUT */);

/*
 * tether_dce_fragment - write the next fragment of a request or response
 * whose template is *tmpl (header, context, opnum, object; its stub and
 * stub_len are the whole stub). *off is the stub offset to continue from
 * (start at 0). Each fragment is at most max_frag bytes; the stub of
 * every fragment but the last is a multiple of 8 bytes; alloc_hint is
 * the stub remaining from this fragment on; flags FIRST/LAST as due.
 * Returns 1 when more fragments follow, 0 after the last; -TETHER_EINVAL
 * (wrong PTYPE, an auth verifier, max_frag too small for 8 stub bytes),
 * -TETHER_ENOSPC.
 */
int tether_dce_fragment(const struct tether_dce_pdu *tmpl, size_t max_frag,
			size_t *off /* IN/OUT */, uint8_t *buf, size_t cap,
			size_t *len /* OUT */);

/* ------------------------------------------------------------------ */
/* Presentation context negotiation                                    */
/* ------------------------------------------------------------------ */

/*
 * tether_dce_negotiate - the bind_ack results for a bind's contexts.
 * ifaces lists the abstract syntaxes we host (an offered one matches a
 * hosted one with the same UUID and major version and a minor version
 * not above ours [C706 12.6.4]). Per element, in order: a BTFN element
 * gets negotiate_ack with reason = requested bits & btfn_supported; an
 * unhosted interface provider_rejection / abstract syntax not supported;
 * a hosted one acceptance with NDR 2.0 when offered, else
 * provider_rejection / proposed transfer syntaxes not supported.
 * Rejected and BTFN results carry a zero transfer syntax. results must
 * hold n_ctx entries. *n_accepted (may be NULL) counts acceptances.
 * Returns 0, or -TETHER_EINVAL for NULL lists with non-zero counts.
 */
int tether_dce_negotiate(const struct tether_dce_ctx_elem *ctx, size_t n_ctx,
			 const struct tether_dce_syntax *ifaces,
			 size_t n_ifaces, uint8_t btfn_supported,
			 struct tether_dce_ctx_result *results /* OUT */,
			 size_t *n_accepted /* OUT */);

/* ------------------------------------------------------------------ */
/* NDR 2.0 subset                                                      */
/* ------------------------------------------------------------------ */

/*
 * An NDR reader over a caller's stub. Alignment is relative to p (the
 * stub start). Integers follow the data representation. Every get checks
 * the bytes remaining first and returns -TETHER_ETRUNC when short; the
 * position does not move on error.
 */
struct tether_dce_ndr_reader {
	const uint8_t *p; /* read-only */
	size_t len;	  /* read-only */
	size_t pos;	  /* read-only */
	int big_endian;	  /* read-only */
};

/* An NDR writer into a caller's buffer; -TETHER_ENOSPC when it is full.
 * Unique pointers get referent ids next_ref, next_ref + ref_step, ...
 * (set them after init to match a peer; the default is 0x00020000 step
 * 4, as Windows numbers them). */
struct tether_dce_ndr_writer {
	uint8_t *p;	   /* read-only */
	size_t cap;	   /* read-only */
	size_t pos;	   /* read-only */
	int big_endian;	   /* read-only */
	uint32_t next_ref; /* public */
	uint32_t ref_step; /* public */
};

/* A context handle: 20 bytes on the wire; all zero is the NULL handle. */
struct tether_dce_ctx_handle {
	uint32_t attributes;
	struct tether_dce_uuid uuid;
};

#define TETHER_DCE_CTX_HANDLE_LEN 20

void tether_dce_ndr_reader_init(struct tether_dce_ndr_reader *r,
				const uint8_t *p, size_t len, uint8_t drep0);
void tether_dce_ndr_writer_init(struct tether_dce_ndr_writer *w, uint8_t *p,
				size_t cap, uint8_t drep0);

/* Bytes left to read. */
size_t tether_dce_ndr_remaining(const struct tether_dce_ndr_reader *r);

/* Skip to / pad to a multiple of align (1, 2, 4 or 8). The writer pads
 * with zeros; the reader ignores what the padding holds. */
int tether_dce_ndr_get_align(struct tether_dce_ndr_reader *r, size_t align);
int tether_dce_ndr_put_align(struct tether_dce_ndr_writer *w, size_t align);

/* Aligned integers. */
int tether_dce_ndr_get_u8(struct tether_dce_ndr_reader *r,
			  uint8_t *v /* OUT */);
int tether_dce_ndr_get_u16(struct tether_dce_ndr_reader *r,
			   uint16_t *v /* OUT */);
int tether_dce_ndr_get_u32(struct tether_dce_ndr_reader *r,
			   uint32_t *v /* OUT */);
int tether_dce_ndr_get_u64(struct tether_dce_ndr_reader *r,
			   uint64_t *v /* OUT */);
int tether_dce_ndr_put_u8(struct tether_dce_ndr_writer *w, uint8_t v);
int tether_dce_ndr_put_u16(struct tether_dce_ndr_writer *w, uint16_t v);
int tether_dce_ndr_put_u32(struct tether_dce_ndr_writer *w, uint32_t v);
int tether_dce_ndr_put_u64(struct tether_dce_ndr_writer *w, uint64_t v);

/* n raw bytes; the reader's *out points into the stub. */
int tether_dce_ndr_get_bytes(struct tether_dce_ndr_reader *r, size_t n,
			     const uint8_t **out /* OUT */);
int tether_dce_ndr_put_bytes(struct tether_dce_ndr_writer *w, const void *p,
			     size_t n);

/* UUID (4-aligned struct) and context handle (20 bytes, 4-aligned). */
int tether_dce_ndr_get_uuid(struct tether_dce_ndr_reader *r,
			    struct tether_dce_uuid *u /* OUT */);
int tether_dce_ndr_put_uuid(struct tether_dce_ndr_writer *w,
			    const struct tether_dce_uuid *u);
int tether_dce_ndr_get_ctx_handle(struct tether_dce_ndr_reader *r,
				  struct tether_dce_ctx_handle *h /* OUT */);
int tether_dce_ndr_put_ctx_handle(struct tether_dce_ndr_writer *w,
				  const struct tether_dce_ctx_handle *h);
int tether_dce_ctx_handle_is_null(const struct tether_dce_ctx_handle *h);

/*
 * Unique and full pointers: a u32 referent id, 0 for NULL. The reader
 * gives the id (any non-zero value is valid; a full pointer's aliasing
 * is the caller's to track by id). put_ptr writes the next referent id
 * when present, else 0; put_referent writes a given id (full pointers).
 */
int tether_dce_ndr_get_ptr(struct tether_dce_ndr_reader *r,
			   uint32_t *referent /* OUT */);
int tether_dce_ndr_put_ptr(struct tether_dce_ndr_writer *w, int present);
int tether_dce_ndr_put_referent(struct tether_dce_ndr_writer *w, uint32_t id);

/*
 * Array headers. Conformance: max_count (u32). Variance: offset and
 * actual_count (u32 each). The reader checks max_count <= max, offset +
 * actual_count <= the given max_count, and that count * elem_size bytes
 * can still be present (elem_size 0 skips that: a conformant-varying
 * array's max_count may pass what follows; its variance is checked),
 * before the caller allocates anything:
 * -TETHER_EMSGSIZE past max, -TETHER_EBADMSG for inconsistent counts,
 * -TETHER_ETRUNC when the elements cannot fit.
 */
int tether_dce_ndr_get_conformance(struct tether_dce_ndr_reader *r,
				   uint32_t max, size_t elem_size,
				   uint32_t *max_count /* OUT */);
int tether_dce_ndr_get_variance(struct tether_dce_ndr_reader *r,
				uint32_t max_count, size_t elem_size,
				uint32_t *offset /* OUT */,
				uint32_t *actual /* OUT */);
int tether_dce_ndr_put_conformance(struct tether_dce_ndr_writer *w,
				   uint32_t max_count);
int tether_dce_ndr_put_variance(struct tether_dce_ndr_writer *w,
				uint32_t offset, uint32_t actual);

/*
 * Strings of 8-bit characters, NUL included in the counts. A conformant
 * varying string ([string] char *) carries max_count, offset, actual;
 * a varying one ([string] char s[N]) only offset and actual, bounded by
 * the array size N. The reader requires offset 0, 1 <= actual <= bound,
 * and the last character to be the only NUL; *s points into the stub,
 * *len excludes the NUL. Errors as the array headers.
 */
int tether_dce_ndr_get_string(struct tether_dce_ndr_reader *r, uint32_t max,
			      const char **s /* OUT */, size_t *len /* OUT */);
int tether_dce_ndr_get_vstring(struct tether_dce_ndr_reader *r, uint32_t size,
			       const char **s /* OUT */, size_t *len /* OUT */);
int tether_dce_ndr_put_string(struct tether_dce_ndr_writer *w, const char *s,
			      size_t len);
int tether_dce_ndr_put_vstring(struct tether_dce_ndr_writer *w, const char *s,
			       size_t len, uint32_t size);

/* ------------------------------------------------------------------ */
/* Protocol towers [C706 App. L, App. I]                               */
/* ------------------------------------------------------------------ */

/* Floor protocol identifiers. */
#define TETHER_DCE_PROT_UUID	   0x0d /* interface / transfer syntax */
#define TETHER_DCE_PROT_NCACN	   0x0b /* RPC connection-oriented */
#define TETHER_DCE_PROT_NCADG	   0x0a
#define TETHER_DCE_PROT_NCALRPC	   0x0c
#define TETHER_DCE_PROT_TCP	   0x07
#define TETHER_DCE_PROT_UDP	   0x08
#define TETHER_DCE_PROT_IP	   0x09
#define TETHER_DCE_PROT_NAMED_PIPE 0x0f
#define TETHER_DCE_PROT_NETBIOS	   0x11
#define TETHER_DCE_PROT_HTTP	   0x1f

#define TETHER_DCE_TOWER_MAX_FLOORS 16
#define TETHER_DCE_TOWER_MAX_LEN    1024
#define TETHER_DCE_TOWER_TCP_LEN    75 /* the 5-floor ncacn_ip_tcp tower */

struct tether_dce_floor {
	uint8_t protocol; /* first LHS octet */
	uint16_t lhs_len;
	const uint8_t *lhs; /* lhs_len bytes, protocol included */
	uint16_t rhs_len;
	const uint8_t *rhs;
};

/* What a parsed tower says. Flags tell which fields are set. */
#define TETHER_DCE_TOWER_HAS_IFACE 0x01
#define TETHER_DCE_TOWER_HAS_XFER  0x02
#define TETHER_DCE_TOWER_HAS_NCACN 0x04
#define TETHER_DCE_TOWER_HAS_TCP   0x08
#define TETHER_DCE_TOWER_HAS_IP	   0x10

struct tether_dce_tower {
	uint16_t n_floors;
	struct tether_dce_floor floors[TETHER_DCE_TOWER_MAX_FLOORS];
	unsigned has;			/* TETHER_DCE_TOWER_HAS_* */
	struct tether_dce_syntax iface; /* floor 1 */
	struct tether_dce_syntax xfer;	/* floor 2 */
	uint16_t ncacn_minor;		/* floor 3 RHS */
	uint16_t port;			/* host order */
	uint8_t ipv4[4];		/* network order */
};

/*
 * tether_dce_tower_parse - parse tower octets (twr_t's tower_octet_string).
 * The two first floors must be UUID floors (interface, transfer syntax);
 * known floors must have their exact sizes; unknown protocols are kept
 * in floors[] and skipped. Pointers point into p.
 * Returns 0; -TETHER_ETRUNC when a floor runs past len; -TETHER_EBADMSG
 * for a floor count of 0 or over the maximum, an empty LHS, a known floor
 * of the wrong size, or bytes after the last floor; -TETHER_EMSGSIZE when
 * len passes TETHER_DCE_TOWER_MAX_LEN.
 */
int tether_dce_tower_parse(const uint8_t *p, size_t len,
			   struct tether_dce_tower *out /* OUT */);

/*
 * tether_dce_tower_build_tcp - the 5-floor ncacn_ip_tcp tower: interface,
 * transfer syntax, RPC connection-oriented (minor 0), TCP port, IPv4
 * address (network order). *len gets 75. Returns 0 or -TETHER_ENOSPC.
 */
int tether_dce_tower_build_tcp(const struct tether_dce_syntax *iface,
			       const struct tether_dce_syntax *xfer,
			       uint16_t port, const uint8_t ipv4[4],
			       uint8_t *buf, size_t cap, size_t *len /* OUT */);

/* ------------------------------------------------------------------ */
/* Endpoint mapper stubs (e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0)    */
/* ------------------------------------------------------------------ */

enum tether_dce_epm_opnum {
	TETHER_DCE_EPM_INSERT = 0,
	TETHER_DCE_EPM_DELETE = 1,
	TETHER_DCE_EPM_LOOKUP = 2,
	TETHER_DCE_EPM_MAP = 3,
	TETHER_DCE_EPM_LOOKUP_HANDLE_FREE = 4,
	TETHER_DCE_EPM_INQ_OBJECT = 5,
	TETHER_DCE_EPM_MGMT_DELETE = 6
};

/* inquiry_type and vers_option of ept_lookup (Windows SDK values). */
#define TETHER_DCE_EPM_INQ_ALL	       0
#define TETHER_DCE_EPM_INQ_IF	       1
#define TETHER_DCE_EPM_INQ_OBJ	       2
#define TETHER_DCE_EPM_INQ_BOTH	       3
#define TETHER_DCE_EPM_VERS_ALL	       1
#define TETHER_DCE_EPM_VERS_COMPATIBLE 2
#define TETHER_DCE_EPM_VERS_EXACT      3
#define TETHER_DCE_EPM_VERS_MAJOR_ONLY 4
#define TETHER_DCE_EPM_VERS_UPTO       5

#define TETHER_DCE_EPM_MAX_ENTS	       500 /* range(0,500) on max_ents/towers */
#define TETHER_DCE_EPM_ANNOTATION_SIZE 64  /* char annotation[64] */

/* A twr_t: the tower octets (point into the stub when decoded). */
struct tether_dce_epm_twr {
	const uint8_t *data;
	uint32_t len;
};

/* ept_entry_t. annotation: NUL-terminated, at most 63 characters. */
struct tether_dce_epm_entry {
	struct tether_dce_uuid object;
	int has_tower;
	struct tether_dce_epm_twr tower;
	const char *annotation;
};

/* ept_map [in] */
struct tether_dce_epm_map_req {
	int has_object;
	struct tether_dce_uuid object;
	int has_tower;
	struct tether_dce_epm_twr tower;
	struct tether_dce_ctx_handle handle;
	uint32_t max_towers;
};

/* ept_map [out]: towers is num_towers long; max_count is the array's
 * conformance (the request's max_towers). */
struct tether_dce_epm_map_resp {
	struct tether_dce_ctx_handle handle;
	uint32_t num_towers;
	uint32_t max_count;
	const struct tether_dce_epm_twr *towers;
	uint32_t status;
};

/* ept_lookup [in] */
struct tether_dce_epm_lookup_req {
	uint32_t inquiry_type;
	int has_object;
	struct tether_dce_uuid object;
	int has_ifid;
	struct tether_dce_syntax ifid;
	uint32_t vers_option;
	struct tether_dce_ctx_handle handle;
	uint32_t max_ents;
};

/* ept_lookup [out] */
struct tether_dce_epm_lookup_resp {
	struct tether_dce_ctx_handle handle;
	uint32_t num_ents;
	uint32_t max_count; /* the request's max_ents */
	const struct tether_dce_epm_entry *entries;
	uint32_t status;
};

/* ept_insert / ept_delete [in] (replace only for insert). */
struct tether_dce_epm_insert_req {
	uint32_t num_ents;
	const struct tether_dce_epm_entry *entries;
	uint32_t replace;
};

/*
 * Request decoders (server side) and response encoders, plus the
 * reverse pair for clients and tests. Decoders read a whole stub from r
 * (up to 7 bytes of trailing padding tolerated), allocate arrays in
 * arena, and point towers and strings into the stub. They return 0,
 * -TETHER_ETRUNC (stub too short: answer nca_s_fault_ndr),
 * -TETHER_EBADMSG (inconsistent counts, a tower_length that disagrees
 * with its conformance, trailing bytes), -TETHER_EMSGSIZE (max_ents /
 * max_towers / num_ents over 500, a tower over TETHER_DCE_TOWER_MAX_LEN),
 * -TETHER_ENOMEM. Encoders return 0, -TETHER_ENOSPC, or -TETHER_EINVAL
 * (num over max_count, an annotation of 64 bytes or more).
 */
int tether_dce_epm_map_req_decode(struct tether_dce_ndr_reader *r,
				  struct tether_dce_epm_map_req *out /* OUT */);
int tether_dce_epm_map_req_encode(struct tether_dce_ndr_writer *w,
				  const struct tether_dce_epm_map_req *in);
int tether_dce_epm_map_resp_encode(struct tether_dce_ndr_writer *w,
				   const struct tether_dce_epm_map_resp *in);
int
tether_dce_epm_map_resp_decode(struct tether_dce_ndr_reader *r,
			       struct tether_arena *arena,
			       struct tether_dce_epm_map_resp *out /* OUT */);

int tether_dce_epm_lookup_req_decode(
	struct tether_dce_ndr_reader *r,
	struct tether_dce_epm_lookup_req *out /* OUT */);
int
tether_dce_epm_lookup_req_encode(struct tether_dce_ndr_writer *w,
				 const struct tether_dce_epm_lookup_req *in);
int
tether_dce_epm_lookup_resp_encode(struct tether_dce_ndr_writer *w,
				  const struct tether_dce_epm_lookup_resp *in);
int tether_dce_epm_lookup_resp_decode(
	struct tether_dce_ndr_reader *r, struct tether_arena *arena,
	struct tether_dce_epm_lookup_resp *out /* OUT */);

/* ept_lookup_handle_free: [in,out] handle; [out] status. */
int tether_dce_epm_handle_free_req_decode(
	struct tether_dce_ndr_reader *r,
	struct tether_dce_ctx_handle *h /* OUT */);
int
tether_dce_epm_handle_free_resp_encode(struct tether_dce_ndr_writer *w,
				       const struct tether_dce_ctx_handle *h,
				       uint32_t status);

/* ept_insert (with replace) and ept_delete (without); both answer only
 * a status, which tether_dce_epm_status_encode writes. */
int tether_dce_epm_insert_req_decode(
	struct tether_dce_ndr_reader *r, struct tether_arena *arena,
	struct tether_dce_epm_insert_req *out /* OUT */);
int tether_dce_epm_delete_req_decode(
	struct tether_dce_ndr_reader *r, struct tether_arena *arena,
	struct tether_dce_epm_insert_req *out /* OUT */);
int tether_dce_epm_insert_req_encode(struct tether_dce_ndr_writer *w,
				     const struct tether_dce_epm_insert_req *in,
				     int with_replace);
int tether_dce_epm_status_encode(struct tether_dce_ndr_writer *w,
				 uint32_t status);

/* ------------------------------------------------------------------ */
/* Server runtime (on lib/core's loop)                                 */
/* ------------------------------------------------------------------ */

/*
 * A DCE/RPC connection-oriented server: it hosts interfaces on TCP (and
 * AF_UNIX) listeners and drives every connection through framing, bind /
 * alter_context negotiation, request reassembly, dispatch to the
 * interface's opnum table, and response fragmentation to the client's
 * max_recv_frag. One call at a time per connection; handlers run on the
 * loop's thread and must not block. See lib/dce/server.c for the rules
 * it applies to faults, naks and association groups.
 */
struct tether_dce_server;
struct tether_dce_iface;

/* What a handler sees of one call. Fields are read-only but out and
 * fault_status, which the handler sets. */
struct tether_dce_call {
	const struct tether_dce_iface *iface;
	uint16_t opnum;
	uint32_t call_id;
	int has_object;
	struct tether_dce_uuid object;
	const uint8_t *stub; /* the reassembled request stub */
	size_t stub_len;
	uint8_t drep0;		 /* the caller's data representation */
	uint32_t assoc_group_id; /* the association the call came on */
	int local;		 /* came through an AF_UNIX listener */
	long peer_uid; /* a local caller's uid (SO_PEERCRED), else -1 */
	struct tether_addr local_addr; /* where the connection arrived
					* (AF_UNSPEC for AF_UNIX) */
	struct tether_addr peer_addr;
	struct tether_arena *arena;	    /* per call, reset after it */
	struct tether_dce_ndr_writer *out;  /* the response stub */
	uint32_t fault_status; /* non-zero: answer this fault instead */
	void *iface_ud;	       /* the interface's user data */
};

/*
 * A handler: read call->stub, write the response stub with call->out,
 * return 0. To answer a fault set call->fault_status (and return 0).
 * A negative return answers a fault too: -TETHER_ETRUNC, -TETHER_EBADMSG
 * and -TETHER_EMSGSIZE give nca_s_fault_ndr (the stub did not decode),
 * -TETHER_ENOSPC nca_s_out_args_too_big, -TETHER_ENOMEM
 * nca_s_fault_remote_no_memory, anything else nca_s_fault_unspec.
 */
typedef int tether_dce_op_fn(struct tether_dce_call *call);

/* An interface: abstract syntax and its opnum table (borrowed: it must
 * outlive the server). A NULL entry is an opnum not implemented. */
struct tether_dce_iface {
	struct tether_dce_syntax syntax;
	tether_dce_op_fn *const *ops;
	uint16_t n_ops;
	void *ud; /* given to handlers as call->iface_ud */
};

/* Called when the last connection of an association group goes away
 * (so context handles that belong to it can be dropped). */
typedef void tether_dce_assoc_gone_fn(uint32_t assoc_group_id, void *ud);

/* Limits and options; zero fields take the default in brackets. */
struct tether_dce_server_config {
	unsigned max_conns;    /* open connections [1024] */
	size_t max_frag;       /* fragment size we receive/send [5840] */
	size_t max_stub;       /* reassembled request stub [65536] */
	size_t max_resp_stub;  /* response stub [262144] */
	size_t max_out;	       /* unsent bytes per connection [1 MiB] */
	unsigned idle_ms;      /* idle connection timeout [120000] */
	unsigned max_contexts; /* presentation contexts per conn. [16] */
	uint8_t btfn;	       /* BTFN bits we acknowledge [0x03] */
	tether_dce_assoc_gone_fn *assoc_gone;
	void *assoc_gone_ud;
};

/* Defaults, exported for tests and documentation. */
#define TETHER_DCE_SRV_MAX_CONNS     1024u
#define TETHER_DCE_SRV_MAX_FRAG	     5840u
#define TETHER_DCE_SRV_MAX_STUB	     65536u
#define TETHER_DCE_SRV_MAX_RESP_STUB 262144u
#define TETHER_DCE_SRV_MAX_OUT	     (1024u * 1024u)
#define TETHER_DCE_SRV_IDLE_MS	     120000u
#define TETHER_DCE_SRV_MAX_CONTEXTS  16u
#define TETHER_DCE_SRV_MAX_IFACES    64u

/* Counters, for logs and tests. */
struct tether_dce_server_stats {
	uint64_t accepted;   /* connections taken */
	uint64_t refused;    /* connections closed at once: over max_conns */
	uint64_t closed;     /* connections closed (any reason) */
	uint64_t idle_closed;
	uint64_t calls;	     /* requests dispatched to a handler */
	uint64_t faults;     /* fault PDUs sent */
	uint64_t naks;	     /* bind_nak PDUs sent */
	uint64_t proto_errors; /* connections dropped for a protocol error */
	unsigned conns;	       /* open now */
	unsigned groups;       /* association groups alive now */
};

/*
 * tether_dce_server_new - a server on loop, cfg may be NULL (defaults;
 * copied). Returns 0 and *out, -TETHER_EINVAL (max_frag outside
 * 1432..65535, max_stub 0) or -TETHER_ENOMEM. Free with
 * tether_dce_server_free (which closes every listener and connection).
 */
int tether_dce_server_new(struct tether_loop *loop,
			  const struct tether_dce_server_config *cfg,
			  struct tether_dce_server **out /* OUT */);
void tether_dce_server_free(struct tether_dce_server *srv);

/* Host an interface (borrowed). Returns 0, -TETHER_EEXIST (same UUID
 * and major version), -TETHER_ENOSPC (TETHER_DCE_SRV_MAX_IFACES),
 * -TETHER_EINVAL. */
int tether_dce_server_add_iface(struct tether_dce_server *srv,
				const struct tether_dce_iface *iface);

/*
 * tether_dce_server_listen - listen on addr (IPv4, IPv6 (v6only) or an
 * AF_UNIX path, which is unlinked first and made mode 0666 so local
 * services can register). *port (may be NULL) gets the bound TCP port
 * (useful with port 0). Returns 0 or a mapped errno (-TETHER_EADDRINUSE
 * ...), -TETHER_ENOSPC past 8 listeners.
 */
int tether_dce_server_listen(struct tether_dce_server *srv,
			     const struct tether_addr *addr,
			     int *port /* OUT */);

/*
 * tether_dce_server_adopt - serve an already connected stream socket
 * (e.g. one end of a socketpair in tests); the server owns fd from now
 * on, even on error. local: treat the peer as local (AF_UNIX rules).
 * Returns 0, -TETHER_EBUSY (max_conns reached; fd closed) or
 * -TETHER_ENOMEM.
 */
int tether_dce_server_adopt(struct tether_dce_server *srv, int fd, int local);

/* Copy the counters. */
void tether_dce_server_stats(const struct tether_dce_server *srv,
			     struct tether_dce_server_stats *st /* OUT */);

/* ------------------------------------------------------------------ */
/* A small blocking client (tests, the sample service, benchmarks)     */
/* ------------------------------------------------------------------ */

/*
 * A blocking client on a connected stream socket: one bind, then calls
 * one at a time. Requests are fragmented to the server's max_recv_frag
 * and responses reassembled. Not for use inside an event loop.
 */
struct tether_dce_client;

/*
 * tether_dce_client_bind - bind iface (NDR 2.0) on the connected socket
 * fd (borrowed: the caller closes it after tether_dce_client_free).
 * assoc_group_id 0 asks for a new group. timeout_ms bounds each wait.
 * Returns 0 and *out; -TETHER_ECONNREFUSED when the server rejected the
 * context or sent bind_nak (*status, may be NULL, gets the reason);
 * -TETHER_EPROTO/-TETHER_EBADMSG for an unexpected answer;
 * -TETHER_ETIMEDOUT, -TETHER_EOF, a mapped errno, -TETHER_ENOMEM.
 */
int tether_dce_client_bind(int fd, const struct tether_dce_syntax *iface,
			   uint32_t assoc_group_id, int timeout_ms,
			   struct tether_dce_client **out /* OUT */,
			   uint32_t *status /* OUT */);
void tether_dce_client_free(struct tether_dce_client *c);

/* The association group the server gave us. */
uint32_t tether_dce_client_assoc_group(const struct tether_dce_client *c);

/*
 * tether_dce_client_call - send opnum with stub (object may be NULL),
 * wait for the answer. On a response, *resp / *resp_len give its stub
 * (owned by c, valid until the next call) and *fault is 0; on a fault
 * PDU returns 0 with *fault = its status and an empty stub. Errors as
 * for bind, and -TETHER_EMSGSIZE for a response over 1 MiB.
 */
int tether_dce_client_call(struct tether_dce_client *c, uint16_t opnum,
			   const struct tether_dce_uuid *object,
			   const uint8_t *stub, size_t stub_len,
			   const uint8_t **resp /* OUT */,
			   size_t *resp_len /* OUT */,
			   uint32_t *fault /* OUT */);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_DCE_H */
