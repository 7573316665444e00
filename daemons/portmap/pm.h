/*
 * pm.h - tether-portmap's pieces: the configuration, the daemon state,
 * the transport-independent dispatcher (proc.c) and the small
 * self-contained transport on the core event loop (net.c). The
 * dispatcher sees a call as bytes plus a struct pm_req describing the
 * caller, so the transport can later be swapped for lib/rpc's server.
 */
#ifndef PORTMAP_PM_H
#define PORTMAP_PM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reg.h"
#include "tether/core.h"
#include "tether/rpcb.h"

/* Largest call accepted: a UDP datagram or a TCP record (rpcbomb). */
#define PM_MAX_CALL 9000u
/* Arena for one call's decoded arguments. */
#define PM_ARENA_MAX (64u << 10)
/* Largest reply (a DUMP of every registration fits easily). */
#define PM_MAX_REPLY	 (2u << 20)
#define PM_MAX_CONNS	 256u
#define PM_MAX_LISTEN	 16
#define PM_STAT_ADDR_MAX 128u

#define PM_DEFAULT_SOCK	 "/run/rpcbind.sock"
#define PM_DEFAULT_STATE "/var/lib/tether/portmap.state"
#define PM_DEFAULT_CONF	 "/etc/tether/portmap.conf"

/* The configuration (the file, then the command line over it). */
struct pm_config {
	const char *sock_path;		   /* local socket; "" for none */
	const char *state_path;		   /* "" for no state file */
	const char *user;		   /* drop privileges to; NULL: stay */
	const char *listen[PM_MAX_LISTEN]; /* hosts; none: 0.0.0.0 and :: */
	int nlisten;
	int port; /* 111 */
	size_t max_total;
	size_t max_per_owner;
	const char *ctl_path;		   /* control socket; NULL/"": none */
	uint64_t admin_timeout_ms;	   /* its deadline; 0: default */
	unsigned admin_conns;		   /* at once; 0: default */
	int forward;			   /* CALLIT/BCAST/INDIRECT: off */
	unsigned forward_rate;		   /* calls per second; 0: default */
	unsigned forward_burst;		   /* bucket size; 0: default */
	unsigned forward_max;		   /* outstanding, >= 1 (conf.c) */
	uint64_t forward_timeout_ms;	   /* 0: default */
	uint64_t prune_interval_ms;	   /* 0: no pruning */
	int log_level;			   /* TETHER_LOG_*, -1: not set */
};

/* Forwarding defaults and bounds (CALLIT / BCAST / INDIRECT). */
#define PM_FWD_DEFAULT_RATE	  20u	 /* calls per second */
#define PM_FWD_DEFAULT_BURST	  40u
#define PM_FWD_DEFAULT_MAX	  64u	 /* outstanding */
#define PM_FWD_DEFAULT_TIMEOUT_MS 3000u
#define PM_FWD_MAX_MAX		  4096u
#define PM_MAX_DURATION_MS	  (30ull * 86400 * 1000)
#define PM_CONF_MAX_REGS	  1000000ul
#define PM_CONF_PATH_MAX	  1024

/*
 * A configuration file's settings: cfg's strings point into this
 * struct (pm_conf_relink repoints them after a copy), so it must
 * outlive every copy of cfg.
 */
struct pm_conf {
	struct pm_config cfg;
	char sock[TETHER_ADDR_UNIX_PATH_MAX + 1];
	char state[PM_CONF_PATH_MAX];
	char ctl[TETHER_ADDR_UNIX_PATH_MAX + 1];
	char user[64];
	char listen[PM_MAX_LISTEN][TETHER_ADDR_STRLEN];
};

/* pm_conf_init - the defaults (what no file at all means). */
void pm_conf_init(struct pm_conf *c /* OUT */);
void pm_conf_relink(struct pm_conf *c);

/*
 * pm_conf_load_file / pm_conf_load_mem - parse a configuration (see
 * tether-portmap(8)) into *out, defaults first. Every problem is
 * reported as "file:line:col: error: ..." with the source line and a
 * caret, appended to diag (may be NULL). Returns 0, -TETHER_ESYNTAX,
 * -TETHER_ENOMEM or the error of opening the file; on failure *out
 * holds the defaults. lim (NULL: defaults) bounds the tokenizer, e.g.
 * TETHER_CONF_NO_INCLUDE for untrusted text.
 */
int pm_conf_load_file(const char *path, struct pm_conf *out /* OUT */,
		      struct tether_buf *diag);
int pm_conf_load_mem(const char *name, const void *data, size_t len,
		     const struct tether_conf_limits *lim,
		     struct pm_conf *out /* OUT */, struct tether_buf *diag);

/* pm_conf_write - c in the file's language, every value spelled out, so
 * that loading the text gives the same configuration. Returns 0 or the
 * error of appending to b. */
int pm_conf_write(const struct pm_conf *c, struct tether_buf *b);

/* The settings a reload compares, one per directive argument. */
enum pm_setting {
	PM_SET_LISTEN,		/* restart: the sockets are bound at start */
	PM_SET_PORT,		/* restart */
	PM_SET_SOCKET,		/* restart */
	PM_SET_STATE,		/* restart: the table was loaded from it */
	PM_SET_USER,		/* restart: privileges are dropped once */
	PM_SET_CONTROL,
	PM_SET_ADMIN_TIMEOUT,
	PM_SET_ADMIN_CONNS,
	PM_SET_MAX_TOTAL,
	PM_SET_MAX_PER_OWNER,
	PM_SET_FORWARD,
	PM_SET_FORWARD_RATE,
	PM_SET_FORWARD_BURST,
	PM_SET_FORWARD_MAX,
	PM_SET_FORWARD_TIMEOUT,
	PM_SET_PRUNE,
	PM_SET_LOG_LEVEL,
	PM_SETTING_COUNT
};

/* Room for any setting's value: every listen address, or a path. */
#define PM_SETTING_VALUE_MAX (PM_CONF_PATH_MAX + 64)

/* The setting's name as the file spells it ("forward rate"). */
const char *pm_setting_name(enum pm_setting s);
/* 1 when a running daemon cannot take a new value (see reload). */
int pm_setting_needs_restart(enum pm_setting s);
/* The setting's value in c as text ("none" for no path, "default" for
 * an unset log level, "0.0.0.0 ::" for no listen address). */
void pm_setting_value(const struct pm_config *c, enum pm_setting s,
		      char *buf /* OUT */, size_t size);
/* pm_conf_diff - the settings whose values differ between a and b, one
 * bit (1u << setting) each. */
uint32_t pm_conf_diff(const struct pm_config *a, const struct pm_config *b);

/* "500ms", "2s" (or "2"), "5m", "1h" -> milliseconds, at most
 * PM_MAX_DURATION_MS. Returns 0, -TETHER_ESYNTAX or -TETHER_ERANGE. */
int pm_parse_duration(const char *s, uint64_t *ms /* OUT */);

/* Where a call came from. */
struct pm_req {
	enum tether_netid netid;  /* transport it arrived on */
	struct tether_addr peer;  /* caller (AF_UNIX: unused) */
	struct tether_addr local; /* our address it was sent to */
	int has_local;		  /* local is known */
	int has_uid;		  /* uid is the peer's (SO_PEERCRED) */
	uint32_t uid;
	int32_t pid;		  /* the peer's pid (SO_PEERCRED), 0: unknown */
	int fd;			  /* udp/udp6: the socket it came on */
};

/* GETADDR / GETPORT outcomes per (prog, vers, netid), for GETSTAT. */
struct pm_stat_addr {
	uint32_t prog;
	uint32_t vers;
	int32_t success;
	int32_t failure;
	char netid[REG_NETID_MAX + 1];
};

struct pm_stat {
	int32_t info[TETHER_RPCB_STAT_HIGHPROC];
	int32_t setinfo;
	int32_t unsetinfo;
	struct pm_stat_addr addr[PM_STAT_ADDR_MAX];
	size_t naddr;
};

/* Why calls were refused, for logs and (later) tetherctl. */
enum pm_reject {
	PM_REJ_NOT_CALL = 0, /* a reply or undecodable header: dropped */
	PM_REJ_RPCVERS,	     /* RPC_MISMATCH */
	PM_REJ_PROG,	     /* PROG_UNAVAIL */
	PM_REJ_VERS,	     /* PROG_MISMATCH */
	PM_REJ_PROC,	     /* PROC_UNAVAIL */
	PM_REJ_GARBAGE,	     /* GARBAGE_ARGS */
	PM_REJ_AUTH,	     /* SET/UNSET not allowed: AUTH_TOOWEAK */
	PM_REJ_FORWARD,	     /* CALLIT/INDIRECT/BCAST: forwarding off */
	PM_REJ_MAX
};

const char *pm_reject_name(int r);

/* Rejections are logged at most once per source per this many seconds
 * (sources hashed into PM_LOG_SLOTS slots; a collision may hide one). */
#define PM_LOG_INTERVAL 60
#define PM_LOG_SLOTS	256u

struct pm_log_slot {
	uint64_t key; /* keyed hash of the source address */
	int64_t at;   /* when it was last logged (monotonic s) */
};

/* Forwarding (CALLIT / BCAST / INDIRECT) counters, for tetherctl. */
struct pm_fwd_stats {
	uint64_t forwarded;	/* calls sent to a registered service */
	uint64_t replied;	/* answers relayed back */
	uint64_t timeouts;	/* no answer within forward-timeout */
	uint64_t no_service;	/* no UDP registration for the program */
	uint64_t refused_remote; /* caller not local */
	uint64_t refused_rate;	/* over forward-rate / forward-burst */
	uint64_t refused_full;	/* forward-max calls already outstanding */
	uint64_t refused_off;	/* forwarding is off */
	uint64_t outstanding;	/* now */
};

struct pm_fwd;

struct pm_ctx {
	struct pm_config cfg;
	struct pm_fwd_stats fwd;
	struct pm_fwd *fwd_state; /* NULL: forwarding off */
	uint64_t pruned_exited;	  /* registrations pruned: process gone */
	uint64_t pruned_closed;	  /* ... TCP port refused */
	struct pm_log_slot logged[PM_LOG_SLOTS];
	struct tether_hash_key log_key;
	struct reg_table reg;
	struct tether_arena *arena;
	struct pm_stat stat[TETHER_RPCB_STAT_VERS]; /* v2, v3, v4 */
	uint64_t rejected[PM_REJ_MAX];
	uint64_t saved_changes; /* reg.changes at the last save */
	int save_failed;	/* last save failed (logged once) */
};

/*
 * pm_ctx_init - set up ctx with cfg (copied), an empty table and the
 * arena. Returns 0 or -TETHER_ENOMEM. pm_ctx_free releases it.
 */
int pm_ctx_init(struct pm_ctx *ctx, const struct pm_config *cfg);
void pm_ctx_free(struct pm_ctx *ctx);

/*
 * pm_register_self - rpcbind's own entries: 100000 versions 4, 3 (and
 * 2 on tcp/udp) at uaddr on netid, owner "superuser", builtin.
 * Returns 0 or reg_set's error.
 */
int pm_register_self(struct pm_ctx *ctx, enum tether_netid netid,
		     const char *uaddr);

/*
 * pm_dispatch - answer one call of len bytes from req. The reply (no
 * record mark) is appended to out. Returns 1 when a reply was written,
 * 0 when the call gets none (not a call, forwarding refused the way
 * rpcbind refuses it), -TETHER_ENOSPC / -TETHER_ENOMEM when out could
 * not take the reply. Never allocates more than PM_ARENA_MAX for the
 * arguments, whatever the lengths the call announces.
 */
int pm_dispatch(struct pm_ctx *ctx, const struct pm_req *req,
		const unsigned char *call, size_t len, struct tether_buf *out);

/* pm_save_if_changed - write the state file if the table changed since
 * the last save. Returns 0 or the error (errbuf gets a message). */
int pm_save_if_changed(struct pm_ctx *ctx, char *errbuf, size_t errlen);

/* ---- Forwarding (fwd.c) ---- */

struct tether_rpc_msg;
struct tether_xdr;

/*
 * pm_fwd_open - when cfg.forward is on, the forwarding sockets, table
 * and sweep timer, as ctx->fwd_state. Returns 0 (also when off) or a
 * negative code with errbuf set. pm_fwd_close releases them.
 */
int pm_fwd_open(struct pm_ctx *ctx, struct tether_loop *loop, char *errbuf,
		size_t errlen);
void pm_fwd_close(struct pm_ctx *ctx);

/*
 * pm_fwd_apply - after a reload changed ctx->cfg's forwarding settings:
 * open forwarding if it is on and not open yet, size the table to
 * forward-max (now, or once the calls outstanding allow it). Rate,
 * burst and timeout are read from ctx->cfg for each call; turning
 * forwarding off only refuses new calls (proc.c), so the answers of
 * calls outstanding still reach their callers. Returns 0 or
 * pm_fwd_open's error.
 */
int pm_fwd_apply(struct pm_ctx *ctx, struct tether_loop *loop, char *errbuf,
		 size_t errlen);

/*
 * pm_fwd_dispatch - a CALLIT / BCAST / INDIRECT call m (ctx->fwd_state
 * set), its arguments at x. Returns 1 when out holds an immediate reply
 * (an error), 0 when there is none now (forwarded: the answer is sent
 * to req->peer through req->fd when it comes; or dropped), or
 * -TETHER_ENOSPC.
 */
int pm_fwd_dispatch(struct pm_ctx *ctx, const struct pm_req *req,
		    const struct tether_rpc_msg *m, struct tether_xdr *x,
		    struct tether_buf *out);

/* ---- Datagram replies (net.c) ---- */

struct msghdr;

/* Room pm_src_ctl needs at ctl (aligned as struct cmsghdr). */
#define PM_SRC_CTL_SPACE 64

/*
 * pm_src_ctl - set mh's control data (in ctl) so that sendmsg() sends
 * the datagram from local's address: IP_PKTINFO's ipi_spec_dst, or
 * IPV6_PKTINFO with ifindex (0: any). No control data when local is
 * NULL, of another family, or IPv6 multicast (the kernel picks).
 */
void pm_src_ctl(struct msghdr *mh, void *ctl, const struct tether_addr *local,
		unsigned ifindex);

/* ---- Pruning (prune.c) ---- */

struct pm_prune;

/*
 * pm_prune_open - when cfg.prune_interval_ms is set, check every
 * interval that each registration's process still exists and that a
 * TCP registration's port accepts connections, dropping those that
 * fail (logged, counted, saved). Returns 0 and *out (NULL when pruning
 * is off) or -TETHER_ENOMEM. pm_prune_close(NULL) is a no-op.
 */
int pm_prune_open(struct pm_prune **out /* OUT */, struct pm_ctx *ctx,
		  struct tether_loop *loop);
void pm_prune_close(struct pm_prune *p);

/*
 * pm_prune_apply - after a reload changed cfg.prune_interval_ms: start
 * pruning (*pp NULL), stop it (interval 0; *pp becomes NULL) or re-arm
 * the timer with the new interval. Returns 0 or -TETHER_ENOMEM (then
 * *pp is unchanged).
 */
int pm_prune_apply(struct pm_prune **pp, struct pm_ctx *ctx,
		   struct tether_loop *loop);

/* ---- The control socket (ctl.c) ---- */

/*
 * pm_ctl_exec - run one control command ("show registrations", "show
 * calls", "show rejected", "show forwarding", "show all") and append
 * the text answer to out; an unknown command gets one "error: " line.
 * Returns 0, or -TETHER_ENOSPC / -TETHER_ENOMEM when out is full.
 */
int pm_ctl_exec(struct pm_ctx *ctx, const char *line, struct tether_buf *out);

/*
 * pm_ctl_open - serve pm_ctl_exec on cfg.ctl_path (mode 0660, a stale
 * socket replaced) with the admin timeout and connection limit of cfg.
 * Returns 0 and *out (NULL when no path is configured), or a negative
 * code with errbuf set. pm_ctl_close(NULL) is a no-op.
 */
int pm_ctl_open(struct tether_ctl **out /* OUT */, struct pm_ctx *ctx,
		struct tether_loop *loop, char *errbuf, size_t errlen);
void pm_ctl_close(struct tether_ctl *ctl);

/* The transport (net.c). */
struct pm_net;

/*
 * pm_net_open - bind the listeners cfg asks for (UDP and TCP on each
 * listen address and port, the local socket) and register them with
 * ctx (pm_register_self). Returns 0 and *out, or a negative code with
 * errbuf saying which address failed.
 */
int pm_net_open(struct pm_net **out /* OUT */, struct pm_ctx *ctx,
		struct tether_loop *loop, char *errbuf, size_t errlen);
void pm_net_close(struct pm_net *n);

#endif /* PORTMAP_PM_H */
