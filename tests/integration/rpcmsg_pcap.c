/*
 * rpcmsg_pcap.c - writes every RPC message form our encoder produces into
 * a pcap file (Ethernet/IPv4, TCP with record marking and UDP, correct
 * checksums) for tshark to dissect, and a file of the values tshark must
 * decode from it, one line per RPC message: see rpcmsg_tshark.sh.
 * Usage: rpcmsg_pcap OUT.pcap FIRST.expect ALL.expect PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether/rpc.h"

#define PROG 0x2fedcb01u	/* user-defined range, no dissector of its own */
#define VERS 3u

static FILE *pcap;
static FILE *expect_first;
static FILE *expect_all;
static unsigned short port;
static uint32_t tcp_seq[2] = { 0x10000000u, 0x20000000u };
static unsigned pkt_time;

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
le32(FILE *f, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };

	fwrite(b, 1, 4, f);
}

static uint32_t
csum_add(uint32_t sum, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static unsigned
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/*
 * One Ethernet/IPv4 frame from client (dir 0, 10.0.0.1:40000) to server
 * (dir 1, 10.0.0.2:port) or back; proto 6 (TCP, with flags) or 17.
 */
static void
frame(int dir, int proto, unsigned flags, const void *pl, size_t n)
{
	static unsigned ip_id = 1;
	unsigned char f[14 + 20 + 20 + 65536];
	unsigned char *ip = f + 14, *l4 = ip + 20, ph[12];
	size_t l4len = (proto == 6 ? 20 : 8) + n, total = 14 + 20 + l4len;
	unsigned sport = dir ? port : 40000, dport = dir ? 40000 : port;
	uint32_t sum;

	if (n > 65000) {
		fprintf(stderr, "frame too large\n");
		exit(1);
	}
	memset(f, 0, 14 + 20 + 20);
	memcpy(f, dir ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
	memcpy(f + 6, dir ? "\x02\0\0\0\0\x02" : "\x02\0\0\0\0\x01", 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(20 + l4len));
	put16(ip + 4, ip_id++);
	put16(ip + 6, 0x4000);	/* DF */
	ip[8] = 64;
	ip[9] = (unsigned char)proto;
	memcpy(ip + 12, dir ? "\x0a\0\0\x02" : "\x0a\0\0\x01", 4);
	memcpy(ip + 16, dir ? "\x0a\0\0\x01" : "\x0a\0\0\x02", 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (proto == 6) {
		put32(l4 + 4, tcp_seq[dir]);
		put32(l4 + 8, (flags & 0x10) ? tcp_seq[!dir] : 0);
		l4[12] = 5 << 4;
		l4[13] = (unsigned char)flags;
		put16(l4 + 14, 65535);
		if (n > 0)
			memcpy(l4 + 20, pl, n);
		tcp_seq[dir] += (uint32_t)n + ((flags & 0x03) ? 1 : 0);
	} else {
		put16(l4 + 4, (unsigned)l4len);
		if (n > 0)
			memcpy(l4 + 8, pl, n);
	}
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = (unsigned char)proto;
	put16(ph + 10, (unsigned)l4len);
	sum = csum_add(csum_add(0, ph, 12), l4, l4len);
	put16(l4 + (proto == 6 ? 16 : 6), csum_fold(sum) ? csum_fold(sum) :
							  0xffff);
	/* pcap record header: seconds, microseconds, caplen, len. */
	le32(pcap, 1700000000u + pkt_time / 1000);
	le32(pcap, (pkt_time % 1000) * 1000);
	pkt_time++;
	le32(pcap, (uint32_t)total);
	le32(pcap, (uint32_t)total);
	fwrite(f, 1, total, pcap);
}

static void
tcp_handshake(void)
{
	frame(0, 6, 0x02, NULL, 0);		/* SYN */
	frame(1, 6, 0x12, NULL, 0);		/* SYN ACK */
	frame(0, 6, 0x10, NULL, 0);		/* ACK */
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/*
 * The lines tshark's fields must reproduce, in the field order of
 * rpcmsg_tshark.sh. expect_first gets the first occurrence of each
 * field; expect_all every occurrence of the flavors and gids. For a
 * reply tshark shows the program, version and procedure of the
 * matching call.
 */
static void
write_expect(int tcp, const struct tether_rpc_msg *m,
	     const struct tether_rpc_msg *call)
{
	const struct tether_rpc_reply *r = &m->u.reply;
	char acc[16] = "", pmin[16] = "", pmax[16] = "", rej[16] = "";
	char vmin[16] = "", vmax[16] = "", ast[16] = "", fl[16] = "";
	char stamp[16] = "", uid[16] = "", name[300] = "";
	char flall[32] = "", gids[200] = "";

	if (m->type == TETHER_RPC_CALL) {
		const struct tether_rpc_opaque_auth *c = &m->u.call.cred;

		snprintf(fl, sizeof(fl), "%u", c->flavor);
		snprintf(flall, sizeof(flall), "%u,%u", c->flavor,
			 m->u.call.verf.flavor);
		if (c->flavor == TETHER_RPC_AUTH_SYS) {
			struct tether_rpc_authsys p;
			size_t n;
			uint32_t i;

			if (tether_rpc_authsys_decode(c, &p) != 0)
				exit(1);
			snprintf(stamp, sizeof(stamp), "0x%08x", p.stamp);
			snprintf(uid, sizeof(uid), "%u", p.uid);
			snprintf(name, sizeof(name), "%s", p.machinename);
			n = (size_t)snprintf(gids, sizeof(gids), "%u", p.gid);
			for (i = 0; i < p.ngids && n < sizeof(gids); i++)
				n += (size_t)snprintf(gids + n,
						      sizeof(gids) - n, ",%u",
						      p.gids[i]);
		}
	} else if (r->stat == TETHER_RPC_MSG_ACCEPTED) {
		snprintf(acc, sizeof(acc), "%u", (unsigned)r->accept_stat);
		if (r->accept_stat == TETHER_RPC_PROG_MISMATCH) {
			snprintf(pmin, sizeof(pmin), "%u", r->mismatch.low);
			snprintf(pmax, sizeof(pmax), "%u", r->mismatch.high);
		}
		snprintf(fl, sizeof(fl), "%u", r->verf.flavor);
		snprintf(flall, sizeof(flall), "%u", r->verf.flavor);
	} else {
		snprintf(rej, sizeof(rej), "%u", (unsigned)r->reject_stat);
		if (r->reject_stat == TETHER_RPC_RPC_MISMATCH) {
			snprintf(vmin, sizeof(vmin), "%u", r->mismatch.low);
			snprintf(vmax, sizeof(vmax), "%u", r->mismatch.high);
		} else {
			snprintf(ast, sizeof(ast), "%u", r->auth_stat);
		}
	}
	fprintf(expect_first, "%d|0x%08x|%u|%u|%u|%u|", tcp ? 6 : 17, m->xid,
		(unsigned)m->type, call->u.call.prog, call->u.call.vers,
		call->u.call.proc);
	if (m->type == TETHER_RPC_REPLY)
		fprintf(expect_first, "%u", (unsigned)r->stat);
	fprintf(expect_first, "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n", acc, pmin,
		pmax, rej, vmin, vmax, ast, fl, stamp, uid, name);
	fprintf(expect_all, "0x%08x|%u|%s|%s\n", m->xid, (unsigned)m->type,
		flall, gids);
}

/*
 * Encode m and a body of nbody 32-bit words after it (arguments or
 * results), then send it on TCP (record-marked in fragments of at most
 * max_frag bytes, the record split over segments of at most seg bytes)
 * or UDP (one datagram). Write the expected line for tshark.
 */
static void
send_msg(int tcp, struct tether_rpc_msg *m, const struct tether_rpc_msg *call,
	 unsigned nbody, size_t max_frag, size_t seg)
{
	unsigned char rec[2048];
	unsigned char hdrs[64][TETHER_RPC_RM_HDR_SIZE];
	unsigned char flat[4096];	/* outlives the framing block */
	struct iovec iov[128];
	struct tether_xdr x;
	struct tether_buf framed;
	int dir = m->type == TETHER_RPC_REPLY;
	unsigned i;
	size_t off;

	tether_xdr_init_encode(&x, rec, sizeof(rec));
	if (tether_rpc_msg_encode(&x, m) != 0) {
		fprintf(stderr, "encode failed: %s\n", x.err.what);
		exit(1);
	}
	for (i = 0; i < nbody; i++)
		if (tether_xdr_put_u32(&x, 0xa0000000u + i) != 0)
			exit(1);
	if (!tcp) {
		frame(dir, 17, 0, rec, tether_xdr_getpos(&x));
	} else {
		memset(&framed, 0, sizeof(framed));
		framed.max = sizeof(rec) * 2;
		if (m->xid & 1) {
			/* Both encoders get dissected: odd xids through the
			 * iovec framing, gathered as writev would. */
			size_t cnt, k, flen = 0;

			if (tether_rpc_rm_frame_iov(rec, tether_xdr_getpos(&x),
						    max_frag, hdrs, 64, iov,
						    128, &cnt) != 0)
				exit(1);
			for (k = 0; k < cnt; k++) {
				memcpy(flat + flen, iov[k].iov_base,
				       iov[k].iov_len);
				flen += iov[k].iov_len;
			}
			framed.data = flat;
			framed.len = flen;
		} else if (tether_rpc_rm_frame_buf(&framed, rec,
						   tether_xdr_getpos(&x),
						   max_frag) != 0) {
			exit(1);
		}
		for (off = 0; off < framed.len; off += seg) {
			size_t k = framed.len - off < seg ? framed.len - off :
							    seg;

			frame(dir, 6, 0x18, framed.data + off, k);
		}
		if (!(m->xid & 1))
			tether_free(framed.data);
	}

	write_expect(tcp, m, call);
}

/* A call of every credential form, then replies of every form. */
static void
conversation(int tcp, uint32_t xid0)
{
	static const uint32_t gids[] = { 4, 24, 27, 100 };
	struct tether_rpc_msg call, rep;
	struct tether_rpc_authsys sys;
	uint32_t xid = xid0;
	unsigned s;

	/* AUTH_NONE call, in 3 fragments and small segments on TCP. */
	tether_rpc_msg_init_call(&call, xid, PROG, VERS, 1);
	send_msg(tcp, &call, &call, 5, 20, 30);
	tether_rpc_msg_init_reply(&rep, xid);
	send_msg(tcp, &rep, &call, 2, 0, 1400);

	/* AUTH_SYS call; a reply for every accept_stat. */
	if (tether_rpc_authsys_init(&sys, 0x5f5e100, "tether-test.example",
				    1000, 100, TETHER_ARRAY_SIZE(gids),
				    gids) != 0 ||
	    tether_rpc_authsys_encode(&sys, &call.u.call.cred) != 0)
		exit(1);
	for (s = TETHER_RPC_SUCCESS; s <= TETHER_RPC_SYSTEM_ERR; s++) {
		xid++;
		call.xid = xid;
		call.u.call.proc = 2 + s;
		send_msg(tcp, &call, &call, 1,
			 s == TETHER_RPC_SUCCESS ? 48 : 0, 1400);
		tether_rpc_msg_init_reply(&rep, xid);
		rep.u.reply.accept_stat = (enum tether_rpc_accept_stat)s;
		rep.u.reply.mismatch.low = 2;
		rep.u.reply.mismatch.high = 5;
		send_msg(tcp, &rep, &call,
			 s == TETHER_RPC_SUCCESS ? 3 : 0, 0, 1400);
	}

	/* AUTH_SHORT credential (a handle a server gave out) answered with
	 * an AUTH_SHORT verifier, and a flavor we only pass through. */
	if (tether_rpc_auth_set(&call.u.call.cred, TETHER_RPC_AUTH_SHORT,
				"\x01\x02\x03\x04\x05\x06", 6) != 0)
		exit(1);
	xid++;
	call.xid = xid;
	call.u.call.proc = 10;
	send_msg(tcp, &call, &call, 2, 0, 1400);
	tether_rpc_msg_init_reply(&rep, xid);
	if (tether_rpc_auth_set(&rep.u.reply.verf, TETHER_RPC_AUTH_SHORT,
				"\xaa\xbb\xcc\xdd\xee\xff\x11\x22", 8) != 0)
		exit(1);
	send_msg(tcp, &rep, &call, 1, 0, 1400);
	if (tether_rpc_auth_set(&call.u.call.cred, 0x00fe0001u, "opaque!", 7))
		exit(1);
	xid++;
	call.xid = xid;
	call.u.call.proc = 11;
	send_msg(tcp, &call, &call, 1, 0, 1400);
	tether_rpc_msg_init_reply(&rep, xid);
	send_msg(tcp, &rep, &call, 0, 0, 1400);

	/* Denied: RPC_MISMATCH, then AUTH_ERROR with every auth_stat. */
	tether_rpc_auth_none(&call.u.call.cred);
	xid++;
	call.xid = xid;
	call.u.call.proc = 20;
	send_msg(tcp, &call, &call, 0, 0, 1400);
	tether_rpc_msg_init_reply(&rep, xid);
	rep.u.reply.stat = TETHER_RPC_MSG_DENIED;
	rep.u.reply.reject_stat = TETHER_RPC_RPC_MISMATCH;
	rep.u.reply.mismatch.low = 2;
	rep.u.reply.mismatch.high = 2;
	send_msg(tcp, &rep, &call, 0, 0, 1400);
	for (s = TETHER_RPC_AUTH_OK; s <= TETHER_RPC_RPCSEC_GSS_CTXPROBLEM;
	     s++) {
		xid++;
		call.xid = xid;
		call.u.call.proc = 30 + s;
		send_msg(tcp, &call, &call, 1, 0, 1400);
		tether_rpc_msg_init_reply(&rep, xid);
		rep.u.reply.stat = TETHER_RPC_MSG_DENIED;
		rep.u.reply.reject_stat = TETHER_RPC_AUTH_ERROR;
		rep.u.reply.auth_stat = s;
		send_msg(tcp, &rep, &call, 0, 0, 1400);
	}
}

int
main(int argc, char **argv)
{
	static const unsigned char hdr[24] = {
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0,	/* magic, v2.4 */
		0, 0, 0, 0, 0, 0, 0, 0,		/* zone, sigfigs */
		0xff, 0xff, 0, 0, 1, 0, 0, 0,	/* snaplen, Ethernet */
	};

	if (argc != 5) {
		fprintf(stderr, "usage: %s OUT.pcap FIRST.expect ALL.expect "
				"PORT\n", argv[0]);
		return 2;
	}
	port = (unsigned short)strtoul(argv[4], NULL, 10);
	pcap = fopen(argv[1], "wb");
	expect_first = fopen(argv[2], "w");
	expect_all = fopen(argv[3], "w");
	if (pcap == NULL || expect_first == NULL || expect_all == NULL ||
	    port == 0) {
		perror("rpcmsg_pcap");
		return 1;
	}
	fwrite(hdr, 1, sizeof(hdr), pcap);
	tcp_handshake();
	conversation(1, 0x1000);
	conversation(0, 0x2000);
	if (fclose(pcap) != 0 || fclose(expect_first) != 0 ||
	    fclose(expect_all) != 0) {
		perror("rpcmsg_pcap");
		return 1;
	}
	return 0;
}
