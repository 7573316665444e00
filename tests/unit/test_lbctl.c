/*
 * test_lbctl.c - tether-lb's admin answers against their cap
 * (LB_CTL_MAX_OUT): show backends of more backends than fit, cut with
 * a line counting the rest, and the metrics page past the cap, a 500
 * whose reason is logged once.
 */
#include "tether_test.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lb.h"

/* 80 services of LB_MAX_BACKENDS: some 30 MiB of show backends with the
 * longest lines tether-lb writes. */
#define NSVC 80

static struct lb_conf_service sconf[NSVC];
static struct lb_service svc[NSVC];
static char bname[LB_MAX_BACKENDS][LB_NAME_MAX];
static struct lb_check checks[LB_MAX_BACKENDS];
static struct lb_pool pool;
static struct lb_proxy px;

/* Every service shares one pool (struct copies, read only here), so
 * 81,920 backends cost 1024. Names, states, counters and the check
 * error at their longest. */
static void
fixture(void)
{
	size_t i;

	memset(&px, 0, sizeof(px));
	assert_int_equal(lb_pool_init(&pool, LB_MAX_BACKENDS, &lb_ops_rr), 0);
	for (i = 0; i < LB_MAX_BACKENDS; i++) {
		struct lb_backend *b = &pool.backends[i];

		snprintf(bname[i], sizeof(bname[i]), "b%04zu%.*s", i,
			 LB_NAME_MAX - 6, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
			 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
		b->name = bname[i];
		b->state = LB_BACKEND_DRAINING;
		b->admin = LB_ADMIN_DISABLED;
		b->weight = LB_MAX_WEIGHT;
		b->conns = UINT_MAX;
		b->total_conns = b->connect_failures = UINT64_MAX;
		b->bytes_in = b->bytes_out = UINT64_MAX;
		b->health_down = 1;
		memset(checks[i].last_error, 'e',
		       sizeof(checks[i].last_error) - 1);
	}
	for (i = 0; i < NSVC; i++) {
		snprintf(sconf[i].name, sizeof(sconf[i].name), "s%02zu%.*s", i,
			 LB_NAME_MAX - 4, "ssssssssssssssssssssssssssssssssss"
			 "ssssssssssssssssssssssssssssssssssssssss");
		memset(&svc[i], 0, sizeof(svc[i]));
		svc[i].conf = &sconf[i];
		svc[i].pool = pool;
		svc[i].checks = checks;
	}
	px.services = svc;
	px.nservices = NSVC;
}

/* show backends past the cap: the lines that fit, then "truncated: N
 * more entries" with N the rest (it was "error: answer too long" and
 * nothing else); one service's backends, far below it, are whole. */
static void
test_show_backends_cap(void **state)
{
	static const char cut[] = "truncated: 18446744073709551615 more "
				  "entries\n";
	struct tether_buf out;
	size_t lines = 0, more = 0, longest = 0;
	const char *p, *nl, *last = NULL;
	char first[512];

	(void)state;
	fixture();
	tether_buf_init(&out, LB_CTL_MAX_OUT);
	assert_int_equal(lb_ctl_exec(&px, "show backends", &out), 0);
	assert_true(out.len <= LB_CTL_MAX_OUT);
	assert_true(out.len > LB_CTL_MAX_OUT - LB_CTL_LINE_ROOM);
	for (p = (const char *)out.data; p < (const char *)out.data + out.len;
	     p = nl + 1) {
		nl = memchr(p, '\n', (size_t)((const char *)out.data +
					       out.len - p));
		assert_non_null(nl);
		if (nl + 1 == (const char *)out.data + out.len) {
			last = p;
			break;
		}
		assert_memory_equal(p, "backend s", 9);
		if ((size_t)(nl + 1 - p) > longest)
			longest = (size_t)(nl + 1 - p);
		lines++;
	}
	assert_non_null(last);
	assert_int_equal(sscanf(last, "truncated: %zu more entries\n", &more),
			 1);
	assert_true(lines > 40000);
	assert_int_equal(lines + more, (size_t)NSVC * LB_MAX_BACKENDS);
	/* The longest line and the longest cut line fit the room left for
	 * them, so the answer never passes the cap. */
	assert_true(longest + sizeof(cut) - 1 <= LB_CTL_LINE_ROOM);
	snprintf(first, sizeof(first), "backend %s/%s state=draining "
		 "admin=disabled weight=1000 conns=%u total=%llu fails=%llu "
		 "in=%llu out=%llu check=\"%s\"\n", sconf[0].name, bname[0],
		 UINT_MAX, (unsigned long long)UINT64_MAX,
		 (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX,
		 (unsigned long long)UINT64_MAX, checks[0].last_error);
	assert_memory_equal(out.data, first, strlen(first));

	/* One service: 1024 lines, no cut. */
	tether_buf_reset(&out);
	snprintf(first, sizeof(first), "show backends %s", sconf[3].name);
	assert_int_equal(lb_ctl_exec(&px, first, &out), 0);
	for (lines = 0, p = (const char *)out.data;
	     p < (const char *)out.data + out.len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)((const char *)out.data +
					       out.len - p));
		assert_non_null(nl);
		assert_memory_equal(p, "backend s03", 11);
		lines++;
	}
	assert_int_equal(lines, LB_MAX_BACKENDS);

	/* show services of as many never comes near it. */
	tether_buf_reset(&out);
	assert_int_equal(lb_ctl_exec(&px, "show services", &out), 0);
	assert_true(out.len < (64u << 10));
	assert_null(strstr((const char *)out.data, "truncated"));
	tether_buf_free(&out);
	lb_pool_fini(&pool);
}

struct capture {
	unsigned warns;
	char line[TETHER_LOG_LINE_MAX];
};

static void
capture_sink(int level, const char *line, void *ud)
{
	struct capture *cap = ud;

	if (level != TETHER_LOG_WARN)
		return;
	cap->warns++;
	snprintf(cap->line, sizeof(cap->line), "%s", line);
}

/* A metrics page past the cap: HTTP 500, and one warning saying why,
 * not one per scrape; said again only after a page was served. */
static void
test_metrics_cap(void **state)
{
	static const char e500[] = "HTTP/1.0 500 Internal Server Error\r\n"
				   "Content-Length: 0\r\n\r\n";
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct capture cap;
	struct tether_buf out;
	const char *body;
	unsigned long long n;
	int i;

	(void)state;
	fixture();
	memset(&cap, 0, sizeof(cap));
	tether_log_set_sink(capture_sink, &cap);
	tether_buf_init(&out, LB_CTL_MAX_OUT);
	for (i = 0; i < 2; i++) {
		tether_buf_reset(&out);
		assert_int_equal(lb_metrics_answer(&px, req, &out), 0);
		assert_int_equal(out.len, sizeof(e500) - 1);
		assert_memory_equal(out.data, e500, sizeof(e500) - 1);
	}
	assert_int_equal(cap.warns, 1);
	assert_string_equal(cap.line, "metrics: the page of 80 services and "
			    "81920 backends passes the 16 MiB answer cap; "
			    "GET /metrics answers HTTP 500 (said once until a "
			    "page is served)");

	/* One service fits (some 1.5 MiB): a page, and the next failure
	 * is said again. */
	px.nservices = 1;
	tether_buf_reset(&out);
	assert_int_equal(lb_metrics_answer(&px, req, &out), 0);
	assert_memory_equal(out.data, "HTTP/1.0 200 OK\r\n", 17);
	body = strstr((const char *)out.data, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(sscanf(strstr((const char *)out.data,
				       "Content-Length: "),
				"Content-Length: %llu", &n), 1);
	assert_int_equal(n, out.len - (size_t)(body - (const char *)out.data));
	assert_int_equal(cap.warns, 1);
	px.nservices = NSVC;
	tether_buf_reset(&out);
	assert_int_equal(lb_metrics_answer(&px, req, &out), 0);
	assert_memory_equal(out.data, e500, sizeof(e500) - 1);
	assert_int_equal(cap.warns, 2);

	/* Another path is a 404 whatever the page's size, and logs nothing. */
	tether_buf_reset(&out);
	assert_int_equal(lb_metrics_answer(&px, "GET / HTTP/1.0", &out), 0);
	assert_memory_equal(out.data, "HTTP/1.0 404 Not Found\r\n", 24);
	assert_int_equal(cap.warns, 2);
	tether_log_set_sink(NULL, NULL);
	tether_buf_free(&out);
	lb_pool_fini(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_backends_cap),
		cmocka_unit_test(test_metrics_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
