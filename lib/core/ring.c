/*
 * ring.c - the fixed-capacity byte ring between a socket and a parser.
 * Positions are kept as (head, len) rather than (read, write) offsets so
 * "full" and "empty" need no spare slot: the ring holds exactly size
 * bytes. When it empties, head goes back to 0 so the next receive gets
 * the whole room in one piece.
 */
#include "tether/core.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* head + off modulo size, for off <= size, without overflowing. */
static size_t
ring_pos(const struct tether_ring *r, size_t off)
{
	return off < r->size - r->head ? r->head + off
				       : off - (r->size - r->head);
}

int
tether_ring_init(struct tether_ring *r, size_t size)
{
	r->data = NULL;
	r->size = 0;
	r->head = 0;
	r->len = 0;
	if (size == 0)
		return -TETHER_EINVAL;
	r->data = tether_malloc(size);
	if (r->data == NULL)
		return -TETHER_ENOMEM;
	r->size = size;
	return 0;
}

void
tether_ring_free(struct tether_ring *r)
{
	tether_free(r->data);
	r->data = NULL;
	r->size = 0;
	r->head = 0;
	r->len = 0;
}

size_t
tether_ring_peek(const struct tether_ring *r, size_t off, void *p, size_t n)
{
	unsigned char *out = p;
	size_t start, first;

	if (off >= r->len)
		return 0;
	if (n > r->len - off)
		n = r->len - off;
	if (n == 0)
		return 0;
	start = ring_pos(r, off);
	first = r->size - start;
	if (first > n)
		first = n;
	memcpy(out, r->data + start, first);
	if (n > first)
		memcpy(out + first, r->data, n - first);
	return n;
}

void
tether_ring_drop(struct tether_ring *r, size_t n)
{
	if (n >= r->len) {
		r->head = 0;
		r->len = 0;
		return;
	}
	r->head = ring_pos(r, n);
	r->len -= n;
}

size_t
tether_ring_read(struct tether_ring *r, void *p, size_t n)
{
	n = tether_ring_peek(r, 0, p, n);
	tether_ring_drop(r, n);
	return n;
}

size_t
tether_ring_write(struct tether_ring *r, const void *p, size_t n)
{
	const unsigned char *in = p;
	size_t room = r->size - r->len, tail, first;

	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	tail = ring_pos(r, r->len);
	first = r->size - tail;
	if (first > n)
		first = n;
	memcpy(r->data + tail, in, first);
	if (n > first)
		memcpy(r->data, in + first, n - first);
	r->len += n;
	return n;
}

int
tether_ring_read_iov(const struct tether_ring *r, struct iovec iov[2])
{
	size_t first;

	iov[0].iov_base = NULL;
	iov[0].iov_len = 0;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	if (r->len == 0)
		return 0;
	first = r->size - r->head;
	if (first >= r->len) {
		iov[0].iov_base = r->data + r->head;
		iov[0].iov_len = r->len;
		return 1;
	}
	iov[0].iov_base = r->data + r->head;
	iov[0].iov_len = first;
	iov[1].iov_base = r->data;
	iov[1].iov_len = r->len - first;
	return 2;
}

int
tether_ring_write_iov(const struct tether_ring *r, struct iovec iov[2])
{
	size_t room = r->size - r->len, tail, first;

	iov[0].iov_base = NULL;
	iov[0].iov_len = 0;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	if (room == 0)
		return 0;
	tail = ring_pos(r, r->len);
	first = r->size - tail;
	if (first >= room) {
		iov[0].iov_base = r->data + tail;
		iov[0].iov_len = room;
		return 1;
	}
	iov[0].iov_base = r->data + tail;
	iov[0].iov_len = first;
	iov[1].iov_base = r->data;
	iov[1].iov_len = room - first;
	return 2;
}

void
tether_ring_commit(struct tether_ring *r, size_t n)
{
	/* More than the room means the caller lost track of what it read. */
	TETHER_BUG_ON(n > r->size - r->len);
	r->len += n;
}

ssize_t
tether_ring_recv(struct tether_ring *r, int fd)
{
	struct iovec iov[2];
	ssize_t n;
	int cnt;

	cnt = tether_ring_write_iov(r, iov);
	if (cnt == 0)
		return -TETHER_ENOSPC;
	do
		n = readv(fd, iov, cnt);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tether_err_from_errno(errno);
	tether_ring_commit(r, (size_t)n);
	return n;
}

ssize_t
tether_ring_send(struct tether_ring *r, int fd)
{
	struct iovec iov[2];
	struct msghdr msg;
	ssize_t n;
	int cnt;

	cnt = tether_ring_read_iov(r, iov);
	if (cnt == 0)
		return 0;
	/*
	 * sendmsg with MSG_NOSIGNAL is writev for sockets, except that a
	 * closed peer gives EPIPE instead of killing the process with
	 * SIGPIPE. Other descriptors (pipes, files) get writev.
	 */
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)cnt;
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK) {
		do
			n = writev(fd, iov, cnt);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0)
		return tether_err_from_errno(errno);
	tether_ring_drop(r, (size_t)n);
	return n;
}
