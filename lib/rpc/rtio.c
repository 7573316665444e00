/*
 * rtio.c - socket plumbing shared by the RPC server and client: the
 * output queue of a stream connection and non-blocking socket creation.
 */
#include "rpc/rpc_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

unsigned char *
tether__rpc_obuf_room(struct tether__rpc_obuf *o, size_t n)
{
	size_t pend = o->len - o->off, ncap;
	unsigned char *p;

	if (o->cap - o->len >= n)
		return o->data + o->len;
	if (o->off > 0) {
		/* Slide the pending bytes down before growing. */
		memmove(o->data, o->data + o->off, pend);
		o->off = 0;
		o->len = pend;
		if (o->cap - o->len >= n)
			return o->data + o->len;
	}
	if (n > SIZE_MAX / 2 - pend)
		return NULL;
	ncap = o->cap ? o->cap : 4096;
	while (ncap < pend + n)
		ncap *= 2;
	p = tether_realloc(o->data, ncap);
	if (p == NULL)
		return NULL;
	o->data = p;
	o->cap = ncap;
	return o->data + o->len;
}

int
tether__rpc_obuf_flush(struct tether__rpc_obuf *o, int fd,
		       size_t *sent /* OUT */)
{
	size_t total = 0;
	ssize_t n;
	int rc = 0;

	while (o->off < o->len) {
		n = send(fd, o->data + o->off, o->len - o->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rc = tether_err_from_errno(errno);
			break;
		}
		o->off += (size_t)n;
		total += (size_t)n;
	}
	if (o->off == o->len)
		o->off = o->len = 0;
	if (sent != NULL)
		*sent = total;
	return rc;
}

void
tether__rpc_obuf_free(struct tether__rpc_obuf *o)
{
	tether_free(o->data);
	memset(o, 0, sizeof(*o));
}

int
tether__rpc_socket(int family, int socktype)
{
	int fd = socket(family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return tether_err_from_errno(errno);
	return fd;
}

void
tether__rpc_nodelay(int fd)
{
	int one = 1;

	/* Records go out in one write each; never hold one back waiting
	 * for an ACK (a failure only costs latency). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
