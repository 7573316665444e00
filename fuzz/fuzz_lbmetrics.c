/*
 * fuzz_lbmetrics.c - tether-lb's metrics endpoint (what a scraper, or
 * anyone who reaches the metrics address, sends) on arbitrary bytes,
 * framed as lib/core's tether_ctl frames it: at most
 * LB_HTTP_MAX_REQUEST bytes read, NUL-terminated, handed to
 * lb_metrics_request_len, and a whole request to lb_metrics_answer.
 * One live proxy (listeners on ephemeral loopback ports, no loop run,
 * no connection made), with a name the exposition has to escape (set
 * after loading: the parser takes no such name).
 * Invariants: the request ends at its first empty line (CRLF CRLF or
 * LF LF), NUL bytes included; the answer is one HTTP/1.0 response
 * whose Content-Length is its body's length; 200, with text in the
 * exposition format, exactly when the request line is GET /metrics,
 * else 404; bounded.
 */
#include "lb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_lb.h"

/* Longer inputs are read only up to LB_HTTP_MAX_REQUEST. */
#define FUZZ_MAX_INPUT (16u << 10)
/* This configuration's page is some 7 KiB. */
#define FUZZ_MAX_ANSWER (64u << 10)

/* WRR with persistence and checks, a Maglev one; backend q is renamed
 * q"uo\te in setup. */
static const char conf_text[] =
	"service web {\n"
	"    listen 127.0.0.1:80\n"
	"    persist source mask /24 /64 timeout 30m\n"
	"    backend a 127.0.0.2:8080 weight 2\n"
	"    backend q 127.0.0.3:8080\n"
	"}\n"
	"service mg {\n"
	"    listen 127.0.0.1:2049 tcp udp\n"
	"    balance maglev\n"
	"    backend m1 127.0.0.6\n"
	"    backend m2 127.0.0.7\n"
	"}\n";

static struct tether_loop *loop;
static struct lb_conf *conf;
static struct lb_proxy *px;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
setup(void)
{

	fuzz_lb_load(conf_text, sizeof(conf_text) - 1, &loop, &conf);
	/* Names are letters, digits and . _ : @ + - since the parser
	 * checks them; the label escaping stays, and is exercised with a
	 * quote and a backslash put in after loading. */
	snprintf(conf->services[0].backends[1].name, LB_NAME_MAX, "%s",
		 "q\"uo\\te");
	px = fuzz_lb_proxy("fuzz_lbmetrics", loop, conf);
}

/* The end of the first empty line in b, or 0: a byte-at-a-time
 * reading of what lb_metrics_request_len is to find. */
static size_t
first_empty_line(const unsigned char *b, size_t len)
{
	size_t k;

	for (k = 2; k <= len; k++) {
		if (b[k - 2] == '\n' && b[k - 1] == '\n')
			return k;
		if (k >= 4 && memcmp(b + k - 4, "\r\n\r\n", 4) == 0)
			return k;
	}
	return 0;
}

/* Is the request line (up to the first CR or LF, NUL bytes and all)
 * GET /metrics, with or without a version? */
static int
asks_metrics(const unsigned char *b, size_t len)
{
	const unsigned char *cr = memchr(b, '\r', len);
	const unsigned char *lf = memchr(b, '\n', len);
	size_t n = len;

	if (cr != NULL)
		n = (size_t)(cr - b);
	if (lf != NULL && (size_t)(lf - b) < n)
		n = (size_t)(lf - b);
	return n >= 12 && memcmp(b, "GET /metrics", 12) == 0 &&
	       (n == 12 || b[12] == ' ');
}

/* A body in the text exposition format, as this endpoint writes it:
 * lines of HELP, TYPE, or a tether_lb_ sample with a decimal value. */
static void
check_exposition(const char *t, size_t len)
{
	const char *p, *nl, *sp;
	size_t samples = 0;

	CHECK(len > 0 && t[len - 1] == '\n');
	for (p = t; p < t + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(t + len - p));
		if (strncmp(p, "# HELP tether_lb_", 17) == 0 ||
		    strncmp(p, "# TYPE tether_lb_", 17) == 0)
			continue;
		CHECK(strncmp(p, "tether_lb_", 10) == 0);
		for (sp = nl; sp > p && sp[-1] != ' '; sp--)
			CHECK(sp[-1] >= '0' && sp[-1] <= '9');
		CHECK(sp > p && sp < nl);
		samples++;
	}
	CHECK(samples > 0);
	/* The escaped label value, whole. */
	CHECK(strstr(t, "backend=\"q\\\"uo\\\\te\"}") != NULL);
}

/* One HTTP/1.0 response; returns its status. */
static int
check_answer(const struct tether_buf *out)
{
	const char *t = (const char *)out->data, *hend, *cl, *p;
	unsigned long long n;
	int code;

	CHECK(out->len > 0 && out->len <= FUZZ_MAX_ANSWER);
	CHECK(memchr(t, '\0', out->len) == NULL);
	/* HTTP/1.0 DDD Reason, the reason printable. */
	CHECK(out->len > 13 && memcmp(t, "HTTP/1.0 ", 9) == 0);
	CHECK(t[9] >= '1' && t[9] <= '5' && t[10] >= '0' && t[10] <= '9' &&
	      t[11] >= '0' && t[11] <= '9' && t[12] == ' ');
	code = (t[9] - '0') * 100 + (t[10] - '0') * 10 + (t[11] - '0');
	for (p = t + 13; *p != '\r'; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	CHECK(p > t + 13 && p[1] == '\n');
	hend = strstr(t, "\r\n\r\n");
	CHECK(hend != NULL);
	hend += 4;
	/* Content-Length, once, in the header, equal to what follows. */
	cl = strstr(t, "\r\nContent-Length: ");
	CHECK(cl != NULL && cl < hend - 2);
	CHECK(strstr(cl + 1, "\r\nContent-Length: ") == NULL ||
	      strstr(cl + 1, "\r\nContent-Length: ") >= hend - 2);
	CHECK(sscanf(cl, "\r\nContent-Length: %llu\r\n", &n) == 1);
	CHECK(n == (unsigned long long)(t + out->len - hend));
	if (code == 200) {
		const char *ct = strstr(t, "\r\nContent-Type: text/plain; "
					"version=0.0.4\r\n");

		CHECK(ct != NULL && ct < hend);
		check_exposition(hend, (size_t)n);
	}
	return code;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_buf out;
	size_t inlen, whole;
	char *in;
	int code;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (px == NULL)
		setup();
	/* As tether_ctl reads: at most max_request bytes, NUL after them
	 * (an exact-size copy: ASan sees a read past that NUL). */
	inlen = size < LB_HTTP_MAX_REQUEST ? size : LB_HTTP_MAX_REQUEST;
	in = malloc(inlen + 1);
	CHECK(in != NULL);
	memcpy(in, data, inlen);
	in[inlen] = '\0';
	whole = lb_metrics_request_len(in, inlen);
	CHECK(whole == first_empty_line((const unsigned char *)in, inlen));
	if (whole == 0) {
		/* Need more: tether_ctl answers too_long once full. */
		free(in);
		return 0;
	}
	CHECK(whole <= inlen);
	in[whole] = '\0';
	tether_buf_init(&out, LB_CTL_MAX_OUT);
	CHECK(lb_metrics_answer(px, in, &out) == 0);
	code = check_answer(&out);
	if (asks_metrics((const unsigned char *)in, whole))
		CHECK(code == 200);
	else
		CHECK(code == 404 &&
		      strcmp((const char *)out.data + out.len - 18,
			     "try GET /metrics\r\n") == 0);
	tether_buf_free(&out);
	free(in);
	return 0;
}
