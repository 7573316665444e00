/*
 * krelay.h - tether-lb's kernel relay (`kernel-relay on`, krelay.c):
 * a TCP session that has proved long-lived is moved into a BPF sockmap
 * whose stream verdict program redirects every byte received on one of
 * its sockets to the other's send side, so the kernel relays it and
 * user space only watches for the ends.
 */
#ifndef LB_KRELAY_H
#define LB_KRELAY_H

#include <stddef.h>
#include <stdint.h>

/* A session's part of the maps: its sockets' cookies ([0] client,
 * [1] backend), what each socket had taken to send when it moved (so
 * only the kernel's bytes count), the bytes seen at the last idle
 * check; per side (0: client to backend, 1: back), the parked bytes
 * user space read and the bytes it wrote on since the move, whether
 * it has seen the redirected bytes of the current pause all arrive
 * (held) or waits for them (want); the window. */
struct lb_krelay {
	uint64_t cookie[2];
	uint64_t base[2];
	uint64_t rx0[2];	/* bytes each socket had received, at the move */
	uint64_t seen;
	uint64_t uread[2], uw[2];
	int held[2], want[2];
	uint32_t window;
};

/*
 * lb_krelay_setup - create the maps (room for max_sessions sessions)
 * and load and attach the verdict program, once per process. Returns 0,
 * or -1 with why in errbuf (no CAP_BPF, no sockmap in the kernel,
 * a seccomp filter); lb_krelay_ready() then stays 0.
 */
int lb_krelay_setup(unsigned max_sessions, char *errbuf, size_t errlen);
int lb_krelay_ready(void);
void lb_krelay_close(void);

/*
 * lb_krelay_ring_fd - the ring buffer the verdict writes a socket's
 * cookie to for each skb it parks (readable in epoll; -1 before
 * set-up). lb_krelay_ring_read - take up to max such cookies;
 * returns how many.
 */
int lb_krelay_ring_fd(void);
/* lb_krelay_lost - notices the verdict could not write (ring full). */
uint64_t lb_krelay_lost(void);
size_t lb_krelay_ring_read(uint64_t *cookies, size_t max);

/*
 * lb_krelay_link - move the session of cfd and bfd into the kernel,
 * each direction with a budget of window bytes. The caller has passed
 * on every byte it read and holds none; bytes that arrive meanwhile
 * wait in the sockets (SO_RCVLOWAT holds them) and are relayed by the
 * kernel once both sockets are in. Returns 0, or -1 with nothing
 * changed (the session relays in user space on), or -2 when a socket
 * could not go in and the verdict had already parked bytes of either
 * one (more than the hold, or a FIN, came meanwhile; the kernel makes
 * the psock of the socket whose insert then fails, too): those went
 * with its psock when it came out, so the caller must reset the
 * session. errno is the failed step's.
 */
int lb_krelay_link(struct lb_krelay *k, int cfd, int bfd, uint32_t window);

/* lb_krelay_unlink - forget the session (its sockets leave the sockmap
 * when they are closed). */
void lb_krelay_unlink(struct lb_krelay *k);

/* lb_krelay_count - bytes the kernel redirected from side (0: client
 * to backend, 1: backend to client) since the move, 0 if unknown; *cut
 * (may be NULL): the bytes it cut off retransmissions it had seen. */
uint64_t lb_krelay_count(const struct lb_krelay *k, int side, uint64_t *cut);

/*
 * lb_krelay_parked - side is paused with parked bytes user space has
 * not read: 1 when they may be read and written to dst now (every
 * redirected byte reached dst first), -1 when redirected bytes are
 * still on their way (check again soon), 0 when none are parked.
 */
int lb_krelay_parked(const struct lb_krelay *k, int side, int dst);

/*
 * lb_krelay_resume - after user space wrote on every parked byte it
 * read (k->uread, k->uw updated): a new budget for side, and the
 * verdict redirects again once it has parked no byte more. 0 or -1.
 */
int lb_krelay_resume(const struct lb_krelay *k, int side, int dst);

/*
 * lb_krelay_drained - 1 when every byte received on side's socket src
 * has reached the send queue of the other, dst: none waits in src's
 * receive queue, user space read every parked byte, and dst has taken
 * all the kernel redirected (bytes acked plus SIOCOUTQ). The caller
 * checks that it holds none itself. Only then may dst be shut down or
 * closed.
 */
int lb_krelay_drained(const struct lb_krelay *k, int side, int src,
		      int dst);

/*
 * lb_krelay_sound - 0 while what the verdict took from side's socket
 * src is what TCP received there since the move (or less: some not
 * seen yet); -1 when it took more (bytes relayed twice: a
 * retransmission over bytes the verdict could not know, those user
 * space read before the move) or met an skb it could not cut: the
 * stream is no longer whole and the session must be reset.
 */
int lb_krelay_sound(const struct lb_krelay *k, int side, int src);

#endif /* LB_KRELAY_H */
