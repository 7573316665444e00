/*
 * test_ring.c - the byte ring: its invariants at every head offset and
 * fill level, the iov pieces, peek/drop/commit, and recv/send over a
 * socketpair (EAGAIN, EOF, a full ring, a closed peer) and a pipe.
 */
#include "tether_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The header's invariants, checked through the public fields and the
 * iov functions: 0 <= len <= size, head < size (0 when size is 0), the
 * readable bytes are data[head .. head+len) mod size in <= 2 pieces,
 * the room is size - len bytes from (head+len) % size in <= 2 pieces.
 */
static void
check_ring(const struct tether_ring *r)
{
	struct iovec iov[2];
	size_t tail;
	int n;

	assert_true(r->len <= r->size);
	if (r->size == 0) {
		assert_int_equal(r->head, 0);
		assert_null(r->data);
	} else {
		assert_true(r->head < r->size);
		assert_non_null(r->data);
	}
	assert_int_equal(tether_ring_len(r), r->len);
	assert_int_equal(tether_ring_room(r), r->size - r->len);

	n = tether_ring_read_iov(r, iov);
	assert_true(n >= 0 && n <= 2);
	assert_int_equal(n == 0, r->len == 0);
	if (n >= 1) {
		assert_ptr_equal(iov[0].iov_base, r->data + r->head);
		assert_true(iov[0].iov_len > 0);
	}
	if (n == 2) {
		/* The second piece starts at the beginning, after a first
		 * piece that ran to the end. */
		assert_ptr_equal(iov[1].iov_base, r->data);
		assert_int_equal(iov[0].iov_len, r->size - r->head);
		assert_true(iov[1].iov_len > 0);
	}
	assert_int_equal((n > 0 ? iov[0].iov_len : 0) +
			 (n > 1 ? iov[1].iov_len : 0), r->len);
	if (n < 2) {
		assert_int_equal(iov[1].iov_len, 0);
		assert_null(iov[1].iov_base);
	}

	n = tether_ring_write_iov(r, iov);
	assert_true(n >= 0 && n <= 2);
	assert_int_equal(n == 0, r->len == r->size);
	if (n >= 1) {
		tail = (r->head + r->len) % r->size;
		assert_ptr_equal(iov[0].iov_base, r->data + tail);
		assert_true(iov[0].iov_len > 0);
	}
	if (n == 2) {
		assert_ptr_equal(iov[1].iov_base, r->data);
		assert_int_equal(iov[0].iov_len, r->size - tail);
		/* The room never reaches into the readable bytes. */
		assert_int_equal(iov[1].iov_len, r->head);
	}
	assert_int_equal((n > 0 ? iov[0].iov_len : 0) +
			 (n > 1 ? iov[1].iov_len : 0), r->size - r->len);
}

/* Bring an empty ring to head h with one byte stored (an emptied ring
 * restarts at 0, so a byte must stay to hold the head there). */
static void
set_head(struct tether_ring *r, size_t h, unsigned char first)
{
	unsigned char junk[64];

	tether_ring_drop(r, r->len);
	assert_int_equal(r->head, 0);
	memset(junk, 0xee, sizeof(junk));
	assert_true(h < sizeof(junk));
	assert_int_equal(tether_ring_write(r, junk, h), h);
	assert_int_equal(tether_ring_write(r, &first, 1), 1);
	tether_ring_drop(r, h);
	assert_int_equal(r->head, h);
	assert_int_equal(r->len, 1);
	check_ring(r);
}

static void
test_init_free(void **state)
{
	struct tether_ring r;

	(void)state;
	assert_tether_err(tether_ring_init(&r, 0), TETHER_EINVAL);
	check_ring(&r);
	tether_ring_free(&r);

	tether_alloc_fail_at(1, 0);
	assert_tether_err(tether_ring_init(&r, 100), TETHER_ENOMEM);
	tether_alloc_fail_at(0, 0);
	check_ring(&r);
	assert_int_equal(tether_ring_write(&r, "x", 1), 0);
	tether_ring_free(&r);

	assert_int_equal(tether_ring_init(&r, 16), 0);
	assert_int_equal(r.size, 16);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.head, 0);
	check_ring(&r);
	tether_ring_free(&r);
	check_ring(&r);
	tether_ring_free(&r);
}

/* Every head offset x every fill level x every operation. */
static void
test_wrap_every_offset(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 8, 13 };
	size_t si;

	(void)state;
	for (si = 0; si < TETHER_ARRAY_SIZE(sizes); si++) {
		size_t size = sizes[si], h, fill, off, n, k;
		struct tether_ring r;
		unsigned char model[16], out[16], in[16];
		struct iovec iov[2];
		int cnt;

		assert_int_equal(tether_ring_init(&r, size), 0);
		for (h = 0; h < size; h++) {
			for (fill = 1; fill <= size; fill++) {
				/* model[] is the readable bytes in order. */
				set_head(&r, h, 100);
				model[0] = 100;
				for (k = 1; k < fill; k++)
					model[k] = (unsigned char)(100 + k);
				n = tether_ring_write(&r, model + 1, fill - 1);
				assert_int_equal(n, fill - 1);
				assert_int_equal(r.head, h);
				assert_int_equal(r.len, fill);
				check_ring(&r);

				/* peek at every offset and length */
				for (off = 0; off <= fill + 1; off++)
					for (n = 0; n <= size + 1; n++) {
						size_t want = off >= fill ? 0
							: (n < fill - off ? n
							   : fill - off);

						memset(out, 0, sizeof(out));
						assert_int_equal(
							tether_ring_peek(&r,
							off, out, n), want);
						if (want)
							assert_memory_equal(out,
							model + off, want);
					}

				/* the read pieces, concatenated, are model */
				cnt = tether_ring_read_iov(&r, iov);
				memcpy(out, iov[0].iov_base, iov[0].iov_len);
				if (cnt == 2)
					memcpy(out + iov[0].iov_len,
					       iov[1].iov_base,
					       iov[1].iov_len);
				assert_memory_equal(out, model, fill);
				/* two pieces exactly when the bytes wrap */
				assert_int_equal(cnt == 2, h + fill > size);

				/* fill the room through the write pieces */
				cnt = tether_ring_write_iov(&r, iov);
				assert_int_equal(cnt == 2,
						 h + fill < size && h > 0);
				for (k = 0; k < size - fill; k++)
					in[k] = (unsigned char)(200 + k);
				if (cnt >= 1)
					memcpy(iov[0].iov_base, in,
					       iov[0].iov_len);
				if (cnt == 2)
					memcpy(iov[1].iov_base,
					       in + iov[0].iov_len,
					       iov[1].iov_len);
				tether_ring_commit(&r, size - fill);
				memcpy(model + fill, in, size - fill);
				assert_int_equal(r.len, size);
				check_ring(&r);
				/* full: writes take nothing */
				n = tether_ring_write(&r, in, 1);
				assert_int_equal(n, 0);
				assert_int_equal(tether_ring_peek(&r, 0, out,
								  size), size);
				assert_memory_equal(out, model, size);

				/* drop k, then read the rest in two reads */
				k = fill / 2;
				tether_ring_drop(&r, k);
				assert_int_equal(r.len, size - k);
				assert_int_equal(r.head, k == size ? 0
						 : (h + k) % size);
				check_ring(&r);
				n = tether_ring_read(&r, out, 1);
				assert_int_equal(n, size > k ? 1 : 0);
				if (n)
					assert_int_equal(out[0], model[k]);
				n = tether_ring_read(&r, out + 1, sizeof(out));
				assert_int_equal(n, size - k - (size > k));
				if (n)
					assert_memory_equal(out + 1,
						model + k + 1, n);
				assert_int_equal(r.len, 0);
				assert_int_equal(r.head, 0);
				check_ring(&r);
			}
		}
		tether_ring_free(&r);
	}
}

static void
test_partial_and_limits(void **state)
{
	struct tether_ring r;
	unsigned char out[32];
	struct iovec iov[2];

	(void)state;
	assert_int_equal(tether_ring_init(&r, 8), 0);
	/* Write more than the room: the first size bytes go in. */
	assert_int_equal(tether_ring_write(&r, "abcdefghijkl", 12), 8);
	assert_int_equal(tether_ring_read(&r, out, 3), 3);
	assert_memory_equal(out, "abc", 3);
	/* Room of 3 at the front after the wrap. */
	assert_int_equal(tether_ring_write(&r, "XYZW", 4), 3);
	check_ring(&r);
	assert_int_equal(tether_ring_peek(&r, 0, out, sizeof(out)), 8);
	assert_memory_equal(out, "defghXYZ", 8);
	assert_int_equal(tether_ring_peek(&r, 5, out, 2), 2);
	assert_memory_equal(out, "XY", 2);
	assert_int_equal(tether_ring_peek(&r, 8, out, 1), 0);
	assert_int_equal(tether_ring_peek(&r, SIZE_MAX, out, 1), 0);
	assert_int_equal(tether_ring_peek(&r, 7, out, SIZE_MAX), 1);
	assert_int_equal(out[0], 'Z');
	/* peek does not consume */
	assert_int_equal(r.len, 8);
	/* Read more than there is. */
	assert_int_equal(tether_ring_read(&r, out, sizeof(out)), 8);
	assert_memory_equal(out, "defghXYZ", 8);
	assert_int_equal(tether_ring_read(&r, out, 1), 0);
	/* Drop more than there is. */
	assert_int_equal(tether_ring_write(&r, "12345", 5), 5);
	tether_ring_drop(&r, SIZE_MAX);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.head, 0);
	tether_ring_drop(&r, 1);
	tether_ring_commit(&r, 0);
	check_ring(&r);
	/* An empty ring offers the whole room in one piece. */
	assert_int_equal(tether_ring_write_iov(&r, iov), 1);
	assert_int_equal(iov[0].iov_len, 8);
	assert_int_equal(tether_ring_read_iov(&r, iov), 0);
	tether_ring_free(&r);
}

/* Committing more than the room is a caller bug: TETHER_BUG_ON aborts. */
static void
test_commit_overflow_aborts(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tether_ring r;

		if (tether_ring_init(&r, 4) != 0)
			_exit(2);
		(void)tether_ring_write(&r, "ab", 2);
		/* Keep the BUG message out of the test log. */
		(void)freopen("/dev/null", "w", stderr);
		tether_ring_commit(&r, 3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void
make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

static void
test_recv(void **state)
{
	struct tether_ring r;
	unsigned char out[16];
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(tether_ring_init(&r, 8), 0);

	/* Nothing to read yet. */
	assert_tether_err((int)tether_ring_recv(&r, sv[0]), TETHER_EAGAIN);
	assert_int_equal(r.len, 0);
	check_ring(&r);

	assert_int_equal(write(sv[1], "hello", 5), 5);
	assert_int_equal(tether_ring_recv(&r, sv[0]), 5);
	assert_int_equal(r.len, 5);
	check_ring(&r);

	/* Only the room is read; the rest waits in the socket. */
	assert_int_equal(write(sv[1], "0123456789", 10), 10);
	assert_int_equal(tether_ring_recv(&r, sv[0]), 3);
	assert_int_equal(r.len, 8);
	/* Full ring: refused before any system call. */
	assert_tether_err((int)tether_ring_recv(&r, sv[0]), TETHER_ENOSPC);
	assert_int_equal(tether_ring_read(&r, out, 8), 8);
	assert_memory_equal(out, "hello012", 8);

	/* A receive into two pieces: head at 6, 1 byte stored, room of 7
	 * split as data[7..8) and data[0..6). */
	set_head(&r, 6, '#');
	assert_int_equal(tether_ring_recv(&r, sv[0]), 7);
	check_ring(&r);
	assert_int_equal(r.len, 8);
	assert_int_equal(tether_ring_read(&r, out, 8), 8);
	assert_memory_equal(out, "#3456789", 8);

	/* End of file. */
	assert_int_equal(close(sv[1]), 0);
	assert_int_equal(tether_ring_recv(&r, sv[0]), 0);
	assert_int_equal(r.len, 0);
	assert_int_equal(close(sv[0]), 0);

	/* A bad descriptor is an error, and the ring is unchanged. */
	assert_true(tether_ring_recv(&r, -1) < 0);
	assert_int_equal(r.len, 0);
	tether_ring_free(&r);
}

static void
test_send(void **state)
{
	struct tether_ring r;
	unsigned char out[64];
	ssize_t n;
	size_t total, before;
	int sv[2], sndbuf = 4096;

	(void)state;
	make_pair(sv);
	assert_int_equal(tether_ring_init(&r, 8), 0);
	/* Nothing to send. */
	assert_int_equal(tether_ring_send(&r, sv[0]), 0);

	/* Two pieces in one call, in order. */
	set_head(&r, 5, 'A');
	assert_int_equal(tether_ring_write(&r, "BCDEFGH", 7), 7);
	assert_int_equal(tether_ring_send(&r, sv[0]), 8);
	assert_int_equal(r.len, 0);
	assert_int_equal(read(sv[1], out, sizeof(out)), 8);
	assert_memory_equal(out, "ABCDEFGH", 8);
	tether_ring_free(&r);

	/* Fill the socket until it would block: EAGAIN, ring unchanged. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
			 sizeof(sndbuf));
	assert_int_equal(tether_ring_init(&r, 4096), 0);
	memset(out, 'z', sizeof(out));
	total = 0;
	for (;;) {
		while (tether_ring_room(&r) > 0)
			(void)tether_ring_write(&r, out, sizeof(out));
		before = r.len;
		n = tether_ring_send(&r, sv[0]);
		if (n < 0) {
			assert_tether_err((int)n, TETHER_EAGAIN);
			assert_int_equal(r.len, before);
			check_ring(&r);
			break;
		}
		assert_true(n > 0);
		assert_int_equal(r.len, before - (size_t)n);
		total += (size_t)n;
		assert_true(total < 64u << 20);
	}
	assert_true(total > 0);

	/* A closed peer: EPIPE, not SIGPIPE (the test would die). */
	assert_int_equal(close(sv[1]), 0);
	n = tether_ring_send(&r, sv[0]);
	assert_true(n < 0);
	assert_true(n == -TETHER_EPIPE || n == -TETHER_ECONNRESET);
	assert_int_equal(close(sv[0]), 0);
	tether_ring_free(&r);
}

/* Not a socket: send falls back to writev. */
static void
test_pipe(void **state)
{
	struct tether_ring r;
	unsigned char out[16];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(tether_ring_init(&r, 8), 0);
	set_head(&r, 6, 'p');
	assert_int_equal(tether_ring_write(&r, "ipe!", 4), 4);
	assert_int_equal(tether_ring_send(&r, p[1]), 5);
	assert_int_equal(tether_ring_recv(&r, p[0]), 5);
	assert_int_equal(tether_ring_read(&r, out, sizeof(out)), 5);
	assert_memory_equal(out, "pipe!", 5);
	assert_tether_err((int)tether_ring_recv(&r, p[0]), TETHER_EAGAIN);
	assert_int_equal(close(p[1]), 0);
	assert_int_equal(tether_ring_recv(&r, p[0]), 0);
	assert_int_equal(close(p[0]), 0);
	tether_ring_free(&r);
}

/* A test that failed mid-way must not leave fault injection on. */
static int
injection_off(void **state)
{
	(void)state;
	tether_alloc_fail_at(0, 0);
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, injection_off)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_free),
		T(test_wrap_every_offset),
		T(test_partial_and_limits),
		T(test_commit_overflow_aborts),
		T(test_recv),
		T(test_send),
		T(test_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
