/*
 * status.c - call outcomes as a client sees them: names, sentences and
 * a one-line rendering with the protocol details (version range,
 * auth_stat, the system error under a transport failure).
 */
#include "tether/rpc.h"

#include <stdio.h>

static const char *const status_names[] = {
#define TETHER__RPC_ST_NAME(name, str) #name,
	TETHER_RPC_STATUS_MAP(TETHER__RPC_ST_NAME)
#undef TETHER__RPC_ST_NAME
};

static const char *const status_strs[] = {
#define TETHER__RPC_ST_STR(name, str) str,
	TETHER_RPC_STATUS_MAP(TETHER__RPC_ST_STR)
#undef TETHER__RPC_ST_STR
};

const char *
tether_rpc_status_name(enum tether_rpc_status st)
{
	if ((unsigned)st >= TETHER_ARRAY_SIZE(status_names))
		return "UNKNOWN";
	return status_names[st];
}

const char *
tether_rpc_status_str(enum tether_rpc_status st)
{
	if ((unsigned)st >= TETHER_ARRAY_SIZE(status_strs))
		return "unknown status";
	return status_strs[st];
}

char *
tether_rpc_result_format(const struct tether_rpc_result *r, char *buf,
			 size_t size)
{
	const char *name;

	if (size == 0)
		return buf;
	name = tether_rpc_status_name(r->status);
	switch (r->status) {
	case TETHER_RPC_ST_PROG_MISMATCH:
	case TETHER_RPC_ST_RPC_MISMATCH:
		snprintf(buf, size, "%s (versions %u..%u)", name,
			 (unsigned)r->mismatch.low, (unsigned)r->mismatch.high);
		break;
	case TETHER_RPC_ST_AUTH_ERROR:
		snprintf(buf, size, "%s (%s)", name,
			 tether_rpc_auth_stat_name(r->auth_stat));
		break;
	default:
		if (r->err != 0)
			snprintf(buf, size, "%s (%s)", name,
				 tether_strerror(r->err));
		else
			snprintf(buf, size, "%s", name);
		break;
	}
	return buf;
}
