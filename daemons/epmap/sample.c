/*
 * sample.c - tether-epmap-sample: a trivial DCE/RPC service for tests and
 * the load balancer. It asks tether-epmap (over the local socket) for a
 * dynamic port by registering with port 0, learns the port with ept_map,
 * listens there and answers opnum 0, sample_get_name:
 *
 *	[uuid(5f7a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b), version(1.0)]
 *	error_status_t sample_get_name([out, string, unique] char **name);
 *
 * It prints "port N" on stdout once it listens, and deletes its entry on
 * SIGTERM / SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tether/core.h"
#include "tether/dce.h"

#define SAMPLE_UUID "5f7a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"

static char server_name[64];

static int
op_get_name(struct tether_dce_call *call)
{
	size_t n = strlen(server_name);
	int rc;

	rc = tether_dce_ndr_put_ptr(call->out, 1);
	if (rc == 0)
		rc = tether_dce_ndr_put_string(call->out, server_name, n);
	if (rc == 0)
		rc = tether_dce_ndr_put_align(call->out, 4);
	if (rc == 0)
		rc = tether_dce_ndr_put_u32(call->out, 0);
	return rc;
}

static tether_dce_op_fn *const sample_ops[] = { op_get_name };

static int
connect_unix(const char *path)
{
	struct tether_addr a;
	int fd;

	if (tether_addr_parse(&a, path, -1) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One call to the mapper over the local socket; returns the status (or
 * fault) and copies the response stub to out. */
static int
epm_call(const char *path, uint16_t opnum, const uint8_t *stub, size_t len,
	 uint8_t *out, size_t cap, size_t *out_len, uint32_t *fault)
{
	struct tether_dce_client *c;
	const uint8_t *resp;
	size_t rl;
	int fd, rc;

	fd = connect_unix(path);
	if (fd < 0)
		return tether_err_from_errno(errno);
	rc = tether_dce_client_bind(fd, &tether_dce_epm_v3, 0, 5000, &c, NULL);
	if (rc == 0) {
		rc = tether_dce_client_call(c, opnum, NULL, stub, len, &resp,
					    &rl, fault);
		if (rc == 0 && rl > cap)
			rc = -TETHER_EMSGSIZE;
		if (rc == 0) {
			memcpy(out, resp, rl);
			*out_len = rl;
		}
		tether_dce_client_free(c);
	}
	close(fd);
	return rc;
}

static int
tower(const struct tether_dce_syntax *s, uint16_t port, uint8_t *buf,
      size_t *len)
{
	static const uint8_t any[4];

	return tether_dce_tower_build_tcp(s, &tether_dce_ndr20, port, any, buf,
					  TETHER_DCE_TOWER_TCP_LEN, len);
}

/* ept_insert (insert) or ept_delete of our entry at port. */
static int
reg(const char *path, const struct tether_dce_syntax *s, uint16_t port,
    int insert)
{
	struct tether_dce_epm_insert_req q;
	struct tether_dce_epm_entry e;
	struct tether_dce_ndr_writer w;
	uint8_t tw[TETHER_DCE_TOWER_TCP_LEN], stub[512], out[64];
	size_t tl, ol;
	uint32_t fault, status;
	int rc;

	if (tower(s, port, tw, &tl) < 0)
		return -TETHER_EINVAL;
	memset(&e, 0, sizeof(e));
	e.has_tower = 1;
	e.tower.data = tw;
	e.tower.len = (uint32_t)tl;
	e.annotation = "tether sample service";
	memset(&q, 0, sizeof(q));
	q.num_ents = 1;
	q.entries = &e;
	tether_dce_ndr_writer_init(&w, stub, sizeof(stub), TETHER_DCE_DREP_LE);
	rc = tether_dce_epm_insert_req_encode(&w, &q, insert);
	if (rc < 0)
		return rc;
	rc = epm_call(path,
		      insert ? TETHER_DCE_EPM_INSERT : TETHER_DCE_EPM_DELETE,
		      stub, w.pos, out, sizeof(out), &ol, &fault);
	if (rc < 0)
		return rc;
	if (fault != 0 || ol < 4) {
		fprintf(stderr, "tether-epmap-sample: fault 0x%08x\n", fault);
		return -TETHER_EPROTO;
	}
	memcpy(&status, out, 4);
	if (status != 0) {
		fprintf(stderr, "tether-epmap-sample: status 0x%08x\n", status);
		return -TETHER_EPERM;
	}
	return 0;
}

/* ept_map our interface: the port the mapper gave us. */
static int
mapped_port(const char *path, const struct tether_dce_syntax *s, uint16_t *port)
{
	struct tether_dce_epm_map_req q;
	struct tether_dce_epm_map_resp a;
	struct tether_dce_ndr_writer w;
	struct tether_dce_ndr_reader r;
	struct tether_dce_tower t;
	struct tether_arena *arena;
	uint8_t tw[TETHER_DCE_TOWER_TCP_LEN], stub[256], out[65536];
	size_t tl, ol;
	uint32_t fault, i;
	int rc;

	if (tower(s, 0, tw, &tl) < 0)
		return -TETHER_EINVAL;
	memset(&q, 0, sizeof(q));
	q.has_tower = 1;
	q.tower.data = tw;
	q.tower.len = (uint32_t)tl;
	q.max_towers = 16;
	tether_dce_ndr_writer_init(&w, stub, sizeof(stub), TETHER_DCE_DREP_LE);
	rc = tether_dce_epm_map_req_encode(&w, &q);
	if (rc == 0)
		rc = epm_call(path, TETHER_DCE_EPM_MAP, stub, w.pos, out,
			      sizeof(out), &ol, &fault);
	if (rc < 0)
		return rc;
	if (fault != 0)
		return -TETHER_EPROTO;
	arena = tether_arena_new(0, 0);
	if (arena == NULL)
		return -TETHER_ENOMEM;
	tether_dce_ndr_reader_init(&r, out, ol, TETHER_DCE_DREP_LE);
	rc = tether_dce_epm_map_resp_decode(&r, arena, &a);
	/* The last tower is ours: we registered after the others. */
	if (rc == 0 && (a.status != 0 || a.num_towers == 0))
		rc = -TETHER_ENOENT;
	for (i = 0; rc == 0 && i < a.num_towers; i++) {
		rc = tether_dce_tower_parse(a.towers[i].data, a.towers[i].len,
					    &t);
		if (rc == 0)
			*port = t.port;
	}
	tether_arena_free(arena);
	return rc;
}

static void
on_signal(struct tether_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	tether_loop_stop(loop);
}

static void
usage(void)
{
	fprintf(stderr, "usage: tether-epmap-sample [-s SOCKET] [-N NAME] "
			"[-l HOST]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *sock = "/run/tether/epmap.sock", *host = "0.0.0.0";
	struct tether_dce_iface iface;
	struct tether_dce_server *srv = NULL;
	struct tether_loop *loop = NULL;
	struct tether_addr a;
	uint16_t port = 0;
	int c, rc, status = 1;

	if (gethostname(server_name, sizeof(server_name) - 1) < 0)
		snprintf(server_name, sizeof(server_name), "tether");
	while ((c = getopt(argc, argv, "s:N:l:")) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'N':
			snprintf(server_name, sizeof(server_name), "%s",
				 optarg);
			break;
		case 'l':
			host = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(&iface, 0, sizeof(iface));
	if (tether_dce_uuid_parse(SAMPLE_UUID, &iface.syntax.uuid) < 0)
		return 1;
	iface.syntax.vers_major = 1;
	iface.ops = sample_ops;
	iface.n_ops = TETHER_ARRAY_SIZE(sample_ops);

	rc = reg(sock, &iface.syntax, 0, 1);
	if (rc == 0)
		rc = mapped_port(sock, &iface.syntax, &port);
	if (rc < 0) {
		fprintf(stderr, "tether-epmap-sample: registering at %s: %s\n",
			sock, tether_strerror(rc));
		return 1;
	}
	if (tether_addr_parse(&a, host, port) < 0) {
		fprintf(stderr, "tether-epmap-sample: bad host %s\n", host);
		goto out;
	}
	if (tether_loop_new(&loop, NULL) < 0 ||
	    tether_dce_server_new(loop, NULL, &srv) < 0 ||
	    tether_dce_server_add_iface(srv, &iface) < 0)
		goto out;
	rc = tether_dce_server_listen(srv, &a, NULL);
	if (rc < 0) {
		fprintf(stderr, "tether-epmap-sample: listen on port %u: %s\n",
			port, tether_strerror(rc));
		goto out;
	}
	if (tether_loop_signal_add(loop, SIGTERM, on_signal, NULL) < 0 ||
	    tether_loop_signal_add(loop, SIGINT, on_signal, NULL) < 0)
		goto out;
	printf("port %u\n", port);
	fflush(stdout);
	tether_loop_run(loop);
	status = 0;
out:
	if (reg(sock, &iface.syntax, port, 0) < 0)
		fprintf(stderr, "tether-epmap-sample: could not unregister\n");
	tether_dce_server_free(srv);
	tether_loop_free(loop);
	return status;
}
