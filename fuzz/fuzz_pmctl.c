/*
 * fuzz_pmctl.c - tether-portmap's control commands (pm_ctl_exec: what
 * tetherctl sends down its control socket) on arbitrary lines, one per
 * input line, against a table with rpcbind's own entries. Invariants:
 * the answer is whole lines of text, each a known kind ("registration
 * ", "calls ", ... or one "error: " line), and a command never fails.
 */
#include "pm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_MAX_INPUT (64u << 10)

static struct pm_ctx ctx;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rpcbind's own entries over TCP: show registrations has lines. */
static void
setup(void)
{
	struct pm_config cfg = { .state_path = "", .max_total = 8,
				 .max_per_owner = 8 };

	tether_log_init("fuzz", 1, TETHER_LOG_FATAL);
	if (pm_ctx_init(&ctx, &cfg) < 0 ||
	    pm_register_self(&ctx, TETHER_NETID_TCP, "0.0.0.0.0.111") < 0)
		abort();
	ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {
		"registration ", "calls ", "rejected ", "forwarding ",
		"prune ",
	};
	struct tether_buf out;
	char *text, *line, *next;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (!ready)
		setup();
	/* The control endpoint hands over a C string: stop at a NUL. */
	text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	tether_buf_init(&out, 1u << 20);
	for (line = text; line != NULL; line = next) {
		const char *t, *p, *nl;
		size_t k;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		tether_buf_reset(&out);
		CHECK(pm_ctl_exec(&ctx, line, &out) == 0);
		t = (const char *)out.data;
		CHECK(out.len > 0 && t[out.len - 1] == '\n');
		CHECK(memchr(t, '\0', out.len) == NULL);
		if (strncmp(t, "error: ", 7) == 0) {
			CHECK(strchr(t, '\n') == t + out.len - 1);
			continue;
		}
		for (p = t; p < t + out.len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(t + out.len - p));
			for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
				if (strncmp(p, kinds[k], strlen(kinds[k])) == 0)
					break;
			CHECK(k < sizeof(kinds) / sizeof(kinds[0]));
		}
	}
	tether_buf_free(&out);
	free(text);
	return 0;
}
