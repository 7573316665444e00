/*
 * buf.c - the bounded growable byte buffer. Storage grows by doubling
 * but never past max + 1 bytes: the extra byte keeps a NUL after the
 * contents, so text in a buffer is always a C string and steal never
 * has to reallocate. Every failing call leaves the buffer unchanged.
 */
#include "tether/core.h"

#include <stdio.h>
#include <string.h>

#define BUF_MIN_CAP 64

void
tether_buf_init(struct tether_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
tether_buf_free(struct tether_buf *b)
{
	tether_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
tether_buf_reset(struct tether_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

int
tether_buf_reserve(struct tether_buf *b, size_t extra)
{
	size_t need, ncap, limit;
	unsigned char *p;

	TETHER_BUG_ON(b->len > b->max);
	if (extra > b->max - b->len)
		return -TETHER_ENOSPC;
	need = b->len + extra;
	if (need == SIZE_MAX)
		return -TETHER_ENOMEM;	/* no room left for the NUL */
	need++;
	if (need <= b->cap)
		return 0;
	/* Storage never exceeds max + 1 (contents plus the NUL). */
	limit = b->max == SIZE_MAX ? SIZE_MAX : b->max + 1;
	ncap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (ncap < need && ncap <= SIZE_MAX / 2)
		ncap *= 2;
	if (ncap < need)
		ncap = need;
	if (ncap > limit)
		ncap = limit;
	p = tether_realloc(b->data, ncap);
	if (p == NULL)
		return -TETHER_ENOMEM;
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
tether_buf_append(struct tether_buf *b, const void *p, size_t n)
{
	uintptr_t src = (uintptr_t)p, base = (uintptr_t)b->data;
	size_t self_off = SIZE_MAX;
	int rc;

	if (n == 0)
		return 0;
	/* Appending a piece of the buffer to itself: realloc may move it. */
	if (b->data != NULL && src >= base && src < base + b->cap)
		self_off = (size_t)(src - base);
	rc = tether_buf_reserve(b, n);
	if (rc < 0)
		return rc;
	if (self_off != SIZE_MAX)
		p = b->data + self_off;
	memmove(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
tether_buf_append_str(struct tether_buf *b, const char *s)
{
	return tether_buf_append(b, s, strlen(s));
}

int
tether_buf_vprintf(struct tether_buf *b, const char *fmt, va_list ap)
{
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_list ap2;
	int n, rc;

	/* First try in the room we have; most messages fit. */
	va_copy(ap2, ap);
	n = vsnprintf(room ? (char *)b->data + b->len : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		rc = -TETHER_EINVAL;
		goto fail;
	}
	if ((size_t)n < room || n == 0) {
		/* Fitted (or empty: nothing to allocate for). */
		b->len += (size_t)n;
		return 0;
	}
	rc = tether_buf_reserve(b, (size_t)n);
	if (rc < 0)
		goto fail;
	va_copy(ap2, ap);
	n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		/* Only if an argument pointed into b and moved with it. */
		rc = -TETHER_EINVAL;
		goto fail;
	}
	b->len += (size_t)n;
	return 0;
fail:
	/* vsnprintf may have scribbled in the room: restore the NUL. */
	if (b->data != NULL)
		b->data[b->len] = '\0';
	return rc;
}

int
tether_buf_printf(struct tether_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tether_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
tether_buf_consume(struct tether_buf *b, size_t n)
{
	if (n >= b->len) {
		tether_buf_reset(b);
		return;
	}
	/* Move the NUL too. */
	memmove(b->data, b->data + n, b->len - n + 1);
	b->len -= n;
}

unsigned char *
tether_buf_steal(struct tether_buf *b, size_t *len_out /* OUT */)
{
	unsigned char *p = b->data;

	if (len_out != NULL)
		*len_out = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
