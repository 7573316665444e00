/*
 * epm.c - the endpoint mapper's stubs [C706 App. O, MS-RPCE 2.2.1.2]:
 * ept_insert, ept_delete, ept_lookup, ept_map and ept_lookup_handle_free
 * as NDR codecs. Top-level pointees follow their pointer at once;
 * pointees embedded in arrays (the towers of ept_entry_t and ITowers) are
 * deferred until after the whole array, in element order.
 */
#include "dce/dce_int.h"

#define ENTRY_MIN_WIRE 28 /* uuid, tower ptr, variance: at least */

/* The end of a stub: alignment padding may trail, nothing else. */
static int
stub_end(const struct tether_dce_ndr_reader *r)
{
	return tether_dce_ndr_remaining(r) < 8 ? 0 : -TETHER_EBADMSG;
}

/* twr_t: conformance (max_count), tower_length, octets; max_count and
 * tower_length must agree. */
static int
get_twr(struct tether_dce_ndr_reader *r, struct tether_dce_epm_twr *t)
{
	uint32_t mc, tl;
	int rc;

	rc = tether_dce_ndr_get_conformance(r, TETHER_DCE_TOWER_MAX_LEN, 1,
					    &mc);
	if (rc < 0)
		return rc;
	rc = tether_dce_ndr_get_u32(r, &tl);
	if (rc < 0)
		return rc;
	if (tl != mc)
		return -TETHER_EBADMSG;
	rc = tether_dce_ndr_get_bytes(r, tl, &t->data);
	if (rc < 0)
		return rc;
	t->len = tl;
	return 0;
}

static int
put_twr(struct tether_dce_ndr_writer *w, const struct tether_dce_epm_twr *t)
{
	int rc;

	if (t->len > TETHER_DCE_TOWER_MAX_LEN || (t->len && t->data == NULL))
		return -TETHER_EINVAL;
	rc = tether_dce_ndr_put_conformance(w, t->len);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, t->len);
	if (rc == 0)
		rc = tether_dce_ndr_put_bytes(w, t->data, t->len);
	return rc;
}

/* A unique pointer to a UUID, pointee inline (top level). */
static int
get_uuid_ptr(struct tether_dce_ndr_reader *r, int *has,
	     struct tether_dce_uuid *u)
{
	uint32_t ref;
	int rc = tether_dce_ndr_get_ptr(r, &ref);

	if (rc < 0)
		return rc;
	*has = ref != 0;
	memset(u, 0, sizeof(*u));
	return ref ? tether_dce_ndr_get_uuid(r, u) : 0;
}

static int
put_uuid_ptr(struct tether_dce_ndr_writer *w, int has,
	     const struct tether_dce_uuid *u)
{
	int rc = tether_dce_ndr_put_ptr(w, has);

	if (rc == 0 && has)
		rc = tether_dce_ndr_put_uuid(w, u);
	return rc;
}

/* ept_entry_t without its deferred tower; *ref gets the tower's id. */
static int
get_entry(struct tether_dce_ndr_reader *r, struct tether_dce_epm_entry *e,
	  uint32_t *ref)
{
	size_t len;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = tether_dce_ndr_get_uuid(r, &e->object);
	if (rc == 0)
		rc = tether_dce_ndr_get_ptr(r, ref);
	if (rc == 0)
		rc = tether_dce_ndr_get_vstring(r,
						TETHER_DCE_EPM_ANNOTATION_SIZE,
						&e->annotation, &len);
	e->has_tower = *ref != 0;
	return rc;
}

static int
put_entry(struct tether_dce_ndr_writer *w, const struct tether_dce_epm_entry *e)
{
	const char *a = e->annotation ? e->annotation : "";
	size_t n = strnlen(a, TETHER_DCE_EPM_ANNOTATION_SIZE);
	int rc;

	rc = tether_dce_ndr_put_uuid(w, &e->object);
	if (rc == 0)
		rc = tether_dce_ndr_put_ptr(w, e->has_tower);
	if (rc == 0)
		rc = tether_dce_ndr_put_vstring(w, a, n,
						TETHER_DCE_EPM_ANNOTATION_SIZE);
	return rc;
}

/* The entries of a (conformant or conformant-varying) ept_entry_t array
 * and then their deferred towers. */
static int
get_entries(struct tether_dce_ndr_reader *r, struct tether_arena *arena,
	    uint32_t n, const struct tether_dce_epm_entry **out)
{
	struct tether_dce_epm_entry *e;
	uint32_t i, ref;
	int rc;

	*out = NULL;
	if (n > tether_dce_ndr_remaining(r) / ENTRY_MIN_WIRE)
		return -TETHER_ETRUNC;
	if (arena == NULL)
		return -TETHER_EINVAL;
	e = tether_arena_alloc(arena, (size_t)n * sizeof(*e));
	if (e == NULL)
		return -TETHER_ENOMEM;
	for (i = 0; i < n; i++) {
		rc = get_entry(r, &e[i], &ref);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		if (!e[i].has_tower)
			continue;
		rc = get_twr(r, &e[i].tower);
		if (rc < 0)
			return rc;
	}
	*out = e;
	return 0;
}

static int
put_entries(struct tether_dce_ndr_writer *w,
	    const struct tether_dce_epm_entry *e, uint32_t n)
{
	uint32_t i;
	int rc;

	if (n && e == NULL)
		return -TETHER_EINVAL;
	for (i = 0; i < n; i++) {
		if (e[i].annotation != NULL &&
		    strnlen(e[i].annotation, TETHER_DCE_EPM_ANNOTATION_SIZE) >=
			    TETHER_DCE_EPM_ANNOTATION_SIZE)
			return -TETHER_EINVAL;
		rc = put_entry(w, &e[i]);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		if (!e[i].has_tower)
			continue;
		rc = put_twr(w, &e[i].tower);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
tether_dce_epm_map_req_decode(struct tether_dce_ndr_reader *r,
			      struct tether_dce_epm_map_req *out)
{
	uint32_t ref;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = get_uuid_ptr(r, &out->has_object, &out->object);
	if (rc == 0)
		rc = tether_dce_ndr_get_ptr(r, &ref);
	if (rc == 0 && ref != 0) {
		out->has_tower = 1;
		rc = get_twr(r, &out->tower);
	}
	if (rc == 0)
		rc = tether_dce_ndr_get_ctx_handle(r, &out->handle);
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &out->max_towers);
	if (rc < 0)
		return rc;
	if (out->max_towers > TETHER_DCE_EPM_MAX_ENTS)
		return -TETHER_EMSGSIZE;
	return stub_end(r);
}

int
tether_dce_epm_map_req_encode(struct tether_dce_ndr_writer *w,
			      const struct tether_dce_epm_map_req *in)
{
	int rc;

	rc = put_uuid_ptr(w, in->has_object, &in->object);
	if (rc == 0)
		rc = tether_dce_ndr_put_ptr(w, in->has_tower);
	if (rc == 0 && in->has_tower)
		rc = put_twr(w, &in->tower);
	if (rc == 0)
		rc = tether_dce_ndr_put_ctx_handle(w, &in->handle);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->max_towers);
	return rc;
}

int
tether_dce_epm_map_resp_encode(struct tether_dce_ndr_writer *w,
			       const struct tether_dce_epm_map_resp *in)
{
	uint32_t i;
	int rc;

	if (in->num_towers > in->max_count || (in->num_towers && !in->towers))
		return -TETHER_EINVAL;
	rc = tether_dce_ndr_put_ctx_handle(w, &in->handle);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->num_towers);
	if (rc == 0)
		rc = tether_dce_ndr_put_conformance(w, in->max_count);
	if (rc == 0)
		rc = tether_dce_ndr_put_variance(w, 0, in->num_towers);
	for (i = 0; rc == 0 && i < in->num_towers; i++)
		rc = tether_dce_ndr_put_ptr(w, in->towers[i].data != NULL);
	for (i = 0; rc == 0 && i < in->num_towers; i++)
		if (in->towers[i].data != NULL)
			rc = put_twr(w, &in->towers[i]);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->status);
	return rc;
}

int
tether_dce_epm_map_resp_decode(struct tether_dce_ndr_reader *r,
			       struct tether_arena *arena,
			       struct tether_dce_epm_map_resp *out)
{
	struct tether_dce_epm_twr *t = NULL;
	uint32_t i, off, ref;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tether_dce_ndr_get_ctx_handle(r, &out->handle);
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &out->num_towers);
	if (rc == 0)
		rc = tether_dce_ndr_get_conformance(r, TETHER_DCE_EPM_MAX_ENTS,
						    0, &out->max_count);
	if (rc == 0)
		rc = tether_dce_ndr_get_variance(r, out->max_count, 4, &off,
						 &i);
	if (rc < 0)
		return rc;
	if (off != 0 || i != out->num_towers)
		return -TETHER_EBADMSG;
	if (arena == NULL)
		return -TETHER_EINVAL;
	t = tether_arena_alloc(arena, (size_t)out->num_towers * sizeof(*t));
	if (t == NULL)
		return -TETHER_ENOMEM;
	/* Referent ids first, the towers they point to after the array. */
	for (i = 0; i < out->num_towers; i++) {
		rc = tether_dce_ndr_get_ptr(r, &ref);
		if (rc < 0)
			return rc;
		t[i].data = NULL;
		t[i].len = ref; /* remembered until the tower is read */
	}
	for (i = 0; i < out->num_towers; i++) {
		if (t[i].len == 0)
			continue;
		rc = get_twr(r, &t[i]);
		if (rc < 0)
			return rc;
	}
	out->towers = t;
	rc = tether_dce_ndr_get_u32(r, &out->status);
	if (rc < 0)
		return rc;
	return stub_end(r);
}

int
tether_dce_epm_lookup_req_decode(struct tether_dce_ndr_reader *r,
				 struct tether_dce_epm_lookup_req *out)
{
	uint32_t ref;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tether_dce_ndr_get_u32(r, &out->inquiry_type);
	if (rc == 0)
		rc = get_uuid_ptr(r, &out->has_object, &out->object);
	if (rc == 0)
		rc = tether_dce_ndr_get_ptr(r, &ref);
	if (rc == 0 && ref != 0) {
		/* RPC_IF_ID: UUID, vers_major u16, vers_minor u16. */
		out->has_ifid = 1;
		rc = tether_dce_ndr_get_uuid(r, &out->ifid.uuid);
		if (rc == 0)
			rc = tether_dce_ndr_get_u16(r, &out->ifid.vers_major);
		if (rc == 0)
			rc = tether_dce_ndr_get_u16(r, &out->ifid.vers_minor);
	}
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &out->vers_option);
	if (rc == 0)
		rc = tether_dce_ndr_get_ctx_handle(r, &out->handle);
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &out->max_ents);
	if (rc < 0)
		return rc;
	if (out->max_ents > TETHER_DCE_EPM_MAX_ENTS)
		return -TETHER_EMSGSIZE;
	return stub_end(r);
}

int
tether_dce_epm_lookup_req_encode(struct tether_dce_ndr_writer *w,
				 const struct tether_dce_epm_lookup_req *in)
{
	int rc;

	rc = tether_dce_ndr_put_u32(w, in->inquiry_type);
	if (rc == 0)
		rc = put_uuid_ptr(w, in->has_object, &in->object);
	if (rc == 0)
		rc = tether_dce_ndr_put_ptr(w, in->has_ifid);
	if (rc == 0 && in->has_ifid) {
		rc = tether_dce_ndr_put_uuid(w, &in->ifid.uuid);
		if (rc == 0)
			rc = tether_dce_ndr_put_u16(w, in->ifid.vers_major);
		if (rc == 0)
			rc = tether_dce_ndr_put_u16(w, in->ifid.vers_minor);
	}
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->vers_option);
	if (rc == 0)
		rc = tether_dce_ndr_put_ctx_handle(w, &in->handle);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->max_ents);
	return rc;
}

int
tether_dce_epm_lookup_resp_encode(struct tether_dce_ndr_writer *w,
				  const struct tether_dce_epm_lookup_resp *in)
{
	int rc;

	if (in->num_ents > in->max_count)
		return -TETHER_EINVAL;
	rc = tether_dce_ndr_put_ctx_handle(w, &in->handle);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->num_ents);
	if (rc == 0)
		rc = tether_dce_ndr_put_conformance(w, in->max_count);
	if (rc == 0)
		rc = tether_dce_ndr_put_variance(w, 0, in->num_ents);
	if (rc == 0)
		rc = put_entries(w, in->entries, in->num_ents);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(w, in->status);
	return rc;
}

int
tether_dce_epm_lookup_resp_decode(struct tether_dce_ndr_reader *r,
				  struct tether_arena *arena,
				  struct tether_dce_epm_lookup_resp *out)
{
	uint32_t off, n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tether_dce_ndr_get_ctx_handle(r, &out->handle);
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &out->num_ents);
	if (rc == 0)
		rc = tether_dce_ndr_get_conformance(r, TETHER_DCE_EPM_MAX_ENTS,
						    0, &out->max_count);
	if (rc == 0)
		rc = tether_dce_ndr_get_variance(r, out->max_count,
						 ENTRY_MIN_WIRE, &off, &n);
	if (rc < 0)
		return rc;
	if (off != 0 || n != out->num_ents)
		return -TETHER_EBADMSG;
	rc = get_entries(r, arena, n, &out->entries);
	if (rc == 0)
		rc = tether_dce_ndr_get_u32(r, &out->status);
	if (rc < 0)
		return rc;
	return stub_end(r);
}

int
tether_dce_epm_handle_free_req_decode(struct tether_dce_ndr_reader *r,
				      struct tether_dce_ctx_handle *h)
{
	int rc = tether_dce_ndr_get_ctx_handle(r, h);

	return rc < 0 ? rc : stub_end(r);
}

int
tether_dce_epm_handle_free_resp_encode(struct tether_dce_ndr_writer *w,
				       const struct tether_dce_ctx_handle *h,
				       uint32_t status)
{
	int rc = tether_dce_ndr_put_ctx_handle(w, h);

	return rc < 0 ? rc : tether_dce_ndr_put_u32(w, status);
}

static int
insert_decode(struct tether_dce_ndr_reader *r, struct tether_arena *arena,
	      struct tether_dce_epm_insert_req *out, int with_replace)
{
	uint32_t mc;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tether_dce_ndr_get_u32(r, &out->num_ents);
	if (rc == 0)
		rc = tether_dce_ndr_get_conformance(r, TETHER_DCE_EPM_MAX_ENTS,
						    ENTRY_MIN_WIRE, &mc);
	if (rc < 0)
		return rc;
	/* [size_is(num_ents)]: the conformance must be num_ents. */
	if (mc != out->num_ents)
		return -TETHER_EBADMSG;
	rc = get_entries(r, arena, mc, &out->entries);
	if (rc == 0 && with_replace)
		rc = tether_dce_ndr_get_u32(r, &out->replace);
	if (rc < 0)
		return rc;
	return stub_end(r);
}

int
tether_dce_epm_insert_req_decode(struct tether_dce_ndr_reader *r,
				 struct tether_arena *arena,
				 struct tether_dce_epm_insert_req *out)
{
	return insert_decode(r, arena, out, 1);
}

int
tether_dce_epm_delete_req_decode(struct tether_dce_ndr_reader *r,
				 struct tether_arena *arena,
				 struct tether_dce_epm_insert_req *out)
{
	return insert_decode(r, arena, out, 0);
}

int
tether_dce_epm_insert_req_encode(struct tether_dce_ndr_writer *w,
				 const struct tether_dce_epm_insert_req *in,
				 int with_replace)
{
	int rc;

	rc = tether_dce_ndr_put_u32(w, in->num_ents);
	if (rc == 0)
		rc = tether_dce_ndr_put_conformance(w, in->num_ents);
	if (rc == 0)
		rc = put_entries(w, in->entries, in->num_ents);
	if (rc == 0 && with_replace)
		rc = tether_dce_ndr_put_u32(w, in->replace);
	return rc;
}

int
tether_dce_epm_status_encode(struct tether_dce_ndr_writer *w, uint32_t status)
{
	return tether_dce_ndr_put_u32(w, status);
}
