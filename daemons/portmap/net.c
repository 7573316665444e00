/*
 * net.c - tether-portmap's own small transport on the core event loop:
 * UDP and TCP listeners per address, the local stream socket, record
 * marking on streams, and the caller facts (peer, the local address it
 * reached, SO_PEERCRED uid) the dispatcher needs. UDP is batched:
 * recvmmsg / sendmmsg, 32 datagrams a system call. It is used instead
 * of lib/rpc's server runtime for the reasons in
 * docs/internals/portmap-transport.md; pm_dispatch does not know which
 * transport called it.
 *
 * Bounds: a datagram or record above PM_MAX_CALL is dropped before any
 * memory is reserved for it (the record-marking decoder checks the
 * announced length first); at most PM_MAX_CONNS stream connections;
 * a connection whose peer does not read its replies stops being read.
 */
#include "pm.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tether/rpc.h"

#define PM_MAX_SOCKS (PM_MAX_LISTEN * 2 + 1)
/* Stop reading a connection whose unsent replies pass this. */
#define PM_OUT_HIGH  (256u << 10)
/* Datagrams per recvmmsg/sendmmsg, and batches per readiness event
 * (then the loop serves the other sockets). */
#define PM_UDP_VLEN   32
#define PM_UDP_ROUNDS 4
#define PM_UDP_CTL                                     \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
	 CMSG_SPACE(sizeof(struct in_pktinfo)))
/* A reply larger than this cannot go in a UDP datagram anyway. */
#define PM_UDP_REPLY_ROOM 65536u
/* A stream connection that sends nothing for this long is closed, so
 * idle peers cannot hold the PM_MAX_CONNS slots. */
#define PM_IDLE_MS 30000u

struct pm_conn;

struct pm_sock {
	int fd;
	int stream; /* listener of a stream socket */
	enum tether_netid netid;
	struct tether_addr addr; /* bound address */
	struct pm_net *net;
};

struct pm_conn {
	int fd;
	struct pm_net *net;
	struct pm_req req;
	struct tether_rpc_rm_decoder rm;
	struct tether_buf out;
	size_t idx;			/* in net->conns */
	unsigned interest;		/* what the loop watches */
	struct tether_loop_timer *idle; /* closes a silent connection */
};

/* The UDP batch: PM_UDP_VLEN calls in, their replies out. */
struct pm_udp {
	struct mmsghdr rmsg[PM_UDP_VLEN];
	struct iovec riov[PM_UDP_VLEN];
	struct sockaddr_storage from[PM_UDP_VLEN];
	unsigned char rctl[PM_UDP_VLEN][PM_UDP_CTL];
	unsigned char buf[PM_UDP_VLEN][PM_MAX_CALL + 1];
	struct mmsghdr smsg[PM_UDP_VLEN];
	struct iovec siov[PM_UDP_VLEN];
	unsigned char sctl[PM_UDP_VLEN][PM_UDP_CTL];
	size_t roff[PM_UDP_VLEN]; /* reply i in net->reply */
	size_t rlen[PM_UDP_VLEN];
};

struct pm_net {
	struct pm_ctx *ctx;
	struct tether_loop *loop;
	struct pm_sock socks[PM_MAX_SOCKS];
	int nsocks;
	struct pm_conn *conns[PM_MAX_CONNS];
	size_t nconns;
	char sock_path[TETHER_ADDR_UNIX_PATH_MAX + 1];
	struct tether_buf reply;
	struct pm_udp udp;
};

static void
conn_close(struct pm_conn *c)
{
	struct pm_net *n = c->net;

	tether_loop_fd_del(n->loop, c->fd);
	tether_loop_timer_free(c->idle);
	close(c->fd);
	tether_rpc_rm_free(&c->rm);
	tether_buf_free(&c->out);
	n->conns[c->idx] = n->conns[--n->nconns];
	n->conns[c->idx]->idx = c->idx;
	tether_free(c);
}

/* Write what we can; 0, or -1 when the connection was closed. */
static int
conn_flush(struct pm_conn *c)
{
	unsigned want;

	while (c->out.len > 0) {
		ssize_t w = send(c->fd, c->out.data, c->out.len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			conn_close(c);
			return -1;
		}
		tether_buf_consume(&c->out, (size_t)w);
	}
	want = (c->out.len > 0 ? TETHER_LOOP_WRITE : 0) |
	       (c->out.len < PM_OUT_HIGH ? TETHER_LOOP_READ : 0);
	/* One system call less per call when nothing changes. */
	if (want != c->interest &&
	    tether_loop_fd_mod(c->net->loop, c->fd, want) == 0)
		c->interest = want;
	return 0;
}

/* One record: 0, or -1 when the connection must close. */
static int
conn_record(struct pm_conn *c, const unsigned char *rec, size_t len)
{
	struct pm_net *n = c->net;
	int rc;

	tether_buf_reset(&n->reply);
	rc = pm_dispatch(n->ctx, &c->req, rec, len, &n->reply);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	return tether_rpc_rm_frame_buf(&c->out, n->reply.data, n->reply.len,
				       0) < 0
		       ? -1
		       : 0;
}

static void
conn_event(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct pm_conn *c = ud;
	unsigned char buf[16384];
	const unsigned char *p;
	ssize_t got, r;

	(void)loop;
	(void)fd;
	tether_loop_timer_arm(c->idle, PM_IDLE_MS, 0);
	if ((events & TETHER_LOOP_READ) ||
	    (events & (TETHER_LOOP_ERR | TETHER_LOOP_HUP))) {
		got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			goto flush;
		if (got <= 0) {
			conn_close(c);
			return;
		}
		p = buf;
		while (got > 0) {
			const unsigned char *rec;
			size_t len;

			r = tether_rpc_rm_feed(&c->rm, p, (size_t)got);
			if (r < 0) {
				/* A record above PM_MAX_CALL, announced or
				 * real: the stream cannot be trusted. */
				conn_close(c);
				return;
			}
			if (r == 0)
				break;
			rec = tether_rpc_rm_record(&c->rm, &len);
			if (conn_record(c, rec, len) < 0) {
				conn_close(c);
				return;
			}
			tether_rpc_rm_next(&c->rm);
			p += r;
			got -= r;
		}
	}
flush:
	conn_flush(c);
}

static void
idle_event(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	conn_close(ud);
}

static void
accept_event(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct pm_sock *s = ud;
	struct pm_net *n = s->net;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct pm_conn *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, (struct sockaddr *)&ss, &sl,
		      SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (n->nconns == PM_MAX_CONNS) {
		close(cfd);
		return;
	}
	c = tether_calloc(1, sizeof(*c));
	if (c == NULL) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->net = n;
	c->req.netid = s->netid;
	tether_rpc_rm_init(&c->rm, PM_MAX_CALL, PM_MAX_CALL);
	tether_buf_init(&c->out, 2 * PM_MAX_REPLY + 4096);
	if (s->netid == TETHER_NETID_LOCAL) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0) {
			c->req.has_uid = 1;
			c->req.uid = (uint32_t)cr.uid;
			c->req.pid = (int32_t)cr.pid;
		}
		tether_addr_copy(&c->req.peer, &s->addr);
	} else {
		struct sockaddr_storage ls;
		socklen_t ll = sizeof(ls);
		int one = 1;

		/* Replies are whole records written at once: nothing to
		 * gain from Nagle, a delayed-ACK round trip to lose. */
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
		tether_addr_from_sockaddr(&c->req.peer, (struct sockaddr *)&ss,
					  sl);
		if (getsockname(cfd, (struct sockaddr *)&ls, &ll) == 0 &&
		    tether_addr_from_sockaddr(&c->req.local,
					      (struct sockaddr *)&ls, ll) == 0)
			c->req.has_local = 1;
	}
	c->interest = TETHER_LOOP_READ;
	if (tether_loop_timer_new(loop, idle_event, c, &c->idle) < 0 ||
	    tether_loop_timer_arm(c->idle, PM_IDLE_MS, 0) < 0 ||
	    tether_loop_fd_add(loop, cfd, TETHER_LOOP_READ, conn_event, c) <
		    0) {
		tether_loop_timer_free(c->idle);
		tether_rpc_rm_free(&c->rm);
		close(cfd);
		tether_free(c);
		return;
	}
	c->idx = n->nconns;
	n->conns[n->nconns++] = c;
}

/* A call's local address from its IP_PKTINFO / IPV6_PKTINFO, so the
 * reply leaves from the address the call was sent to. */
struct pm_pkt {
	struct in_pktinfo pi4;
	struct in6_pktinfo pi6;
	int have4;
	int have6;
};

static void
udp_parse_ctl(struct msghdr *mh, struct pm_pkt *pk)
{
	struct cmsghdr *cm;

	pk->have4 = pk->have6 = 0;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			memcpy(&pk->pi4, CMSG_DATA(cm), sizeof(pk->pi4));
			pk->have4 = 1;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pk->pi6, CMSG_DATA(cm), sizeof(pk->pi6));
			pk->have6 = 1;
		}
	}
}

/* The caller facts of datagram i of the batch: 0, or -1 to drop it. */
static int
udp_req(const struct pm_sock *s, struct mmsghdr *mm, struct pm_pkt *pk,
	struct pm_req *req)
{
	memset(req, 0, sizeof(*req));
	req->netid = s->netid;
	req->fd = s->fd;
	if (tether_addr_from_sockaddr(&req->peer, mm->msg_hdr.msg_name,
				      mm->msg_hdr.msg_namelen) < 0)
		return -1;
	udp_parse_ctl(&mm->msg_hdr, pk);
	tether_addr_copy(&req->local, &s->addr);
	if (pk->have4 && req->local.ss.ss_family == AF_INET) {
		struct sockaddr_in *l = (void *)&req->local.ss;

		/* = ipi_addr, or the interface's for a broadcast. */
		l->sin_addr = pk->pi4.ipi_spec_dst;
		req->has_local = 1;
	} else if (pk->have6 && req->local.ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *l = (void *)&req->local.ss;

		l->sin6_addr = pk->pi6.ipi6_addr;
		req->has_local = 1;
	} else {
		pk->have4 = pk->have6 = 0;
	}
	return 0;
}

_Static_assert(CMSG_SPACE(sizeof(struct in6_pktinfo)) <= PM_SRC_CTL_SPACE &&
		       CMSG_SPACE(sizeof(struct in6_pktinfo)) <= PM_UDP_CTL,
	       "room for one pktinfo control message");

void
pm_src_ctl(struct msghdr *mh, void *ctl, const struct tether_addr *local,
	   unsigned ifindex)
{
	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (local == NULL)
		return;
	if (local->ss.ss_family == AF_INET) {
		/* ipi_spec_dst, as libtirpc sends it back: the call's
		 * destination, or for a broadcast or multicast call
		 * (rpcinfo -b) the address of the interface it came in
		 * on; never a broadcast address no reply leaves from. */
		tether_addr_pktinfo_ctl(
			mh, ctl, AF_INET,
			&((const struct sockaddr_in *)&local->ss)->sin_addr, 0);
	} else if (local->ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 =
			&((const struct sockaddr_in6 *)&local->ss)->sin6_addr;

		/* A multicast destination is no source: the kernel picks. */
		if (IN6_IS_ADDR_MULTICAST(a6))
			return;
		tether_addr_pktinfo_ctl(mh, ctl, AF_INET6, a6, ifindex);
	}
}

/* Send the nrep replies gathered in n->reply (one sendmmsg for all,
 * more only when one fails: it is dropped, as a lost datagram). */
static void
udp_flush(struct pm_net *n, int fd, int nrep)
{
	struct pm_udp *u = &n->udp;
	int i, done = 0;

	for (i = 0; i < nrep; i++) {
		u->siov[i].iov_base = n->reply.data + u->roff[i];
		u->siov[i].iov_len = u->rlen[i];
	}
	while (done < nrep) {
		int k = sendmmsg(fd, u->smsg + done, (unsigned)(nrep - done),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k > 0)
			done += k;
		else if (k < 0 && errno == EINTR)
			continue;
		else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* send buffer full: the rest are lost */
		else
			done++; /* this one cannot go (EMSGSIZE...) */
	}
	tether_buf_reset(&n->reply);
}

/*
 * Datagrams come PM_UDP_VLEN to a recvmmsg and their replies leave
 * together by sendmmsg: two system calls for a whole batch, three
 * (with the loop's wait) for a lone call. All buffers are in pm_net,
 * set up once; nothing is allocated per call.
 */
static void
udp_event(struct tether_loop *loop, int fd, unsigned events, void *ud)
{
	struct pm_sock *s = ud;
	struct pm_net *n = s->net;
	struct pm_udp *u = &n->udp;
	int round, i, k;

	(void)loop;
	(void)events;
	for (round = 0; round < PM_UDP_ROUNDS; round++) {
		int nrep = 0;

		for (i = 0; i < PM_UDP_VLEN; i++) {
			struct msghdr *mh = &u->rmsg[i].msg_hdr;

			u->riov[i].iov_base = u->buf[i];
			u->riov[i].iov_len = sizeof(u->buf[i]);
			mh->msg_name = &u->from[i];
			mh->msg_namelen = sizeof(u->from[i]);
			mh->msg_iov = &u->riov[i];
			mh->msg_iovlen = 1;
			mh->msg_control = u->rctl[i];
			mh->msg_controllen = PM_UDP_CTL;
			mh->msg_flags = 0;
		}
		k = recvmmsg(fd, u->rmsg, PM_UDP_VLEN, MSG_DONTWAIT, NULL);
		if (k <= 0)
			return;
		tether_buf_reset(&n->reply);
		for (i = 0; i < k; i++) {
			struct mmsghdr *mm = &u->rmsg[i];
			struct pm_pkt pk;
			struct pm_req req;
			size_t off = n->reply.len;
			int rc;

			/* Oversized datagrams are dropped, never
			 * reassembled. */
			if ((mm->msg_hdr.msg_flags & MSG_TRUNC) ||
			    mm->msg_len > PM_MAX_CALL ||
			    udp_req(s, mm, &pk, &req) < 0)
				continue;
			/* Room for any reply UDP can carry, else send
			 * what is gathered first. */
			if (nrep > 0 &&
			    n->reply.max - n->reply.len < PM_UDP_REPLY_ROOM) {
				udp_flush(n, fd, nrep);
				nrep = 0;
				off = 0;
			}
			rc = pm_dispatch(n->ctx, &req, u->buf[i], mm->msg_len,
					 &n->reply);
			if (rc <= 0)
				continue; /* no reply; nothing was added */
			u->roff[nrep] = off;
			u->rlen[nrep] = n->reply.len - off;
			u->smsg[nrep].msg_hdr.msg_name = mm->msg_hdr.msg_name;
			u->smsg[nrep].msg_hdr.msg_namelen =
				mm->msg_hdr.msg_namelen;
			u->smsg[nrep].msg_hdr.msg_iov = &u->siov[nrep];
			u->smsg[nrep].msg_hdr.msg_iovlen = 1;
			u->smsg[nrep].msg_hdr.msg_flags = 0;
			pm_src_ctl(&u->smsg[nrep].msg_hdr, u->sctl[nrep],
				   req.has_local ? &req.local : NULL,
				   pk.have6 ? pk.pi6.ipi6_ifindex : 0);
			nrep++;
		}
		if (nrep > 0)
			udp_flush(n, fd, nrep);
		if (k < PM_UDP_VLEN)
			return;
	}
}

static int
open_sock(struct pm_net *n, const struct tether_addr *a, int type,
	  enum tether_netid netid, char *errbuf, size_t errlen)
{
	struct pm_sock *s = &n->socks[n->nsocks];
	int one = 1, fd, fam = a->ss.ss_family;
	char txt[TETHER_ADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	tether_addr_format(a, txt, sizeof(txt), 0);
	fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (fam == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_STREAM && fam != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
	if (type == SOCK_DGRAM && fam == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (type == SOCK_DGRAM && fam == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				 sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (fam == AF_UNIX && chmod(n->sock_path, 0666) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 128) < 0)
		goto fail;
	s->fd = fd;
	s->stream = type == SOCK_STREAM;
	s->netid = netid;
	s->net = n;
	tether_addr_copy(&s->addr, a);
	if (fam != AF_UNIX && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		tether_addr_from_sockaddr(&s->addr, (struct sockaddr *)&ss, sl);
	if (tether_loop_fd_add(n->loop, fd, TETHER_LOOP_READ,
			       s->stream ? accept_event : udp_event, s) < 0)
		goto fail;
	n->nsocks++;
	return 0;
fail:
	snprintf(errbuf, errlen, "%s (%s): %s", txt, tether_netid_name(netid),
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -TETHER_ESYS;
}

/*
 * Sockets handed over by systemd or a parent (sd_listen_fds protocol:
 * LISTEN_PID is our pid, LISTEN_FDS sockets from fd 3). Each is kept
 * with the netid its family and type give; returns how many, or a
 * negative code with errbuf set. The variables are removed so children
 * do not see them.
 */
static int
adopt_fds(struct pm_net *n, char *errbuf, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *cnt = getenv("LISTEN_FDS");
	char *end;
	long p, k, i;
	int one = 1;

	if (pid == NULL || cnt == NULL)
		return 0;
	p = strtol(pid, &end, 10);
	if (*end != '\0' || p != (long)getpid())
		return 0;
	k = strtol(cnt, &end, 10);
	if (*end != '\0' || k < 0 || k > PM_MAX_SOCKS) {
		snprintf(errbuf, errlen, "LISTEN_FDS=%s: bad count", cnt);
		return -TETHER_EINVAL;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (i = 0; i < k; i++) {
		struct pm_sock *s = &n->socks[n->nsocks];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), tl = sizeof(int);
		int fd = 3 + (int)i, type = 0, fam, rc;

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    tether_addr_from_sockaddr(&s->addr, (struct sockaddr *)&ss,
					      sl) < 0) {
			snprintf(errbuf, errlen,
				 "inherited fd %d: not a "
				 "usable socket",
				 fd);
			return -TETHER_EINVAL;
		}
		fam = ss.ss_family;
		if (fam == AF_UNIX && type == SOCK_STREAM)
			s->netid = TETHER_NETID_LOCAL;
		else if (fam == AF_INET && type == SOCK_STREAM)
			s->netid = TETHER_NETID_TCP;
		else if (fam == AF_INET && type == SOCK_DGRAM)
			s->netid = TETHER_NETID_UDP;
		else if (fam == AF_INET6 && type == SOCK_STREAM)
			s->netid = TETHER_NETID_TCP6;
		else if (fam == AF_INET6 && type == SOCK_DGRAM)
			s->netid = TETHER_NETID_UDP6;
		else {
			snprintf(errbuf, errlen,
				 "inherited fd %d: not a "
				 "TCP, UDP or local stream socket",
				 fd);
			return -TETHER_EINVAL;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (type == SOCK_DGRAM && fam == AF_INET)
			(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
					 sizeof(one));
		if (type == SOCK_DGRAM && fam == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO,
					 &one, sizeof(one));
		s->fd = fd;
		s->stream = type == SOCK_STREAM;
		s->net = n;
		if ((rc = tether_loop_fd_add(
			     n->loop, fd, TETHER_LOOP_READ,
			     s->stream ? accept_event : udp_event, s)) < 0) {
			snprintf(errbuf, errlen, "inherited fd %d: %s", fd,
				 tether_strerror(rc));
			return rc;
		}
		n->nsocks++;
	}
	return (int)k;
}

static int
register_sock(struct pm_net *n, const struct pm_sock *s)
{
	char ua[TETHER_UADDR_STRLEN];

	if (tether_addr_to_uaddr(&s->addr, s->netid, ua, sizeof(ua)) < 0)
		return -TETHER_EINVAL;
	return pm_register_self(n->ctx, s->netid, ua);
}

int
pm_net_open(struct pm_net **out, struct pm_ctx *ctx, struct tether_loop *loop,
	    char *errbuf, size_t errlen)
{
	static const char *const dflt[] = { "::", "0.0.0.0" };
	const struct pm_config *cfg = &ctx->cfg;
	const char *const *hosts = cfg->nlisten ? cfg->listen : dflt;
	int nhosts = cfg->nlisten ? cfg->nlisten : 2;
	struct pm_net *n;
	struct tether_addr a;
	int i, rc;

	n = tether_calloc(1, sizeof(*n));
	if (n == NULL)
		return -TETHER_ENOMEM;
	n->ctx = ctx;
	n->loop = loop;
	tether_buf_init(&n->reply, PM_MAX_REPLY);
	rc = adopt_fds(n, errbuf, errlen);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
		/* The sockets given are all we listen on (-a and -s are
		 * ignored, as rpcbind ignores -h under socket activation);
		 * registered in rpcbind's netid order. The inherited local
		 * socket belongs to whoever made it: never unlinked. */
		static const enum tether_netid order[] = {
			TETHER_NETID_TCP6, TETHER_NETID_UDP6, TETHER_NETID_TCP,
			TETHER_NETID_UDP, TETHER_NETID_LOCAL
		};
		size_t o;

		for (o = 0; o < TETHER_ARRAY_SIZE(order); o++)
			for (i = 0; i < n->nsocks; i++)
				if (n->socks[i].netid == order[o] &&
				    (rc = register_sock(n, &n->socks[i])) < 0) {
					snprintf(errbuf, errlen,
						 "inherited "
						 "socket: %s",
						 tether_strerror(rc));
					goto fail;
				}
		*out = n;
		return 0;
	}
	for (i = 0; i < nhosts; i++) {
		int v6;

		rc = tether_addr_parse(&a, hosts[i], cfg->port);
		if (rc < 0) {
			snprintf(errbuf, errlen, "%s: %s", hosts[i],
				 tether_strerror(rc));
			goto fail;
		}
		v6 = a.ss.ss_family == AF_INET6;
		/* rpcbind's order: tcp before udp for each address. */
		if ((rc = open_sock(n, &a, SOCK_STREAM,
				    v6 ? TETHER_NETID_TCP6 : TETHER_NETID_TCP,
				    errbuf, errlen)) < 0 ||
		    (rc = register_sock(n, &n->socks[n->nsocks - 1])) < 0)
			goto fail;
		if ((rc = open_sock(n, &a, SOCK_DGRAM,
				    v6 ? TETHER_NETID_UDP6 : TETHER_NETID_UDP,
				    errbuf, errlen)) < 0 ||
		    (rc = register_sock(n, &n->socks[n->nsocks - 1])) < 0)
			goto fail;
	}
	if (cfg->sock_path != NULL && cfg->sock_path[0] != '\0') {
		struct stat st;

		rc = tether_addr_parse(&a, cfg->sock_path, -1);
		if (rc < 0 || a.ss.ss_family != AF_UNIX) {
			snprintf(errbuf, errlen, "%s: not an absolute path",
				 cfg->sock_path);
			rc = -TETHER_EINVAL;
			goto fail;
		}
		snprintf(n->sock_path, sizeof(n->sock_path), "%s",
			 cfg->sock_path);
		/* A socket left by a previous instance (kill -9). */
		if (lstat(n->sock_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(n->sock_path);
		if ((rc = open_sock(n, &a, SOCK_STREAM, TETHER_NETID_LOCAL,
				    errbuf, errlen)) < 0) {
			n->sock_path[0] = '\0';
			goto fail;
		}
		if ((rc = pm_register_self(ctx, TETHER_NETID_LOCAL,
					   n->sock_path)) < 0)
			goto fail;
	}
	*out = n;
	return 0;
fail:
	pm_net_close(n);
	return rc;
}

void
pm_net_close(struct pm_net *n)
{
	int i;

	if (n == NULL)
		return;
	while (n->nconns > 0)
		conn_close(n->conns[0]);
	for (i = 0; i < n->nsocks; i++) {
		tether_loop_fd_del(n->loop, n->socks[i].fd);
		close(n->socks[i].fd);
	}
	if (n->sock_path[0] != '\0')
		unlink(n->sock_path);
	tether_buf_free(&n->reply);
	tether_free(n);
}
