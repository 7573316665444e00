/*
 * runtime_interop.c - the RPC runtime against libtirpc, both ways, for
 * every procedure of runtime_prog.x over TCP and UDP:
 *   tirpc-client   a tether server (child process) called by rpcgen's
 *                  client stubs through clnttcp_create / clntudp_create
 *                  with an explicit address (no portmapper involved);
 *   tether-client  rpcgen's server skeleton (child process, svctcp_create
 *                  / svcudp_create on free ports, never registered)
 *                  called by the tether client with hand-written codecs.
 * Also a slow server (answered in time, and past the client's timeout,
 * whose late reply must be dropped) and a server killed mid-call.
 * Exit status 0 when every check passed.
 */
#include "runtime_prog.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tether/rpc.h"

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* ------------------------------------------------------------------ */
/* The test data and what each procedure must answer                   */
/* ------------------------------------------------------------------ */

#define REC_ID	    "tether-interop"
#define REC_BIG	    0x123456789abcdef0ull
#define REC_RATIO   3.25
#define REC_NBLOB   300u
#define REC_NVALUES 50u
#define REC_NPTS    5u
#define LIST_LEN    20

static unsigned char blob_data[REC_NBLOB];
static int32_t values_data[REC_NVALUES];

static void
init_data(void)
{
	unsigned i;

	for (i = 0; i < REC_NBLOB; i++)
		blob_data[i] = (unsigned char)(i * 7);
	for (i = 0; i < REC_NVALUES; i++)
		values_data[i] = (int32_t)(i * i) - 100;
}

/* ------------------------------------------------------------------ */
/* tether side: types and codecs, as tether-rpcgen will emit them      */
/* ------------------------------------------------------------------ */

struct t_point {
	int32_t x;
	int32_t y;
};

struct t_record {
	char *id;
	uint64_t big;
	double ratio;
	int32_t c;
	uint8_t tag[4];
	uint8_t *blob;
	uint32_t blob_len;
	int32_t *values;
	uint32_t nvalues;
	struct t_point *pts;
	uint32_t npts;
	bool flag;
};

struct t_node {
	int32_t v;
	struct t_node *next;
};

struct t_result {
	int32_t status;
	union {
		struct t_record rec;
		char *err;
	} u;
};

static int
t_point_codec(struct tether_xdr *x, void *obj)
{
	struct t_point *p = obj;
	int rc = tether_xdr_i32(x, &p->x);

	return rc ? rc : tether_xdr_i32(x, &p->y);
}

static int
t_record_codec(struct tether_xdr *x, void *obj)
{
	struct t_record *r = obj;
	int rc;

	if ((rc = tether_xdr_string(x, &r->id, TMAXNAME)) != 0 ||
	    (rc = tether_xdr_u64(x, &r->big)) != 0 ||
	    (rc = tether_xdr_double(x, &r->ratio)) != 0 ||
	    (rc = tether_xdr_enum_range(x, &r->c, TRED, TBLUE)) != 0 ||
	    (rc = tether_xdr_opaque(x, r->tag, 4)) != 0 ||
	    (rc = tether_xdr_bytes(x, &r->blob, &r->blob_len, 1024)) != 0 ||
	    (rc = tether_xdr_array(x, (void **)&r->values, &r->nvalues, 100,
				   sizeof(int32_t), tether_xdr_codec_i32)) !=
		    0 ||
	    (rc = tether_xdr_array(x, (void **)&r->pts, &r->npts, 10,
				   sizeof(struct t_point), t_point_codec)) != 0)
		return rc;
	return tether_xdr_bool(x, &r->flag);
}

static int
t_node_fields(struct tether_xdr *x, void *obj)
{
	return tether_xdr_i32(x, &((struct t_node *)obj)->v);
}

/* tnodelist: obj is a struct t_node **. */
static int
t_list_codec(struct tether_xdr *x, void *obj)
{
	return tether_xdr_list(x, (void **)obj, sizeof(struct t_node),
			       offsetof(struct t_node, next), t_node_fields);
}

static int
t_err_codec(struct tether_xdr *x, void *obj)
{
	return tether_xdr_string(x, (char **)obj, TMAXNAME);
}

static int
t_result_codec(struct tether_xdr *x, void *obj)
{
	static const struct tether_xdr_arm arms[] = {
		{ 0, t_record_codec },
		{ 1, t_err_codec },
	};
	struct t_result *r = obj;

	return tether_xdr_union(x, &r->status, &r->u, arms, 2, tether_xdr_void);
}

/* ------------------------------------------------------------------ */
/* tether server                                                       */
/* ------------------------------------------------------------------ */

static void
ts_add(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct t_point *p = args;
	int32_t r = (int32_t)((uint32_t)p->x + (uint32_t)p->y);

	(void)ud;
	tether_rpc_server_reply(call, &r);
}

static void
ts_echo(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct t_record *r = args;
	uint32_t i;

	(void)ud;
	r->big++;
	r->ratio *= 2;
	r->c = (r->c + 1) % 3;
	for (i = 0; i < r->nvalues / 2; i++) {
		int32_t t = r->values[i];

		r->values[i] = r->values[r->nvalues - 1 - i];
		r->values[r->nvalues - 1 - i] = t;
	}
	for (i = 0; i < r->npts; i++) {
		int32_t t = r->pts[i].x;

		r->pts[i].x = r->pts[i].y;
		r->pts[i].y = t;
	}
	r->flag = !r->flag;
	tether_rpc_server_reply(call, r);
}

static void
ts_sumlist(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct t_node *n = *(struct t_node **)args;
	int32_t sum = 0;

	(void)ud;
	for (; n != NULL; n = n->next)
		sum += n->v;
	tether_rpc_server_reply(call, &sum);
}

static uint8_t found_blob[3] = { 1, 2, 3 };
static int32_t found_values[1] = { 7 };
static struct t_point found_pts[1] = { { 1, 2 } };

static void
ts_lookup(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct t_result res;
	int32_t n = *(int32_t *)args;

	(void)ud;
	memset(&res, 0, sizeof(res));
	res.status = n;
	if (n == 0) {
		res.u.rec.id = "found";
		res.u.rec.big = 1ull << 40;
		res.u.rec.ratio = 0.5;
		res.u.rec.c = TBLUE;
		memcpy(res.u.rec.tag, "abcd", 4);
		res.u.rec.blob = found_blob;
		res.u.rec.blob_len = 3;
		res.u.rec.values = found_values;
		res.u.rec.nvalues = 1;
		res.u.rec.pts = found_pts;
		res.u.rec.npts = 1;
		res.u.rec.flag = true;
	} else if (n == 1) {
		res.u.err = "no such entry";
	}
	tether_rpc_server_reply(call, &res);
}

/* TSLOW: asynchronous completion - the call handle is kept and the
 * reply sent from a timer, while the loop serves others. */
struct slow_call {
	struct tether_rpc_server_call *call;
	int32_t ms;
};

static void
slow_fire(struct tether_loop *loop, struct tether_loop_timer *t, void *ud)
{
	struct slow_call *sc = ud;

	(void)loop;
	tether_rpc_server_reply(sc->call, &sc->ms);
	tether_loop_timer_free(t);
	free(sc);
}

static void
ts_slow(struct tether_rpc_server_call *call, void *args, void *ud)
{
	struct tether_loop *loop = ud;
	struct tether_loop_timer *t;
	struct slow_call *sc = malloc(sizeof(*sc));
	int32_t ms = *(int32_t *)args;

	if (sc == NULL || ms < 0 || ms > 60000 ||
	    tether_loop_timer_new(loop, slow_fire, sc, &t) != 0) {
		free(sc);
		tether_rpc_server_reply_error(call, TETHER_RPC_SYSTEM_ERR);
		return;
	}
	sc->call = call;
	sc->ms = ms;
	tether_loop_timer_arm(t, (uint64_t)ms, 0);
}

static const struct tether_rpc_server_proc ts_procs[] = {
	{ TSLOW, tether_xdr_codec_i32, sizeof(int32_t), tether_xdr_codec_i32,
	  ts_slow },
	{ TADD, t_point_codec, sizeof(struct t_point), tether_xdr_codec_i32,
	  ts_add },
	{ TECHO, t_record_codec, sizeof(struct t_record), t_record_codec,
	  ts_echo },
	{ TSUMLIST, t_list_codec, sizeof(struct t_node *), tether_xdr_codec_i32,
	  ts_sumlist },
	{ TLOOKUP, tether_xdr_codec_i32, sizeof(int32_t), t_result_codec,
	  ts_lookup },
};

static const struct tether_rpc_server_table ts_table = {
	TPROG, TVERS, ts_procs, sizeof(ts_procs) / sizeof(ts_procs[0]), 0
};

static volatile sig_atomic_t child_stop;

static void
on_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* Child: serve on 127.0.0.1 TCP and UDP, write both ports to wfd. */
static void
tether_server_child(int wfd)
{
	struct tether_loop *loop;
	struct tether_rpc_server *srv;
	struct tether_addr a, tcp, udp;
	int ports[2];

	signal(SIGTERM, on_term);
	if (tether_loop_new(&loop, NULL) != 0 ||
	    tether_rpc_server_new(&srv, loop, NULL) != 0 ||
	    tether_rpc_server_register(srv, &ts_table, loop) != 0 ||
	    tether_addr_parse(&a, "127.0.0.1:0", -1) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_STREAM, &a, &tcp) != 0 ||
	    tether_rpc_server_listen(srv, SOCK_DGRAM, &a, &udp) != 0)
		_exit(3);
	ports[0] = tether_addr_port(&tcp);
	ports[1] = tether_addr_port(&udp);
	if (write(wfd, ports, sizeof(ports)) != (ssize_t)sizeof(ports))
		_exit(3);
	close(wfd);
	while (!child_stop)
		tether_loop_run_once(loop, 100);
	tether_rpc_server_free(srv);
	tether_loop_free(loop);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* libtirpc client (rpcgen stubs)                                      */
/* ------------------------------------------------------------------ */

static void
tirpc_fill_record(trecord *r)
{
	static tpoint pts[REC_NPTS];
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->id = REC_ID;
	r->big = REC_BIG;
	r->ratio = REC_RATIO;
	r->c = TGREEN;
	memcpy(r->tag, "wxyz", 4);
	r->blob.blob_len = REC_NBLOB;
	r->blob.blob_val = (char *)blob_data;
	r->values.values_len = REC_NVALUES;
	r->values.values_val = values_data;
	for (i = 0; i < REC_NPTS; i++) {
		pts[i].x = (int)i;
		pts[i].y = -(int)i;
	}
	r->pts.pts_len = REC_NPTS;
	r->pts.pts_val = pts;
	r->flag = TRUE;
}

static void
tirpc_calls(CLIENT *cl, const char *what)
{
	tpoint p = { 40, 2 };
	trecord rec, *er;
	tnode nodes[LIST_LEN];
	tnodelist list = &nodes[0];
	tresult *lr;
	int *ip, n, i;
	void *vp;

	fprintf(stderr, "libtirpc client -> tether server over %s\n", what);
	vp = tping_1(NULL, cl);
	CHECK(vp != NULL);
	ip = tadd_1(&p, cl);
	CHECK(ip != NULL && *ip == 42);

	tirpc_fill_record(&rec);
	er = techo_1(&rec, cl);
	CHECK(er != NULL);
	if (er != NULL) {
		CHECK(strcmp(er->id, REC_ID) == 0);
		CHECK(er->big == REC_BIG + 1);
		CHECK(er->ratio == REC_RATIO * 2);
		CHECK(er->c == TBLUE);
		CHECK(memcmp(er->tag, "wxyz", 4) == 0);
		CHECK(er->blob.blob_len == REC_NBLOB &&
		      memcmp(er->blob.blob_val, blob_data, REC_NBLOB) == 0);
		CHECK(er->values.values_len == REC_NVALUES);
		for (i = 0; i < (int)REC_NVALUES &&
			    er->values.values_len == REC_NVALUES;
		     i++)
			CHECK(er->values.values_val[i] ==
			      values_data[REC_NVALUES - 1 - (unsigned)i]);
		CHECK(er->pts.pts_len == REC_NPTS);
		for (i = 0; i < (int)REC_NPTS && er->pts.pts_len == REC_NPTS;
		     i++)
			CHECK(er->pts.pts_val[i].x == -i &&
			      er->pts.pts_val[i].y == i);
		CHECK(er->flag == FALSE);
		clnt_freeres(cl, (xdrproc_t)xdr_trecord, (caddr_t)er);
	}

	for (i = 0; i < LIST_LEN; i++) {
		nodes[i].v = i + 1;
		nodes[i].next = i + 1 < LIST_LEN ? &nodes[i + 1] : NULL;
	}
	ip = tsumlist_1(&list, cl);
	CHECK(ip != NULL && *ip == LIST_LEN * (LIST_LEN + 1) / 2);
	list = NULL;
	ip = tsumlist_1(&list, cl);
	CHECK(ip != NULL && *ip == 0);

	n = 0;
	lr = tlookup_1(&n, cl);
	CHECK(lr != NULL && lr->status == 0);
	if (lr != NULL && lr->status == 0) {
		trecord *r = &lr->tresult_u.rec;

		CHECK(strcmp(r->id, "found") == 0);
		CHECK(r->big == 1ull << 40 && r->ratio == 0.5);
		CHECK(r->c == TBLUE && memcmp(r->tag, "abcd", 4) == 0);
		CHECK(r->blob.blob_len == 3 && r->blob.blob_val[2] == 3);
		CHECK(r->values.values_len == 1 &&
		      r->values.values_val[0] == 7);
		CHECK(r->pts.pts_len == 1 && r->pts.pts_val[0].y == 2);
		CHECK(r->flag == TRUE);
		clnt_freeres(cl, (xdrproc_t)xdr_tresult, (caddr_t)lr);
	}
	n = 1;
	lr = tlookup_1(&n, cl);
	CHECK(lr != NULL && lr->status == 1 &&
	      strcmp(lr->tresult_u.err, "no such entry") == 0);
	if (lr != NULL)
		clnt_freeres(cl, (xdrproc_t)xdr_tresult, (caddr_t)lr);
	n = 9;
	lr = tlookup_1(&n, cl);
	CHECK(lr != NULL && lr->status == 9);

	/* Answered 100 ms later from a timer of the server's loop. */
	n = 100;
	ip = tslow_1(&n, cl);
	CHECK(ip != NULL && *ip == 100);
	/* Past libtirpc's timeout: it gives up; the late reply that comes
	 * afterwards must not confuse the next call. */
	{
		struct timeval tv = { 0, 200000 };
		int res = 0;

		n = 600;
		CHECK(clnt_call(cl, TSLOW, (xdrproc_t)xdr_int, (caddr_t)&n,
				(xdrproc_t)xdr_int, (caddr_t)&res,
				tv) == RPC_TIMEDOUT);
		usleep(500000);
		ip = tadd_1(&p, cl);
		CHECK(ip != NULL && *ip == 42);
	}
}

/* xdr_void is declared without parameters; a codec of the usual shape
 * casts to xdrproc_t without a warning. */
static bool_t
void_codec(XDR *x, void *p)
{
	(void)x;
	(void)p;
	return TRUE;
}
#define VOIDPROC ((xdrproc_t)void_codec)

/* The protocol errors, as libtirpc reports them. */
static void
tirpc_errors(struct sockaddr_in *sin, int udp)
{
	struct timeval tv = { 2, 0 }, wait = { 0, 200000 };
	struct rpc_err err;
	CLIENT *cl;
	int sock = RPC_ANYSOCK;
	enum clnt_stat st;

	cl = udp ? clntudp_create(sin, TPROG, 7, wait, &sock)
		 : clnttcp_create(sin, TPROG, 7, &sock, 0, 0);
	CHECK(cl != NULL);
	if (cl == NULL)
		return;
	st = clnt_call(cl, 0, VOIDPROC, NULL, VOIDPROC, NULL, tv);
	CHECK(st == RPC_PROGVERSMISMATCH);
	clnt_geterr(cl, &err);
	CHECK(err.re_vers.low == 1 && err.re_vers.high == 1);
	clnt_destroy(cl);
	sock = RPC_ANYSOCK;
	cl = udp ? clntudp_create(sin, TPROG, TVERS, wait, &sock)
		 : clnttcp_create(sin, TPROG, TVERS, &sock, 0, 0);
	CHECK(cl != NULL);
	if (cl == NULL)
		return;
	st = clnt_call(cl, 99, VOIDPROC, NULL, VOIDPROC, NULL, tv);
	CHECK(st == RPC_PROCUNAVAIL);
	/* TADD with no arguments. */
	st = clnt_call(cl, TADD, VOIDPROC, NULL, VOIDPROC, NULL, tv);
	CHECK(st == RPC_CANTDECODEARGS);
	/* AUTH_SYS is accepted. */
	auth_destroy(cl->cl_auth);
	cl->cl_auth = authunix_create_default();
	st = clnt_call(cl, 0, VOIDPROC, NULL, VOIDPROC, NULL, tv);
	CHECK(st == RPC_SUCCESS);
	auth_destroy(cl->cl_auth); /* clnt_destroy leaves it to us */
	clnt_destroy(cl);
	sock = RPC_ANYSOCK;
	cl = udp ? clntudp_create(sin, TPROG + 1, 1, wait, &sock)
		 : clnttcp_create(sin, TPROG + 1, 1, &sock, 0, 0);
	CHECK(cl != NULL);
	if (cl == NULL)
		return;
	st = clnt_call(cl, 0, VOIDPROC, NULL, VOIDPROC, NULL, tv);
	CHECK(st == RPC_PROGUNAVAIL);
	clnt_destroy(cl);
}

static int
run_tirpc_client(void)
{
	int pfd[2], ports[2] = { 0, 0 }, status, sock;
	struct sockaddr_in sin;
	struct timeval wait = { 0, 200000 };
	CLIENT *cl;
	pid_t pid;

	if (pipe(pfd) != 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(pfd[0]);
		tether_server_child(pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], ports, sizeof(ports)) != (ssize_t)sizeof(ports)) {
		fprintf(stderr, "tether server did not start\n");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return 1;
	}
	close(pfd[0]);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	sin.sin_port = htons((uint16_t)ports[0]);
	sock = RPC_ANYSOCK;
	cl = clnttcp_create(&sin, TPROG, TVERS, &sock, 0, 0);
	CHECK(cl != NULL);
	if (cl != NULL) {
		tirpc_calls(cl, "TCP");
		clnt_destroy(cl);
	}
	tirpc_errors(&sin, 0);

	sin.sin_port = htons((uint16_t)ports[1]);
	sock = RPC_ANYSOCK;
	cl = clntudp_create(&sin, TPROG, TVERS, wait, &sock);
	CHECK(cl != NULL);
	if (cl != NULL) {
		tirpc_calls(cl, "UDP");
		clnt_destroy(cl);
	}
	tirpc_errors(&sin, 1);

	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* libtirpc server (rpcgen skeleton)                                   */
/* ------------------------------------------------------------------ */

void tprog_1(struct svc_req *rqstp, SVCXPRT *transp);

void *
tping_1_svc(void *arg, struct svc_req *req)
{
	static char dummy;

	(void)arg;
	(void)req;
	return &dummy;
}

int *
tadd_1_svc(tpoint *p, struct svc_req *req)
{
	static int r;

	(void)req;
	r = p->x + p->y;
	return &r;
}

trecord *
techo_1_svc(trecord *r, struct svc_req *req)
{
	static trecord res;
	u_int i;

	(void)req;
	/* The arguments stay alive until the reply is sent. */
	res = *r;
	res.big++;
	res.ratio *= 2;
	res.c = (tcolor)((r->c + 1) % 3);
	for (i = 0; i < r->values.values_len / 2; i++) {
		int t = r->values.values_val[i];

		r->values.values_val[i] =
			r->values.values_val[r->values.values_len - 1 - i];
		r->values.values_val[r->values.values_len - 1 - i] = t;
	}
	for (i = 0; i < r->pts.pts_len; i++) {
		int t = r->pts.pts_val[i].x;

		r->pts.pts_val[i].x = r->pts.pts_val[i].y;
		r->pts.pts_val[i].y = t;
	}
	res.flag = !r->flag;
	return &res;
}

int *
tsumlist_1_svc(tnodelist *l, struct svc_req *req)
{
	static int sum;
	tnode *n;

	(void)req;
	sum = 0;
	for (n = *l; n != NULL; n = n->next)
		sum += n->v;
	return &sum;
}

tresult *
tlookup_1_svc(int *np, struct svc_req *req)
{
	static tresult res;
	static tpoint pt = { 1, 2 };
	static int val = 7;
	static char blob[3] = { 1, 2, 3 };

	(void)req;
	memset(&res, 0, sizeof(res));
	res.status = *np;
	if (*np == 0) {
		trecord *r = &res.tresult_u.rec;

		r->id = "found";
		r->big = 1ull << 40;
		r->ratio = 0.5;
		r->c = TBLUE;
		memcpy(r->tag, "abcd", 4);
		r->blob.blob_len = 3;
		r->blob.blob_val = blob;
		r->values.values_len = 1;
		r->values.values_val = &val;
		r->pts.pts_len = 1;
		r->pts.pts_val = &pt;
		r->flag = TRUE;
	} else if (*np == 1) {
		res.tresult_u.err = "no such entry";
	}
	return &res;
}

int *
tslow_1_svc(int *ms, struct svc_req *req)
{
	static int r;

	(void)req;
	/* libtirpc's server is single-threaded: it blocks everyone. */
	usleep((useconds_t)*ms * 1000);
	r = *ms;
	return &r;
}

static int
bound_socket(int type, int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
tirpc_server_child(int tfd, int ufd)
{
	SVCXPRT *t, *u;

	t = svctcp_create(tfd, 0, 0);
	u = svcudp_create(ufd);
	/* Protocol 0: serve without registering with a portmapper. */
	if (t == NULL || u == NULL ||
	    !svc_register(t, TPROG, TVERS, tprog_1, 0) ||
	    !svc_register(u, TPROG, TVERS, tprog_1, 0))
		_exit(3);
	svc_run();
	_exit(4);
}

static void
tether_check_record(const struct t_record *r)
{
	uint32_t i;

	CHECK(r->id != NULL && strcmp(r->id, REC_ID) == 0);
	CHECK(r->big == REC_BIG + 1);
	CHECK(r->ratio == REC_RATIO * 2);
	CHECK(r->c == TBLUE);
	CHECK(memcmp(r->tag, "wxyz", 4) == 0);
	CHECK(r->blob_len == REC_NBLOB &&
	      memcmp(r->blob, blob_data, REC_NBLOB) == 0);
	CHECK(r->nvalues == REC_NVALUES);
	for (i = 0; i < REC_NVALUES && r->nvalues == REC_NVALUES; i++)
		CHECK(r->values[i] == values_data[REC_NVALUES - 1 - i]);
	CHECK(r->npts == REC_NPTS);
	for (i = 0; i < REC_NPTS && r->npts == REC_NPTS; i++)
		CHECK(r->pts[i].x == -(int32_t)i && r->pts[i].y == (int32_t)i);
	CHECK(!r->flag);
}

static void
tether_calls(const struct tether_addr *a, int type, const char *what)
{
	struct tether_rpc_client *c;
	struct tether_rpc_result r;
	struct tether_arena *arena = tether_arena_new(0, 0);
	struct t_point p = { 40, 2 };
	struct t_record rec, er;
	struct t_point pts[REC_NPTS];
	struct t_node nodes[LIST_LEN], *list = &nodes[0];
	struct t_result lr;
	struct tether_rpc_authsys sys;
	int32_t sum = 0, n;
	char buf[128];
	int i;

	fprintf(stderr, "tether client -> libtirpc server over %s\n", what);
	CHECK(tether_rpc_client_new(&c, NULL, a, type, TPROG, TVERS, NULL) ==
	      0);
	CHECK(tether_rpc_client_call(c, TPING, NULL, NULL, NULL, NULL, NULL,
				     3000, &r) == TETHER_RPC_ST_OK);
	CHECK(tether_rpc_client_call(c, TADD, t_point_codec, &p,
				     tether_xdr_codec_i32, &sum, NULL, 3000,
				     &r) == TETHER_RPC_ST_OK);
	CHECK(sum == 42);

	memset(&rec, 0, sizeof(rec));
	rec.id = REC_ID;
	rec.big = REC_BIG;
	rec.ratio = REC_RATIO;
	rec.c = TGREEN;
	memcpy(rec.tag, "wxyz", 4);
	rec.blob = blob_data;
	rec.blob_len = REC_NBLOB;
	rec.values = values_data;
	rec.nvalues = REC_NVALUES;
	for (i = 0; i < (int)REC_NPTS; i++) {
		pts[i].x = i;
		pts[i].y = -i;
	}
	rec.pts = pts;
	rec.npts = REC_NPTS;
	rec.flag = true;
	memset(&er, 0, sizeof(er));
	CHECK(tether_rpc_client_call(c, TECHO, t_record_codec, &rec,
				     t_record_codec, &er, arena, 3000,
				     &r) == TETHER_RPC_ST_OK);
	if (r.status == TETHER_RPC_ST_OK)
		tether_check_record(&er);

	for (i = 0; i < LIST_LEN; i++) {
		nodes[i].v = i + 1;
		nodes[i].next = i + 1 < LIST_LEN ? &nodes[i + 1] : NULL;
	}
	CHECK(tether_rpc_client_call(c, TSUMLIST, t_list_codec, &list,
				     tether_xdr_codec_i32, &sum, arena, 3000,
				     &r) == TETHER_RPC_ST_OK);
	CHECK(sum == LIST_LEN * (LIST_LEN + 1) / 2);

	for (n = 0; n < 3; n++) {
		int32_t arg = n == 2 ? 9 : n;

		memset(&lr, 0, sizeof(lr));
		CHECK(tether_rpc_client_call(c, TLOOKUP, tether_xdr_codec_i32,
					     &arg, t_result_codec, &lr, arena,
					     3000, &r) == TETHER_RPC_ST_OK);
		CHECK(lr.status == arg);
		if (n == 0) {
			CHECK(lr.u.rec.id && strcmp(lr.u.rec.id, "found") == 0);
			CHECK(lr.u.rec.big == 1ull << 40);
			CHECK(lr.u.rec.ratio == 0.5 && lr.u.rec.c == TBLUE);
			CHECK(lr.u.rec.blob_len == 3 && lr.u.rec.blob[2] == 3);
			CHECK(lr.u.rec.nvalues == 1 && lr.u.rec.values[0] == 7);
			CHECK(lr.u.rec.npts == 1 && lr.u.rec.pts[0].y == 2);
			CHECK(lr.u.rec.flag);
		} else if (n == 1) {
			CHECK(lr.u.err &&
			      strcmp(lr.u.err, "no such entry") == 0);
		}
	}

	/* A slow server: in time, and past the timeout. */
	n = 50;
	CHECK(tether_rpc_client_call(c, TSLOW, tether_xdr_codec_i32, &n,
				     tether_xdr_codec_i32, &sum, NULL, 3000,
				     &r) == TETHER_RPC_ST_OK);
	CHECK(sum == 50);
	n = 700;
	CHECK(tether_rpc_client_call(c, TSLOW, tether_xdr_codec_i32, &n,
				     tether_xdr_codec_i32, &sum, NULL, 200,
				     &r) == TETHER_RPC_ST_TIMEDOUT);
	/* The late reply is dropped; the next call gets its own. */
	CHECK(tether_rpc_client_call(c, TADD, t_point_codec, &p,
				     tether_xdr_codec_i32, &sum, NULL, 3000,
				     &r) == TETHER_RPC_ST_OK);
	CHECK(sum == 42);

	/* libtirpc's answers to what it does not serve. */
	CHECK(tether_rpc_client_call(c, 99, NULL, NULL, NULL, NULL, NULL, 3000,
				     &r) == TETHER_RPC_ST_PROC_UNAVAIL);
	/* libtirpc's UDP server decodes arguments from its whole receive
	 * buffer, not the datagram's length: missing arguments are read
	 * from stale bytes there. Only TCP can check GARBAGE_ARGS. */
	if (type == SOCK_STREAM)
		CHECK(tether_rpc_client_call(c, TADD, NULL, NULL, NULL, NULL,
					     NULL, 3000,
					     &r) == TETHER_RPC_ST_GARBAGE_ARGS);
	CHECK(tether_rpc_authsys_init(&sys, 1, "tether", 1000, 1000, 0, NULL) ==
	      0);
	CHECK(tether_rpc_client_set_authsys(c, &sys) == 0);
	CHECK(tether_rpc_client_call(c, TADD, t_point_codec, &p,
				     tether_xdr_codec_i32, &sum, NULL, 3000,
				     &r) == TETHER_RPC_ST_OK);
	tether_rpc_client_free(c);

	CHECK(tether_rpc_client_new(&c, NULL, a, type, TPROG, 5, NULL) == 0);
	CHECK(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL, NULL, 3000,
				     &r) == TETHER_RPC_ST_PROG_MISMATCH);
	CHECK(r.mismatch.low == TVERS && r.mismatch.high == TVERS);
	fprintf(stderr, "  version 5: %s\n",
		tether_rpc_result_format(&r, buf, sizeof(buf)));
	tether_rpc_client_free(c);
	CHECK(tether_rpc_client_new(&c, NULL, a, type, TPROG + 1, 1, NULL) ==
	      0);
	CHECK(tether_rpc_client_call(c, 0, NULL, NULL, NULL, NULL, NULL, 3000,
				     &r) == TETHER_RPC_ST_PROG_UNAVAIL);
	tether_rpc_client_free(c);
	tether_arena_free(arena);
}

struct killed_call {
	int done;
	struct tether_rpc_result r;
};

static void
killed_done(struct tether_rpc_client *c, const struct tether_rpc_result *r,
	    void *ud)
{
	struct killed_call *k = ud;

	(void)c;
	k->done = 1;
	k->r = *r;
}

/* The server is killed while it runs a call: over TCP the client must
 * say the call may or may not have run. */
static void
tether_killed_mid_call(const struct tether_addr *a, pid_t pid)
{
	struct tether_rpc_client *c;
	struct killed_call k;
	char buf[128];
	int32_t n = 5000, res = 0;
	int i;

	memset(&k, 0, sizeof(k));
	CHECK(tether_rpc_client_new(&c, NULL, a, SOCK_STREAM, TPROG, TVERS,
				    NULL) == 0);
	CHECK(tether_rpc_client_call_async(c, TSLOW, tether_xdr_codec_i32, &n,
					   tether_xdr_codec_i32, &res, NULL,
					   10000, killed_done, &k) == 0);
	for (i = 0; i < 20; i++)
		tether_loop_run_once(tether_rpc_client_loop(c), 10);
	kill(pid, SIGKILL);
	for (i = 0; i < 500 && !k.done; i++)
		tether_loop_run_once(tether_rpc_client_loop(c), 10);
	CHECK(k.done && k.r.status == TETHER_RPC_ST_CONN_LOST);
	fprintf(stderr, "server killed mid-call: %s: %s\n",
		tether_rpc_result_format(&k.r, buf, sizeof(buf)),
		tether_rpc_status_str(k.r.status));
	tether_rpc_client_free(c);
}

static int
run_tether_client(void)
{
	int tport = 0, uport = 0, tfd, ufd, status;
	struct tether_addr a;
	char s[64];
	pid_t pid;

	tfd = bound_socket(SOCK_STREAM, &tport);
	ufd = bound_socket(SOCK_DGRAM, &uport);
	if (tfd < 0 || ufd < 0 || listen(tfd, 16) != 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0)
		tirpc_server_child(tfd, ufd);
	close(tfd);
	close(ufd);
	snprintf(s, sizeof(s), "127.0.0.1:%d", tport);
	CHECK(tether_addr_parse(&a, s, -1) == 0);
	tether_calls(&a, SOCK_STREAM, "TCP");
	snprintf(s, sizeof(s), "127.0.0.1:%d", uport);
	CHECK(tether_addr_parse(&a, s, -1) == 0);
	tether_calls(&a, SOCK_DGRAM, "UDP");
	snprintf(s, sizeof(s), "127.0.0.1:%d", tport);
	CHECK(tether_addr_parse(&a, s, -1) == 0);
	tether_killed_mid_call(&a, pid);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status)); /* it was still serving */
	return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
	int rc;

	init_data();
	if (argc == 2 && strcmp(argv[1], "tirpc-client") == 0)
		rc = run_tirpc_client();
	else if (argc == 2 && strcmp(argv[1], "tether-client") == 0)
		rc = run_tether_client();
	else {
		fprintf(stderr, "usage: %s tirpc-client|tether-client\n",
			argv[0]);
		return 2;
	}
	fprintf(stderr, "%s: %d failed checks\n", argv[1], failures);
	return rc;
}
