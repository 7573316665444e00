/*
 * metrics.c - tether-lb's Prometheus endpoint: a minimal HTTP/1.0
 * server on the `metrics` address that answers GET /metrics with the
 * text exposition format (version 0.0.4) and closes. Off unless
 * configured; meant for an admin network.
 */
#include "lb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	{ "tether_lb_connections", "gauge",
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
	{ "tether_lb_backend_connections", "gauge",
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
	return 0;
}

/* Build the whole response for the request in c->in. */
static void
respond(struct lb_ctl_conn *c)
{
	const char *req = (const char *)c->in.data;
	struct tether_buf body;
	int ok;

	tether_buf_init(&body, LB_CTL_MAX_OUT - 256);
	ok = strncmp(req, "GET /metrics ", 13) == 0 ||
	     strncmp(req, "GET /metrics\r", 13) == 0;
	if (ok && lb_metrics_write(c->px, &body) == 0)
		(void)tether_buf_printf(&c->out, "HTTP/1.0 200 OK\r\n"
			"Content-Type: text/plain; version=0.0.4\r\n"
			"Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			body.len, body.len ? (const char *)body.data : "");
	else if (ok)
		(void)tether_buf_append_str(&c->out, "HTTP/1.0 500 Internal "
			"Server Error\r\nContent-Length: 0\r\n\r\n");
	else
		(void)tether_buf_append_str(&c->out,
			"HTTP/1.0 404 Not Found\r\n"
			"Content-Type: text/plain\r\nContent-Length: 18\r\n"
			"Connection: close\r\n\r\ntry GET /metrics\r\n");
	tether_buf_free(&body);
}

/* An HTTP request is whole at its empty line. */
static int
metrics_answer(struct lb_ctl_conn *c)
{
	if (strstr((const char *)c->in.data, "\r\n\r\n") == NULL &&
	    strstr((const char *)c->in.data, "\n\n") == NULL)
		return 0;
	respond(c);
	return 1;
}

static void
metrics_accept(struct tether_loop *loop, int lfd, unsigned events, void *ud)
{
	struct lb_proxy *px = ud;

	(void)loop;
	(void)events;
	lb_conn_accept(px, lfd, &px->metrics_conns, LB_HTTP_MAX_REQUEST,
		       metrics_answer);
}

int
lb_metrics_open(struct lb_proxy *px, char *errbuf, size_t errlen)
{
	const struct tether_addr *a = &px->conf->metrics;
	char abuf[TETHER_ADDR_STRLEN];
	int one = 1, fd, err;

	if (!px->conf->has_metrics)
		return 0;
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
	if (fd < 0 || bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    listen(fd, 16) < 0) {
		err = errno;
		if (tether_addr_format(a, abuf, sizeof(abuf), 0) < 0)
			snprintf(abuf, sizeof(abuf), "?");
		snprintf(errbuf, errlen, "metrics %s: %s", abuf,
			 strerror(err));
		if (fd >= 0)
			close(fd);
		return tether_err_from_errno(err);
	}
	err = tether_loop_fd_add(px->loop, fd, TETHER_LOOP_READ,
				 metrics_accept, px);
	if (err < 0) {
		snprintf(errbuf, errlen, "metrics: %s", tether_strerror(err));
		close(fd);
		return err;
	}
	px->metrics_fd = fd;
	return 0;
}

void
lb_metrics_close(struct lb_proxy *px)
{
	while (px->metrics_conns != NULL)
		lb_conn_close(px->metrics_conns);
	if (px->metrics_fd >= 0) {
		(void)tether_loop_fd_del(px->loop, px->metrics_fd);
		close(px->metrics_fd);
		px->metrics_fd = -1;
	}
}
