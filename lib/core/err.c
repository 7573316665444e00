/*
 * err.c - the error table: names and messages for tether's error codes,
 * the errno mapping, and the always-on invariant check.
 */
#include "tether/core.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const err_msgs[TETHER_ERRNO_MAX] = {
	[0] = "success",
#define ERR_MSG(name, val, str) [val] = str,
	TETHER_ERRNO_MAP(ERR_MSG)
#undef ERR_MSG
};

static const char *const err_names[TETHER_ERRNO_MAX] = {
	[0] = "TETHER_OK",
#define ERR_NAME(name, val, str) [val] = "TETHER_" #name,
	TETHER_ERRNO_MAP(ERR_NAME)
#undef ERR_NAME
};

static int
err_index(int err)
{
	if (err < 0) {
		if (err == INT_MIN)
			return -1;
		err = -err;
	}
	if (err >= TETHER_ERRNO_MAX || err_names[err] == NULL)
		return -1;
	return err;
}

const char *
tether_strerror(int err)
{
	int i = err_index(err);

	return i < 0 ? "unknown error" : err_msgs[i];
}

const char *
tether_err_name(int err)
{
	int i = err_index(err);

	return i < 0 ? "TETHER_EUNKNOWN" : err_names[i];
}

int
tether_err_from_errno(int e)
{
	switch (e) {
	case 0:
		return 0;
	case EINVAL:
		return -TETHER_EINVAL;
	case ENOMEM:
		return -TETHER_ENOMEM;
	case ENOSPC:
	case ENOBUFS:
		return -TETHER_ENOSPC;
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINPROGRESS:
		return -TETHER_EAGAIN;
	case ERANGE:
		return -TETHER_ERANGE;
	case EOVERFLOW:
		return -TETHER_EOVERFLOW;
	case EMSGSIZE:
		return -TETHER_EMSGSIZE;
	case EPROTO:
		return -TETHER_EPROTO;
	case EBADMSG:
		return -TETHER_EBADMSG;
	case ENOENT:
		return -TETHER_ENOENT;
	case EEXIST:
		return -TETHER_EEXIST;
	case EPERM:
		return -TETHER_EPERM;
	case EACCES:
		return -TETHER_EACCES;
	case EBUSY:
		return -TETHER_EBUSY;
	case ECANCELED:
		return -TETHER_ECANCELED;
	case ETIMEDOUT:
		return -TETHER_ETIMEDOUT;
	case ECONNREFUSED:
		return -TETHER_ECONNREFUSED;
	case ECONNRESET:
		return -TETHER_ECONNRESET;
	case EPIPE:
		return -TETHER_EPIPE;
	case EAFNOSUPPORT:
		return -TETHER_EAFNOSUPPORT;
	case EADDRINUSE:
		return -TETHER_EADDRINUSE;
	case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
	case EOPNOTSUPP:
#endif
		return -TETHER_ENOTSUP;
	case EIO:
		return -TETHER_EIO;
	default:
		return -TETHER_ESYS;
	}
}

void
tether__bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "tether: BUG at %s:%d: %s\n", file, line, what);
	fflush(stderr);
	abort();
}
