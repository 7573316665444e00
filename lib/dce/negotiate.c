/*
 * negotiate.c - presentation context negotiation as a pure function: a
 * bind's (or alter_context's) context list and the interfaces we host in,
 * the bind_ack result list out [C706 12.6.4.4, MS-RPCE 3.3.1.5.3/5.6].
 * We speak NDR 2.0 only: NDR64 and anything else is refused per element.
 */
#include "dce/dce_int.h"

static int
hosted(const struct tether_dce_syntax *want,
       const struct tether_dce_syntax *ifaces, size_t n)
{
	size_t i;

	/* C706: same UUID and major version; the server's minor version
	 * must be at least the client's. */
	for (i = 0; i < n; i++)
		if (tether_dce_uuid_equal(&want->uuid, &ifaces[i].uuid) &&
		    want->vers_major == ifaces[i].vers_major &&
		    want->vers_minor <= ifaces[i].vers_minor)
			return 1;
	return 0;
}

static int
is_ndr20(const struct tether_dce_syntax *s)
{
	return tether_dce_uuid_equal(&s->uuid, &tether_dce_ndr20.uuid) &&
	       s->vers_major == 2 && s->vers_minor == 0;
}

int
tether_dce_negotiate(const struct tether_dce_ctx_elem *ctx, size_t n_ctx,
		     const struct tether_dce_syntax *ifaces, size_t n_ifaces,
		     uint8_t btfn_supported,
		     struct tether_dce_ctx_result *results, size_t *n_accepted)
{
	size_t i, j, accepted = 0;

	if ((n_ctx && (ctx == NULL || results == NULL)) ||
	    (n_ifaces && ifaces == NULL))
		return -TETHER_EINVAL;
	for (i = 0; i < n_ctx; i++) {
		const struct tether_dce_ctx_elem *c = &ctx[i];
		struct tether_dce_ctx_result *r = &results[i];
		uint8_t bits;
		int btfn = 0;

		memset(r, 0, sizeof(*r));
		if (c->n_transfer_syn && c->transfer_syntaxes == NULL)
			return -TETHER_EINVAL;
		for (j = 0; j < c->n_transfer_syn; j++) {
			if (tether_dce_syntax_is_btfn(&c->transfer_syntaxes[j],
						      &bits)) {
				btfn = 1;
				break;
			}
		}
		if (btfn) {
			/* MS-RPCE 3.3.1.5.3: the reason field carries the
			 * features both sides support. Never a usable
			 * context. */
			r->result = TETHER_DCE_CTX_NEGOTIATE_ACK;
			r->reason = bits & btfn_supported;
			continue;
		}
		r->result = TETHER_DCE_CTX_PROVIDER_REJECTION;
		if (!hosted(&c->abstract_syntax, ifaces, n_ifaces)) {
			r->reason =
				TETHER_DCE_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED;
			continue;
		}
		r->reason = TETHER_DCE_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED;
		for (j = 0; j < c->n_transfer_syn; j++) {
			if (is_ndr20(&c->transfer_syntaxes[j])) {
				r->result = TETHER_DCE_CTX_ACCEPTANCE;
				r->reason = TETHER_DCE_REASON_NOT_SPECIFIED;
				r->transfer_syntax = tether_dce_ndr20;
				accepted++;
				break;
			}
		}
	}
	if (n_accepted != NULL)
		*n_accepted = accepted;
	return 0;
}
