/*
 * krelay.c - the kernel relay: three BPF maps and a verdict program,
 * written as instructions here (no clang BPF target, no libbpf).
 *
 * lb_kr_socks, a SOCKHASH keyed by socket cookie, holds the sockets of
 * the sessions moved to the kernel; lb_kr_peers, a HASH keyed by cookie
 * too, gives each socket its peer's cookie and the verdict's counts;
 * lb_kr_ctl, written by user space only, gives each socket its byte
 * budget and where a pause may end. The verdict program, attached as
 * BPF_SK_SKB_VERDICT (no stream parser), sees each skb the socket
 * receives and redirects it to the peer's send side (bpf_sk_redirect_hash) while the bytes redirected stay within
 * the budget. Past it the direction pauses: every skb from then on is
 * passed to the socket's own queue (SK_PASS), where it counts against
 * the socket's receive buffer, so TCP closes the sender's window as it
 * would for a process that does not read. User space reads those bytes
 * (lb_krelay_parked says when it may: after the redirected ones),
 * writes them on with its own back-pressure, and sets a new budget and
 * `resume` to the bytes it read; the verdict redirects again once it
 * has passed no byte user space has not read. That bounds the bytes a
 * direction holds in the kernel to about `kernel-relay-window` plus the
 * receive buffer: the redirect queue itself has no limit.
 *
 * The kernel sends redirected bytes from a work item of the target
 * socket, so they reach it a little after the count: a FIN is passed
 * on only once lb_krelay_drained says they all have.
 *
 * No stream parser: with one (BPF_SK_SKB_STREAM_PARSER), bytes the
 * verdict passed to the socket's own queue could not be read back once
 * both directions were busy (recv() said EAGAIN for good on 6.18; an
 * echo test stalled in every batch of runs), while the verdict alone
 * passed all.
 * (bench/lb's floor-sockmap saw this mode miss bytes queued before the
 * move; here SO_RCVLOWAT holds them during the move and lowering it
 * runs the verdict on them: tcp_set_rcvlowat calls data_ready.)
 * A FIN arrives as an skb without bytes: it is dropped (a redirect of
 * nothing is an error, EPIPE, on the target, and so is a pass that has
 * to wait in the socket's psock queue); the FIN is in the socket's
 * state already, and recv() returns 0 once parked bytes are read.
 * A retransmission over bytes already received comes whole too: the
 * verdict follows the sequence (next) and cuts off its head;
 * lb_krelay_sound catches what it cannot know (bytes read before the
 * move) by TCP's own count of bytes received.
 */
#include "krelay.h"
#include "bpfasm.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

#define KR_HOLD	32768	/* SO_RCVLOWAT while moving: no data_ready */

/* Written by the verdict (after user space created it). */
struct kr_val {
	uint64_t peer;		/* the peer socket's cookie */
	uint64_t bytes;		/* received here and redirected */
	uint64_t parked;	/* received here while paused: left here */
	uint64_t paused;	/* 1: pass, do not redirect */
	uint64_t next;		/* TCP sequence the next new byte has */
	uint64_t seqok;		/* 1: next is known (an skb was seen) */
	uint64_t trimmed;	/* bytes seen twice and cut off */
	uint64_t broken;	/* 1: an skb could not be cut: park all */
};

/* Written by user space only: a whole value is replaced at once. */
struct kr_ctl {
	uint64_t budget;	/* redirect while bytes stays within it */
	uint64_t resume;	/* a pause ends when parked equals it */
};

static int kr_socks = -1, kr_peers = -1, kr_ctl = -1;
static int kr_verdict = -1, kr_ring = -1, kr_lost = -1;
/* The ring buffer: its consumer page (ours to write), its producer page
 * and the data pages after it (mapped twice by the kernel). */
static uint64_t *kr_cons;
static int64_t kr_notsent_lowat = INT32_MAX;	/* the host's sysctl */
static unsigned char *kr_prod;
static size_t kr_ring_size, kr_page;
static int kr_ready;

/*
 * The ring buffer the verdict writes a socket's cookie to for every skb
 * it parks: 16 bytes a record, 64 bytes per socket pair (a power of two
 * of pages, at least 64 KiB: 4 MiB for 65536 sessions). Parks happen
 * only while a receiver lags, and user space reads them as they come;
 * were the ring full, a notice is lost, and the session's idle timer
 * finds its parked bytes (k_timer).
 */
/* net.ipv4.tcp_notsent_lowat (unset: a huge number). Read once, at
 * set-up (this network namespace's). */
static void
read_notsent_lowat(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_notsent_lowat", "r");
	long long v;

	if (f == NULL)
		return;
	if (fscanf(f, "%lld", &v) == 1 && v > 0 && v < INT32_MAX)
		kr_notsent_lowat = v;
	(void)fclose(f);
}

static int
ring_setup(uint32_t nsocks, char *errbuf, size_t errlen)
{
	size_t want = (size_t)nsocks * 32;	/* nsocks: 2 per session */
	void *p;

	kr_page = (size_t)sysconf(_SC_PAGESIZE);
	for (kr_ring_size = 65536; kr_ring_size < want; kr_ring_size *= 2)
		;
	kr_ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, 0, 0,
				 (uint32_t)kr_ring_size, 0);
	if (kr_ring < 0) {
		snprintf(errbuf, errlen, "ring buffer: %s", strerror(errno));
		return -1;
	}
	p = mmap(NULL, kr_page, PROT_READ | PROT_WRITE, MAP_SHARED, kr_ring,
		 0);
	if (p == MAP_FAILED)
		goto fail;
	kr_cons = p;
	p = mmap(NULL, kr_page + 2 * kr_ring_size, PROT_READ, MAP_SHARED,
		 kr_ring, (off_t)kr_page);
	if (p == MAP_FAILED)
		goto fail;
	kr_prod = p;
	return 0;
fail:
	snprintf(errbuf, errlen, "ring buffer mmap: %s", strerror(errno));
	return -1;
}

uint64_t
lb_krelay_lost(void)
{
	uint32_t key = 0;
	uint64_t v = 0;

	if (kr_lost >= 0)
		(void)bpf_map_op(BPF_MAP_LOOKUP_ELEM, kr_lost, &key, &v);
	return v;
}

int
lb_krelay_ring_fd(void)
{
	return kr_ring;
}

size_t
lb_krelay_ring_read(uint64_t *cookies, size_t max)
{
	uint64_t cons, prod;
	size_t n = 0;

	if (kr_cons == NULL)
		return 0;
	cons = __atomic_load_n(kr_cons, __ATOMIC_RELAXED);
	prod = __atomic_load_n((uint64_t *)(void *)kr_prod,
			       __ATOMIC_ACQUIRE);
	while (cons < prod && n < max) {
		const unsigned char *rec = kr_prod + kr_page +
					   (cons & (kr_ring_size - 1));
		uint32_t len = __atomic_load_n((const uint32_t *)
					       (const void *)rec,
					       __ATOMIC_ACQUIRE);

		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT) &&
		    (len & ~BPF_RINGBUF_DISCARD_BIT) >= sizeof(uint64_t))
			memcpy(&cookies[n++], rec + BPF_RINGBUF_HDR_SZ,
			       sizeof(uint64_t));
		len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~(uint64_t)7;
		__atomic_store_n(kr_cons, cons, __ATOMIC_RELEASE);
	}
	return n;
}

void
lb_krelay_close(void)
{
	int *fds[] = { &kr_verdict, &kr_peers, &kr_ctl, &kr_socks, &kr_ring,
			&kr_lost };
	size_t i;

	if (kr_cons != NULL)
		(void)munmap(kr_cons, kr_page);
	if (kr_prod != NULL)
		(void)munmap(kr_prod, kr_page + 2 * kr_ring_size);
	kr_cons = NULL;
	kr_prod = NULL;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			(void)close(*fds[i]);
		*fds[i] = -1;
	}
	kr_ready = 0;
}

int
lb_krelay_setup(unsigned max_sessions, char *errbuf, size_t errlen)
{
	/*
	 * r6 skb, r7 its kr_val, r8 its kr_ctl, r9 its length. Paused:
	 * stay so (park) unless every parked byte was read (resume ==
	 * parked). Then redirect if the count stays within the budget,
	 * else pause and park. Each socket's verdicts run one at a time
	 * (under its lock), so plain stores suffice.
	 */
	struct bpf_insn verdict[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0,
		     BPF_FUNC_get_socket_cookie),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0),
		INSN_LOOKUP(-8),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 93, 0),	/* pass */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),
		INSN_LOOKUP(-8),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 86, 0),	/* pass */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 8, 0, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, 9, 6,
		     offsetof(struct __sk_buff, len), 0),
		/* No bytes (the FIN): drop. A redirect of nothing is an
		 * error (EPIPE) on the target, and so is a pass that has to
		 * wait in the socket's psock queue; the FIN itself is in the
		 * socket's state already (recv() returns 0 once the parked
		 * bytes are read). */
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 9, 0, 85, 0),	/* drop */
		/* A retransmission that overlaps bytes already received is
		 * queued whole (its head before rcv_nxt); a reader skips the
		 * head by the socket's copied_seq, the verdict gets the whole
		 * skb and would relay the head twice. So track the sequence
		 * (cb[0] holds TCP_SKB_CB's seq here): next, the sequence
		 * of the first byte not yet seen; cut off what comes before
		 * it, at most 4095 bytes per bpf_skb_adjust_room, 32 times.
		 * r8 (kr_ctl) waits on the stack meanwhile. Once broken,
		 * every skb parks: none goes on past the hole. */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 7,
		     offsetof(struct kr_val, broken), 0),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 1, 0, 37, 0),	/* broken */
		INSN(BPF_LDX | BPF_MEM | BPF_W, 1, 6,
		     offsetof(struct __sk_buff, cb[0]), 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 2, 7,
		     offsetof(struct kr_val, next), 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 7,
		     offsetof(struct kr_val, seqok), 0),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 3, 0, 2, 0),	/* known */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 1, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 7, 0,
		     offsetof(struct kr_val, seqok), 1),
		/* known: */
		INSN(BPF_ALU | BPF_MOV | BPF_X, 3, 1, 0, 0),
		INSN(BPF_ALU | BPF_ADD | BPF_X, 3, 9, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 7, 3,
		     offsetof(struct kr_val, next), 0),
		INSN(BPF_ALU | BPF_SUB | BPF_X, 2, 1, 0, 0),
		INSN(BPF_JMP32 | BPF_JSLE | BPF_K, 2, 0, 25, 0), /* whole */
		INSN(BPF_JMP | BPF_JGE | BPF_X, 2, 9, 25, 0),	/* broken */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 7,
		     offsetof(struct kr_val, trimmed), 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_X, 3, 2, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 7, 3,
		     offsetof(struct kr_val, trimmed), 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 2, -32, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 8, -48, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 8, 0, 0, 0),
		/* cut: r8 counts the calls, fp-32 what is left */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 2, 10, -32, 0),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 14, 0),	/* cut */
		INSN(BPF_JMP | BPF_JGE | BPF_K, 8, 0, 16, 32),	/* broken */
		INSN(BPF_JMP | BPF_JLE | BPF_K, 2, 0, 1, 4095),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 4095),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 10, -32, 0),
		INSN(BPF_ALU64 | BPF_SUB | BPF_X, 3, 2, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 3, -32, 0),
		INSN(BPF_ALU64 | BPF_NEG, 2, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_skb_adjust_room),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 8, 0, 0, 1),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, -15, 0),	/* cut */
		INSN(BPF_JMP | BPF_JA, 0, 0, 3, 0),		/* broken */
		/* cut: the length is less now */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 8, 10, -48, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, 9, 6,
		     offsetof(struct __sk_buff, len), 0),
		/* whole: */
		INSN(BPF_JMP | BPF_JA, 0, 0, 2, 0),		/* on */
		/* broken: nothing else can be done without relaying
		 * some bytes twice; park (the notice wakes user space,
		 * which finds it broken and resets the session). */
		INSN(BPF_ST | BPF_MEM | BPF_DW, 7, 0,
		     offsetof(struct kr_val, broken), 1),
		INSN(BPF_JMP | BPF_JA, 0, 0, 21, 0),		/* pause */
		/* on: */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 7,
		     offsetof(struct kr_val, paused), 0),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 4, 0),	/* check */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 2, 7,
		     offsetof(struct kr_val, parked), 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 8,
		     offsetof(struct kr_ctl, resume), 0),
		INSN(BPF_JMP | BPF_JNE | BPF_X, 2, 3, 17, 0),	/* park */
		INSN(BPF_ST | BPF_MEM | BPF_DW, 7, 0,
		     offsetof(struct kr_val, paused), 0),
		/* check: */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 2, 7,
		     offsetof(struct kr_val, bytes), 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_X, 2, 9, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 8,
		     offsetof(struct kr_ctl, budget), 0),
		INSN(BPF_JMP | BPF_JGT | BPF_X, 2, 3, 11, 0),	/* pause */
		INSN(BPF_STX | BPF_MEM | BPF_DW, 7, 2,
		     offsetof(struct kr_val, bytes), 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 7,
		     offsetof(struct kr_val, peer), 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -16, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, 0),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_hash),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		/* pause: */
		INSN(BPF_ST | BPF_MEM | BPF_DW, 7, 0,
		     offsetof(struct kr_val, paused), 1),
		/* park: count the skb, then tell user space (the ring
		 * buffer carries the socket's cookie, still at fp-8). Every
		 * parked skb is told, and after its count: a reader that
		 * resumed a moment before and found nothing parked cannot
		 * miss it. */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 2, 7,
		     offsetof(struct kr_val, parked), 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_X, 2, 9, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 7, 2,
		     offsetof(struct kr_val, parked), 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, 0),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output),
		/* The ring was full: count it (lb_kr_lost[0]), so user
		 * space looks at every moved session. */
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 9, 0),	/* pass */
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -24, 0),
		INSN_LOOKUP(-24),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0),	/* pass */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD),
		/* pass: */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_PASS),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		/* drop: */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, SK_DROP),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	uint32_t n = max_sessions > 0 && max_sessions < (1u << 20) ?
		     2 * max_sessions : 2u << 20;

	if (kr_ready)
		return 0;
	kr_socks = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, sizeof(uint64_t),
				  sizeof(uint64_t), n, 0);
	if (kr_socks < 0) {
		snprintf(errbuf, errlen, "sockhash: %s", strerror(errno));
		goto fail;
	}
	kr_peers = bpf_map_create(BPF_MAP_TYPE_HASH, sizeof(uint64_t),
				  sizeof(struct kr_val), n, BPF_F_NO_PREALLOC);
	kr_ctl = bpf_map_create(BPF_MAP_TYPE_HASH, sizeof(uint64_t),
				sizeof(struct kr_ctl), n, BPF_F_NO_PREALLOC);
	if (kr_peers < 0 || kr_ctl < 0) {
		snprintf(errbuf, errlen, "hash map: %s", strerror(errno));
		goto fail;
	}
	if (ring_setup(n, errbuf, errlen) < 0)
		goto fail;
	read_notsent_lowat();
	kr_lost = bpf_map_create(BPF_MAP_TYPE_ARRAY, sizeof(uint32_t),
				 sizeof(uint64_t), 1, 0);
	if (kr_lost < 0) {
		snprintf(errbuf, errlen, "array map: %s", strerror(errno));
		goto fail;
	}
	verdict[3].imm = kr_peers;
	verdict[10].imm = kr_ctl;
	verdict[74].imm = kr_socks;
	verdict[85].imm = kr_ring;
	verdict[94].imm = kr_lost;
	kr_verdict = bpf_prog_load_skb(verdict,
				       sizeof(verdict) / sizeof(verdict[0]),
				       errbuf, errlen);
	if (kr_verdict < 0)
		goto fail;
	if (bpf_prog_attach(kr_socks, kr_verdict, BPF_SK_SKB_VERDICT) < 0) {
		snprintf(errbuf, errlen, "BPF_PROG_ATTACH: %s",
			 strerror(errno));
		goto fail;
	}
	kr_ready = 1;
	return 0;
fail:
	lb_krelay_close();
	return -1;
}

int
lb_krelay_ready(void)
{
	return kr_ready;
}

static void
lowat(int fd, int v)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v));
}

/* TCP's own counts of fd, from TCP_INFO (glibc's struct tcp_info ends
 * before them): bytes acked by the peer, and bytes received in order
 * (rcv_nxt's advance; its peer's FIN counts one there too, which
 * lb_krelay_sound allows rather than guess from the state: that is
 * TCP_CLOSE after a FIN as after a reset). */
static int
tcp_count(int fd, int received, uint64_t *out)
{
	struct {
		struct tcp_info old;
		uint64_t pacing_rate, max_pacing_rate, bytes_acked;
		uint64_t bytes_received;
	} ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < sizeof(ti))
		return -1;
	*out = received ? ti.bytes_received : ti.bytes_acked;
	return 0;
}

static int
acked(int fd, uint64_t *out)
{
	return tcp_count(fd, 0, out);
}

static int
received(int fd, uint64_t *out)
{
	return tcp_count(fd, 1, out);
}

/* Bytes fd had received before the verdict sees any: received less
 * what waits unread (SIOCINQ, before the socket is in the sockmap),
 * read until both stand still. */
static int
received_read(int fd, uint64_t *out)
{
	uint64_t r;
	int q1, q2, tries;

	for (tries = 0; tries < 16; tries++) {
		if (ioctl(fd, SIOCINQ, &q1) < 0 || received(fd, &r) < 0 ||
		    ioctl(fd, SIOCINQ, &q2) < 0)
			return -1;
		if (q1 == q2 && q1 >= 0 && (uint64_t)q1 <= r) {
			*out = r - (uint64_t)q1;
			return 0;
		}
	}
	errno = EAGAIN;
	return -1;
}

/* Bytes fd has taken to send since it was opened: acked, plus still in
 * its send queue. Two calls: an ACK between them would move bytes from
 * the queue to acked and count them twice, so read acked again until it
 * stands still around the queue's size. */
static int
taken(int fd, uint64_t *out)
{
	uint64_t a, b;
	int q, tries;

	for (tries = 0; tries < 16; tries++) {
		if (acked(fd, &a) < 0 || ioctl(fd, SIOCOUTQ, &q) < 0 ||
		    acked(fd, &b) < 0)
			return -1;
		if (a == b) {
			*out = a + (uint64_t)q;
			return 0;
		}
	}
	errno = EAGAIN;
	return -1;
}

/* Send-queue bytes of fd not yet acknowledged; -1 if unknown. */
static int64_t
outq(int fd)
{
	int q = 0;

	if (ioctl(fd, SIOCOUTQ, &q) < 0)
		return -1;
	return q;
}

/*
 * Give side's socket its budget: what the verdict has redirected so
 * far, plus at most the window, and no more than dst's send buffer has
 * room for now (half of SO_SNDBUF, which counts skb overhead too, less
 * what waits in it). Then a redirected skb never waits for room in the
 * queue of dst's psock, which it shares with the bytes dst's own
 * verdict passes: one waiting there would hold those back from
 * user space, and with them the other direction (an echo server that
 * stops reading while it cannot send). Past the budget the direction
 * pauses. resume: the parked bytes read so far. open: 0 for a budget
 * of nothing (everything parks).
 */
static int
set_ctl(const struct lb_krelay *k, int side, uint64_t redirected, int dst,
	int open)
{
	struct kr_ctl c;
	int64_t q = outq(dst), room;
	int sndbuf = 0, unsent = 0;
	socklen_t len = sizeof(sndbuf);

	if (q < 0 || getsockopt(dst, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				&len) < 0 || ioctl(dst, SIOCOUTQNSD, &unsent) < 0)
		return -1;
	room = (int64_t)sndbuf / 2 - q;
	/* TCP refuses more (EAGAIN) while unsent bytes pass the host's
	 * tcp_notsent_lowat too: the same wait in the psock queue. */
	if ((int64_t)kr_notsent_lowat - unsent < room)
		room = (int64_t)kr_notsent_lowat - unsent;
	if (room > (int64_t)k->window)
		room = k->window;
	c.budget = redirected + (open && room > 0 ? (uint64_t)room : 0);
	c.resume = k->uread[side];
	return bpf_map_op(BPF_MAP_UPDATE_ELEM, kr_ctl, &k->cookie[side], &c);
}

/* The verdict's value of side's socket. 0 or -1. */
static int
kr_get(const struct lb_krelay *k, int side, struct kr_val *v)
{
	return bpf_map_op(BPF_MAP_LOOKUP_ELEM, kr_peers, &k->cookie[side], v);
}

int
lb_krelay_link(struct lb_krelay *k, int cfd, int bfd, uint32_t window)
{
	int fd[2] = { cfd, bfd }, i, in = 0, lost = 0, err;
	struct kr_val v;
	socklen_t len;

	if (!kr_ready)
		return -1;
	memset(k, 0, sizeof(*k));
	k->window = window;
	for (i = 0; i < 2; i++) {
		len = sizeof(k->cookie[i]);
		if (getsockopt(fd[i], SOL_SOCKET, SO_COOKIE, &k->cookie[i],
			       &len) < 0 || taken(fd[i], &k->base[i]) < 0)
			return -1;
	}
	lowat(cfd, KR_HOLD);
	lowat(bfd, KR_HOLD);
	/* After the hold: what arrives now waits for the verdict. */
	for (i = 0; i < 2; i++) {
		if (received_read(fd[i], &k->rx0[i]) < 0) {
			lowat(cfd, 1);
			lowat(bfd, 1);
			return -1;
		}
	}
	/* The budget before the counts: a verdict that finds the counts
	 * finds the budget. None yet: until both sockets are in, a
	 * redirect could find no peer and drop; bytes park instead. */
	for (i = 0; i < 2; i++) {
		if (set_ctl(k, i, 0, fd[!i], 0) < 0)
			goto undo;
		memset(&v, 0, sizeof(v));
		v.peer = k->cookie[!i];
		if (bpf_map_op(BPF_MAP_UPDATE_ELEM, kr_peers, &k->cookie[i],
			       &v) < 0)
			goto undo;
	}
	/* The backend first: the client's bytes need it there. */
	for (i = 1; i >= 0; i--) {
		uint64_t f = (uint64_t)fd[i];

		if (bpf_map_op(BPF_MAP_UPDATE_ELEM, kr_socks, &k->cookie[i],
			       &f) < 0)
			goto undo;
		in |= 1 << i;
	}
	/* Both in: the real budgets. Should one fail, its direction keeps
	 * budget 0 and every skb parks: user space relays it (a socket
	 * taken out now would lose what parked). */
	for (i = 0; i < 2; i++)
		(void)set_ctl(k, i, 0, fd[!i], 1);
	/* Back to 1: data_ready now runs the verdict on what waited. */
	lowat(cfd, 1);
	lowat(bfd, 1);
	return 0;
undo:
	err = errno;
	for (i = 0; i < 2; i++)
		if (in & (1 << i))
			(void)bpf_map_op(BPF_MAP_DELETE_ELEM, kr_socks,
					 &k->cookie[i], NULL);
	/* Back to 1 first: setsockopt takes the socket's lock, so a verdict
	 * still running on another CPU has finished when it returns. */
	lowat(cfd, 1);
	lowat(bfd, 1);
	/* Out of the map, a psock is gone, and with it what the verdict
	 * parked there (budget 0: all it took). That holds for the socket
	 * whose insert failed too: the kernel makes its psock before it
	 * finds no room. The hold keeps it to a FIN or a burst past
	 * KR_HOLD in the moment of the move. */
	for (i = 0; i < 2; i++)
		if (kr_get(k, i, &v) == 0 && v.parked > 0)
			lost = 1;
	lb_krelay_unlink(k);
	errno = err;
	return lost ? -2 : -1;
}

void
lb_krelay_unlink(struct lb_krelay *k)
{
	int i;

	for (i = 0; i < 2; i++) {
		(void)bpf_map_op(BPF_MAP_DELETE_ELEM, kr_peers, &k->cookie[i],
				 NULL);
		(void)bpf_map_op(BPF_MAP_DELETE_ELEM, kr_ctl, &k->cookie[i],
				 NULL);
	}
}

uint64_t
lb_krelay_count(const struct lb_krelay *k, int side, uint64_t *cut)
{
	struct kr_val v;

	if (kr_get(k, side, &v) < 0)
		v.bytes = v.trimmed = 0;
	if (cut != NULL)
		*cut = v.trimmed;
	return v.bytes;
}

/* Every byte the verdict redirected from side has reached dst's send
 * queue: dst took (acked plus queued) since the move what user space
 * wrote to it plus the count. */
static int
pushed(const struct lb_krelay *k, int side, int dst, uint64_t redirected)
{
	uint64_t t;

	if (taken(dst, &t) < 0)
		return 0;
	return redirected == t - k->base[!side] - k->uw[side];
}

int
lb_krelay_parked(const struct lb_krelay *k, int side, int dst)
{
	struct kr_val v;

	if (kr_get(k, side, &v) < 0 || v.parked == k->uread[side])
		return 0;
	return pushed(k, side, dst, v.bytes) ? 1 : -1;
}

int
lb_krelay_resume(const struct lb_krelay *k, int side, int dst)
{
	struct kr_val v;

	if (kr_get(k, side, &v) < 0)
		return -1;
	return set_ctl(k, side, v.bytes, dst, 1);
}

int
lb_krelay_drained(const struct lb_krelay *k, int side, int src, int dst)
{
	struct kr_val v;
	int inq = 0;

	if (ioctl(src, SIOCINQ, &inq) < 0 || inq > 0 ||
	    kr_get(k, side, &v) < 0 || v.parked != k->uread[side])
		return 0;
	return pushed(k, side, dst, v.bytes);
}

int
lb_krelay_sound(const struct lb_krelay *k, int side, int src)
{
	struct kr_val v;
	uint64_t rx;

	if (kr_get(k, side, &v) < 0)
		return 0;		/* unknown: nothing to say */
	if (v.broken)
		return -1;
	if (received(src, &rx) < 0 || rx < k->rx0[side])
		return 0;
	return v.bytes + v.parked > rx - k->rx0[side] ? -1 : 0;
}
