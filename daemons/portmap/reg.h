/*
 * reg.h - tether-portmap's registration table: (prog, vers, netid) ->
 * universal address and owner, the portmap v2 view derived from it the
 * way Debian's rpcbind derives its pmaplist, ownership and limits, and
 * the state file that lets registrations survive a crash.
 */
#ifndef PORTMAP_REG_H
#define PORTMAP_REG_H

#include <stddef.h>
#include <stdint.h>

#include "tether/core.h"

/* Longest strings a registration may hold (longer SETs are refused). */
#define REG_NETID_MAX 31
#define REG_UADDR_MAX 127
#define REG_OWNER_MAX 31

/* Defaults for the limits (0 passed to reg_init picks them). */
#define REG_DEFAULT_MAX_TOTAL	  4096u
#define REG_DEFAULT_MAX_PER_OWNER 256u

/* rpcbind's owner strings for root and for callers it cannot identify. */
#define REG_OWNER_SUPERUSER "superuser"
#define REG_OWNER_UNKNOWN   "unknown"

struct reg_entry {
	uint32_t prog;
	uint32_t vers;
	char netid[REG_NETID_MAX + 1];
	char uaddr[REG_UADDR_MAX + 1];
	char owner[REG_OWNER_MAX + 1];
	int builtin; /* the daemon's own: never saved, never limited */
	/* The portmap v2 view of it (reg_pmap_port), kept at set time. */
	int pm_ok;
	uint32_t pm_prot;
	uint32_t pm_port;
	int32_t pid; /* the registering process (SO_PEERCRED), 0: unknown */
};

/*
 * The table keeps registration order: DUMP lists entries in the order
 * they were set, as rpcbind does, and lookups that rpcbind resolves by
 * "last match wins" depend on it. Lookups by program go through an
 * index (hash of prog -> chain of entry positions in table order),
 * rebuilt on every change; while it is stale (changes or n moved on
 * since it was built: code that edits v directly must bump changes)
 * they scan the whole table instead.
 */
struct reg_table {
	struct reg_entry *v;  /* private */
	size_t n;	      /* read-only: entries in use */
	size_t cap;	      /* private */
	size_t max_total;     /* reg_init; a reload may change it */
	size_t max_per_owner; /* likewise (tether-portmap SIGHUP) */
	uint64_t changes;     /* read-only: bumped on every change */
	uint32_t *head;	      /* private: per bucket, 1 + first position */
	uint32_t *next;	      /* private: per entry, 1 + next in bucket */
	size_t nbucket;	      /* private: a power of two, or 0 */
	size_t ncap;	      /* private: entries next[] can hold */
	uint64_t indexed;     /* private: changes when the index was built */
	size_t indexed_n;     /* private: n then */
	int index_ok;	      /* private: the index matches indexed */
};

void reg_init(struct reg_table *t, size_t max_total, size_t max_per_owner);
void reg_free(struct reg_table *t);

/* Forget every entry but the builtin ones. */
void reg_clear(struct reg_table *t);

/*
 * reg_owner_from_uid - rpcbind's owner string for a local caller:
 * "superuser" for uid 0, the decimal uid otherwise. buf has at least
 * REG_OWNER_MAX + 1 bytes.
 */
void reg_owner_from_uid(char *buf /* OUT */, size_t size, uint32_t uid);

/*
 * reg_set - rpcbind's map_set: add (prog, vers, netid) -> uaddr owned
 * by owner, at the end. Returns 1 when added, 0 when exactly that
 * mapping (same address) is already there (rpcbind answers TRUE to
 * both), -TETHER_EEXIST when (prog, vers, netid) is mapped to another
 * address (FALSE), -TETHER_EINVAL for an empty or over-long string or
 * one with bytes outside printable ASCII or white space (FALSE: we
 * refuse what could not round-trip through the state file),
 * -TETHER_ENOSPC when a limit is reached, -TETHER_ENOMEM.
 * builtin marks the daemon's own entries.
 */
int reg_set(struct reg_table *t, uint32_t prog, uint32_t vers,
	    const char *netid, const char *uaddr, const char *owner,
	    int builtin);

/*
 * reg_unset - rpcbind's map_unset: remove every entry of (prog, vers)
 * with netid (case-insensitive), or with any netid when netid is "".
 * Only the owner of an entry or "superuser" may remove it; builtin
 * entries are never removed. Unlike rpcbind, which removes entries up
 * to the first one it may not touch, the check is made first and
 * nothing is removed when one entry belongs to someone else.
 * Returns the number removed (0: nothing matched), -TETHER_EPERM.
 */
int reg_unset(struct reg_table *t, uint32_t prog, uint32_t vers,
	      const char *netid, const char *owner);

/*
 * reg_find - rpcbind's find_service: among entries of prog on netid
 * (case-insensitive), the one of version vers, or failing that the
 * last one of another version; NULL when prog has no entry there.
 */
const struct reg_entry *reg_find(const struct reg_table *t, uint32_t prog,
				 uint32_t vers, const char *netid);

/*
 * The portmap v2 view. rpcbind keeps a pmaplist beside its rpcb list:
 * each SET (v2, v3 or v4) whose netid is exactly "tcp" or "udp" and
 * whose address reads as "%d.%d.%d.%d.%d.%d" adds (prog, vers, 6 or 17,
 * port) to it, so v2 sees registrations made through v3/v4 on IPv4 and
 * never those on tcp6, udp6 or local. reg_pmap_port computes the same
 * from an entry: 1 and *prot, *port when it belongs to the view, else 0.
 */
int reg_pmap_port(const struct reg_entry *e, uint32_t *prot /* OUT */,
		  uint32_t *port /* OUT */);

/*
 * reg_pmap_find - rpcbind's find_service_pmap on that view: the entry of
 * (prog, prot) with version vers, else the last of another version.
 * Returns 1 and *port, or 0.
 */
int reg_pmap_find(const struct reg_table *t, uint32_t prog, uint32_t vers,
		  uint32_t prot, uint32_t *port /* OUT */);

/*
 * The state file: every non-builtin entry, one per line ("prog vers
 * netid uaddr owner", then " pid=N" when the registering process is
 * known; lines without it load with pid 0), between a header and a
 * trailer that holds the count and a checksum, so a truncated or
 * edited file is recognised.
 *
 * reg_save - write it to path atomically: path.tmp is written, fsync'd
 * and renamed over path, then the directory is fsync'd. Returns 0 or a
 * mapped errno; errbuf gets a message on failure.
 *
 * reg_load - add the file's entries (after the builtin ones already in
 * t). Returns 0 (also when path does not exist: an empty table),
 * -TETHER_EBADMSG for a malformed, truncated or inconsistent file (t is
 * then left with only its builtin entries), a mapped errno for a read
 * error. errbuf gets "path:line: what" on failure.
 */
int reg_save(const struct reg_table *t, const char *path, char *errbuf,
	     size_t errlen);
int reg_load(struct reg_table *t, const char *path, char *errbuf,
	     size_t errlen);

#endif /* PORTMAP_REG_H */
