/*
 * metrics.c - tether-lb's Prometheus endpoint: a minimal HTTP/1.0
 * server on the `metrics` address that answers GET /metrics with the
 * text exposition format (version 0.0.4) and closes. Off unless
 * configured; meant for an admin network.
 */
#include "lb.h"

#include <stdio.h>
#include <string.h>

/* A label value with \, " and newline escaped, as the format asks. */
static int
put_label(struct tether_buf *out, const char *v)
{
	int err = 0;

	for (; *v != '\0' && err == 0; v++) {
		if (*v == '\\')
			err = tether_buf_append_str(out, "\\\\");
		else if (*v == '"')
			err = tether_buf_append_str(out, "\\\"");
		else if (*v == '\n')
			err = tether_buf_append_str(out, "\\n");
		else
			err = tether_buf_append(out, v, 1);
	}
	return err;
}

struct metric {
	const char *name, *type, *help;
	int per_backend;
};

static const struct metric metrics[] = {
	{ "tether_lb_open_connections", "gauge",
	  "Active TCP connections and UDP flows.", 0 },
	{ "tether_lb_connections_total", "counter",
	  "TCP connections and UDP flows accepted.", 0 },
	{ "tether_lb_connections_refused_total", "counter",
	  "Connections refused by a connection limit.", 0 },
	{ "tether_lb_persist_entries", "gauge",
	  "Entries in the persistence table.", 0 },
	{ "tether_lb_persist_evictions_total", "counter",
	  "Persistence entries evicted because the table was full.", 0 },
	{ "tether_lb_persist_expirations_total", "counter",
	  "Persistence entries expired after their idle timeout.", 0 },
	{ "tether_lb_backend_up", "gauge",
	  "1 if the backend takes new clients (state up), else 0.", 1 },
	{ "tether_lb_backend_open_connections", "gauge",
	  "Active connections and flows on the backend.", 1 },
	{ "tether_lb_backend_connections_total", "counter",
	  "Connections and flows sent to the backend (attempts).", 1 },
	{ "tether_lb_backend_connect_failures_total", "counter",
	  "Failed connects to the backend.", 1 },
	{ "tether_lb_backend_bytes_in_total", "counter",
	  "Bytes from clients to the backend (of ended connections).", 1 },
	{ "tether_lb_backend_bytes_out_total", "counter",
	  "Bytes from the backend to clients (of ended connections).", 1 },
};

static unsigned long long
service_value(const struct lb_service *s, size_t m)
{
	switch (m) {
	case 0: return s->conns;
	case 1: return s->total_conns;
	case 2: return s->refused;
	case 3: return s->has_persist ? s->persist.count : 0;
	case 4: return s->has_persist ? s->persist.evictions : 0;
	default: return s->has_persist ? s->persist.expirations : 0;
	}
}

static unsigned long long
backend_value(const struct lb_backend *b, size_t m)
{
	switch (m) {
	case 6: return b->state == LB_BACKEND_UP;
	case 7: return b->conns;
	case 8: return b->total_conns;
	case 9: return b->connect_failures;
	case 10: return b->bytes_in;
	default: return b->bytes_out;
	}
}

int
lb_metrics_write(struct lb_proxy *px, struct tether_buf *out)
{
	size_t m, i, j;
	unsigned nconfs, nconns;
	uint64_t usessions, ufallbacks, ksessions, kpauses;
	int err;

	for (m = 0; m < TETHER_ARRAY_SIZE(metrics); m++) {
		err = tether_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
					metrics[m].name, metrics[m].help,
					metrics[m].name, metrics[m].type);
		if (err < 0)
			return err;
		for (i = 0; i < px->nservices; i++) {
			const struct lb_service *s = &px->services[i];

			for (j = 0; j < (metrics[m].per_backend ?
					 s->pool.n : 1); j++) {
				if ((err = tether_buf_printf(out,
						"%s{service=\"",
						metrics[m].name)) < 0 ||
				    (err = put_label(out, s->conf->name)) < 0)
					return err;
				if (metrics[m].per_backend &&
				    ((err = tether_buf_append_str(out,
						"\",backend=\"")) < 0 ||
				     (err = put_label(out,
						s->pool.backends[j].name)) < 0))
					return err;
				err = tether_buf_printf(out, "\"} %llu\n",
					metrics[m].per_backend ?
					backend_value(&s->pool.backends[j], m) :
					service_value(s, m));
				if (err < 0)
					return err;
			}
		}
	}
	/* Process-wide: the global limit in force (max-conns, or its
	 * default from the open-file limit), what reloads left behind
	 * (held by connections and UDP flows that began under an older
	 * configuration), and the io_uring data path's and the kernel
	 * relay's sessions since the start. */
	lb_proxy_retired(&nconfs, &nconns);
	lb_proxy_uring_stats(&usessions, &ufallbacks);
	lb_proxy_krelay_stats(&ksessions, &kpauses);
	return tether_buf_printf(out,
		"# HELP tether_lb_max_connections The global limit on TCP "
		"connections and UDP flows: max-conns, or without it the "
		"default the open-file limit holds.\n"
		"# TYPE tether_lb_max_connections gauge\n"
		"tether_lb_max_connections %u\n"
		"# HELP tether_lb_retired_configurations Configurations "
		"replaced by a reload and still held by connections or "
		"flows.\n"
		"# TYPE tether_lb_retired_configurations gauge\n"
		"tether_lb_retired_configurations %u\n"
		"# HELP tether_lb_retired_connections TCP connections and "
		"UDP flows held by replaced configurations.\n"
		"# TYPE tether_lb_retired_connections gauge\n"
		"tether_lb_retired_connections %u\n"
		"# HELP tether_lb_uring_sessions_total TCP sessions started "
		"on the io_uring data path.\n"
		"# TYPE tether_lb_uring_sessions_total counter\n"
		"tether_lb_uring_sessions_total %llu\n"
		"# HELP tether_lb_uring_fallbacks_total io_uring sessions that "
		"moved to the epoll data path.\n"
		"# TYPE tether_lb_uring_fallbacks_total counter\n"
		"tether_lb_uring_fallbacks_total %llu\n"
		"# HELP tether_lb_kernel_relay_sessions_total TCP sessions "
		"moved to the kernel relay.\n"
		"# TYPE tether_lb_kernel_relay_sessions_total counter\n"
		"tether_lb_kernel_relay_sessions_total %llu\n"
		"# HELP tether_lb_kernel_relay_pauses_total Times a direction "
		"of a moved session passed its kernel-relay-window and user "
		"space relayed the bytes held back.\n"
		"# TYPE tether_lb_kernel_relay_pauses_total counter\n"
		"tether_lb_kernel_relay_pauses_total %llu\n", px->max_conns,
		nconfs, nconns,
		(unsigned long long)usessions,
		(unsigned long long)ufallbacks,
		(unsigned long long)ksessions,
		(unsigned long long)kpauses);
}

/* The request line is GET /metrics, with a version or without one,
 * ended by CRLF or by a bare LF (lb_metrics_request_len takes both). */
static int
is_get_metrics(const char *req)
{
	return strncmp(req, "GET /metrics", 12) == 0 &&
	       (req[12] == ' ' || req[12] == '\r' || req[12] == '\n');
}

/* The last GET /metrics got a 500: its warning is not said again at
 * every scrape (every few seconds, and the cause, a page past the
 * answer's cap, stays until the configuration changes), only after a
 * page was served. */
static int page_failing;

static void
page_failed(struct lb_proxy *px, int err)
{
	size_t i, nbackends = 0;

	if (page_failing)
		return;
	page_failing = 1;
	for (i = 0; i < px->nservices; i++)
		nbackends += px->services[i].pool.n;
	if (err == -TETHER_ENOSPC)
		tether_log_warnx("metrics: the page of %zu services and %zu "
				 "backends passes the %u MiB answer cap; GET "
				 "/metrics answers HTTP 500 (said once until a "
				 "page is served)", px->nservices, nbackends,
				 LB_CTL_MAX_OUT >> 20);
	else
		tether_log_warnx("metrics: building the page: %s; GET "
				 "/metrics answers HTTP 500 (said once until a "
				 "page is served)", tether_strerror(err));
}

int
lb_metrics_answer(struct lb_proxy *px, const char *req,
		  struct tether_buf *out)
{
	struct tether_buf body;
	int err;

	if (!is_get_metrics(req)) {
		(void)tether_buf_append_str(out,
			"HTTP/1.0 404 Not Found\r\n"
			"Content-Type: text/plain\r\nContent-Length: 18\r\n"
			"Connection: close\r\n\r\ntry GET /metrics\r\n");
		return 0;
	}
	tether_buf_init(&body, LB_CTL_MAX_OUT - 256);
	err = lb_metrics_write(px, &body);
	if (err == 0)
		err = tether_buf_printf(out, "HTTP/1.0 200 OK\r\n"
			"Content-Type: text/plain; version=0.0.4\r\n"
			"Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			body.len, body.len ? (const char *)body.data : "");
	tether_buf_free(&body);
	if (err == 0) {
		page_failing = 0;
		return 0;
	}
	page_failed(px, err);
	(void)tether_buf_append_str(out, "HTTP/1.0 500 Internal "
		"Server Error\r\nContent-Length: 0\r\n\r\n");
	return 0;
}

/* tether_ctl's answer function: the request line is all it reads. */
static int
metrics_answer(void *ud, char *req, size_t len, struct tether_buf *out)
{
	(void)len;
	return lb_metrics_answer(ud, req, out);
}

size_t
lb_metrics_request_len(const char *buf, size_t len)
{
	/* memmem over the bytes read, not strstr: the buffer is a string
	 * only up to its first NUL, and a request with a NUL byte before
	 * its empty line was never whole (431 once the buffer filled,
	 * else closed unanswered at the admin timeout). */
	const char *crlf = memmem(buf, len, "\r\n\r\n", 4);
	const char *lf = memmem(buf, len, "\n\n", 2);
	size_t a = crlf != NULL ? (size_t)(crlf - buf) + 4 : 0;
	size_t b = lf != NULL ? (size_t)(lf - buf) + 2 : 0;

	/* The first empty line, however the bytes arrived. */
	return a == 0 || (b != 0 && b < a) ? b : a;
}

int
lb_metrics_open(struct lb_proxy *px, char *errbuf, size_t errlen)
{
	struct tether_ctl_opts o = {
		.answer = metrics_answer,
		.complete = lb_metrics_request_len,
		.ud = px,
		.max_request = LB_HTTP_MAX_REQUEST,
		.max_answer = LB_CTL_MAX_OUT,
		.timeout_ms = px->conf->admin_timeout_ms,
		.max_conns = px->conf->admin_conns,
		.too_long = "HTTP/1.0 431 Request Header Fields Too Large\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n",
		.busy = "HTTP/1.0 503 Service Unavailable\r\n"
			"Content-Length: 0\r\nConnection: close\r\n\r\n",
	};
	char msg[256];
	int err;

	if (!px->conf->has_metrics)
		return 0;
	err = tether_ctl_open(&px->metrics, px->loop, &px->conf->metrics, &o,
			      msg, sizeof(msg));
	if (err < 0)
		snprintf(errbuf, errlen, "metrics %s", msg);
	return err;
}

int
lb_metrics_same(const struct lb_conf *a, const struct lb_conf *b)
{
	return a->has_metrics && b->has_metrics &&
	       tether_addr_compare(&a->metrics, &b->metrics) == 0;
}

int
lb_metrics_take(struct lb_proxy *px, struct lb_proxy *from)
{
	if (from == NULL || from->metrics == NULL || px->metrics != NULL ||
	    !lb_metrics_same(from->conf, px->conf))
		return 0;
	lb_admin_move(&px->metrics, &from->metrics, px);
	return 1;
}

void
lb_metrics_close(struct lb_proxy *px)
{
	tether_ctl_close(px->metrics);
	px->metrics = NULL;
}
