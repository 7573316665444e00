/*
 * epmap.h - tether-epmap's configuration, registration table, lookup
 * handles and the endpoint mapper interface it hosts on lib/dce's server.
 */
#ifndef TETHER_EPMAP_H
#define TETHER_EPMAP_H

#include <stdint.h>

#include "tether/core.h"
#include "tether/dce.h"

#define EPMAP_MAX_LISTEN     8
#define EPMAP_MAX_FIXED	     256
#define EPMAP_DEFAULT_SOCKET "/run/tether/epmap.sock"
#define EPMAP_DEFAULT_CONF   "/etc/tether/epmap.conf"
#define EPMAP_ANNOTATION     "tether-epmap endpoint mapper"

/* Statuses of the local registration calls beside ept_s_not_registered
 * [C706 App. N]. */
#define EPMAP_S_CANT_PERFORM_OP 0x16c9a0cdu

/* An interface pinned to a port (the "fixed ports" mitigation). */
struct epmap_fixed {
	struct tether_dce_uuid uuid;
	uint16_t vers_major;
	uint16_t port;
};

/* The configuration, built by epmap_conf_load and read-only after. */
struct epmap_conf {
	struct tether_addr listen[EPMAP_MAX_LISTEN];
	unsigned n_listen;
	int listen_default; /* no listen statement: 0.0.0.0 and [::] :135 */
	char socket_path[TETHER_ADDR_UNIX_PATH_MAX + 1]; /* "" = none */
	uint16_t port_lo, port_hi;
	struct epmap_fixed fixed[EPMAP_MAX_FIXED];
	unsigned n_fixed;
	unsigned max_conns;
	unsigned max_frag;
	unsigned max_request;
	unsigned idle_s;
	unsigned max_regs;
	unsigned max_handles;
	unsigned max_handles_per_assoc;
	unsigned handle_timeout_s;
	unsigned prune_s; /* 0: never prune dead registrations */
};

/* Defaults into *c. */
void epmap_conf_defaults(struct epmap_conf *c /* OUT */);

/*
 * epmap_conf_load - parse the file at path (or, when data is not NULL,
 * the len bytes at data named path) into *c, which holds the defaults
 * first. Returns 0, or -TETHER_ESYNTAX with the diagnostics in diag
 * (tether_buf, caller frees), or the load errors of tether_conf.
 */
int epmap_conf_load(struct epmap_conf *c, const char *path, const void *data,
		    size_t len, struct tether_buf *diag /* OUT */);

/* A registration. */
struct epmap_reg {
	uint64_t seq; /* insertion order: lookup handles resume by it */
	struct tether_dce_syntax iface;
	struct tether_dce_uuid object;
	char annotation[TETHER_DCE_EPM_ANNOTATION_SIZE];
	uint16_t port;
	uint8_t ipv4[4]; /* 0.0.0.0: the address the asker came to */
	int self;	 /* the mapper's own entry: never deleted */
	long owner;	 /* uid of the local caller that inserted it; -1 for
			  * the daemon's own entries (only root removes) */
	uint64_t added_ms;
	unsigned misses; /* prune sweeps that found nothing listening */
	struct epmap_reg *next;
};

/* A lookup context handle: where an ept_lookup listing resumes. */
struct epmap_handle {
	struct tether_dce_uuid id;
	uint32_t group;
	uint64_t next_seq;
	uint64_t used_ms;
	struct epmap_handle *next;
};

struct epmap_stats {
	uint64_t lookups, maps, inserts, deletes, handle_frees;
	uint64_t handles_expired, handles_evicted, denied, pruned;
};

struct epmap {
	const struct epmap_conf *conf;
	struct tether_loop *loop; /* for the clock; may be NULL in tests */
	uint64_t now_ms;	  /* used when loop is NULL */
	struct epmap_reg *regs, *regs_tail;
	unsigned n_regs;
	uint64_t seq;
	struct epmap_handle *handles;
	unsigned n_handles;
	uint32_t port_cursor;
	uint64_t handle_seq;
	struct tether_hash_key handle_key;
	int check_bind; /* try bind() before handing out a dynamic port */
	struct epmap_stats st;
	struct tether_dce_iface iface; /* the EPM interface, ud = this */
};

/* Set up *m over conf (borrowed). loop may be NULL (tests set now_ms). */
void epmap_init(struct epmap *m, const struct epmap_conf *conf,
		struct tether_loop *loop);
/* Free every registration and handle. */
void epmap_fini(struct epmap *m);

/*
 * epmap_register - add an entry. port 0 takes the interface's fixed port
 * or a free one from the range; *port_out (may be NULL) gets the port.
 * Returns 0, -TETHER_ENOSPC (table full, or no free port),
 * -TETHER_EPERM (a port other than the interface's fixed one),
 * -TETHER_ENOMEM.
 */
int epmap_register(struct epmap *m, const struct tether_dce_syntax *iface,
		   const struct tether_dce_uuid *object, const char *annotation,
		   uint16_t port, const uint8_t ipv4[4], int self,
		   uint16_t *port_out /* OUT */);

/* Drop the handles of an association that went away (the server's
 * assoc_gone callback; ud is the struct epmap). */
void epmap_assoc_gone(uint32_t group, void *ud);

/*
 * epmap_prune - one sweep for dead registrations: an entry older than
 * prune_s whose port nobody on this host listens on (a bind() test on
 * the IPv4 and IPv6 wildcards, which never blocks) gets a miss; the
 * second miss in a row removes it. The mapper's own entries stay.
 * Returns how many were removed.
 */
#define EPMAP_PRUNE_MISSES 2
unsigned epmap_prune(struct epmap *m);

/* Drop handles unused for handle_timeout_s. Returns how many. */
unsigned epmap_expire_handles(struct epmap *m);

#endif /* TETHER_EPMAP_H */
