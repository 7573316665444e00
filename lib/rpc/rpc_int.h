/*
 * rpc_int.h - declarations private to lib/rpc: helpers shared between
 * the message codec, record marking, the server and the client, and the
 * server's socket-free entry points for the fuzzer and unit tests.
 */
#ifndef TETHER_RPC_INT_H
#define TETHER_RPC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tether/core.h"

/*
 * An output byte queue for a stream socket: bytes data[off..len) wait to
 * be written. Unbounded by itself; callers bound what they queue.
 */
struct tether__rpc_obuf {
	unsigned char *data;
	size_t off;
	size_t len;
	size_t cap;
};

/* Bytes waiting. */
static inline size_t
tether__rpc_obuf_pending(const struct tether__rpc_obuf *o)
{
	return o->len - o->off;
}

/* Room for n more bytes at data + len (not yet queued: commit them with
 * o->len += n). NULL when memory or size_t runs out. Moves the pending
 * bytes to the front when that makes room. */
unsigned char *tether__rpc_obuf_room(struct tether__rpc_obuf *o, size_t n);

/* Write what is pending to fd. Returns 0 when all is written or the
 * socket would block (check pending), a negative code when the socket
 * failed. *sent (may be NULL) gets the bytes written. */
int tether__rpc_obuf_flush(struct tether__rpc_obuf *o, int fd,
			   size_t *sent /* OUT */);
void tether__rpc_obuf_free(struct tether__rpc_obuf *o);

/* TCP_NODELAY on a TCP socket (ignored for others). */
void tether__rpc_nodelay(int fd);

/* A non-blocking, close-on-exec socket, or a negative code. */
int tether__rpc_socket(int family, int socktype);

/*
 * Server entry points without sockets (fuzzing, unit tests): a stream
 * connection whose input is fed by the caller and whose output piles up
 * for the caller to take. It follows every rule of a real connection
 * (limits, calls in flight, async completion).
 */
struct tether__rpc_svc_conn;
struct tether_rpc_server;

/* A fake connection counted like a real one. 0, -TETHER_EBUSY, -ENOMEM. */
int tether__rpc_server_fake_conn(struct tether_rpc_server *srv,
				 struct tether__rpc_svc_conn **out /* OUT */);
/* Feed stream bytes; returns how many were consumed (fewer than n when
 * the connection is paused by its in-flight limit or died). */
size_t tether__rpc_server_feed(struct tether__rpc_svc_conn *c, const void *p,
			       size_t n);
/* Non-zero once the connection is broken (e.g. an oversize record). */
int tether__rpc_server_conn_dead(const struct tether__rpc_svc_conn *c);
/* The output queued so far (framed records); _clear forgets it. */
const unsigned char *
tether__rpc_server_output(const struct tether__rpc_svc_conn *c,
			  size_t *len /* OUT */);
void tether__rpc_server_output_clear(struct tether__rpc_svc_conn *c);
/* Close a fake connection (its calls in flight are detached). */
void tether__rpc_server_conn_close(struct tether__rpc_svc_conn *c);

/* The client's next XID (the fuzzer makes them predictable). */
struct tether_rpc_client;
void tether__rpc_client_set_xid(struct tether_rpc_client *c, uint32_t xid);

#endif /* TETHER_RPC_INT_H */
