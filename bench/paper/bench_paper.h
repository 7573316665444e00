/*
 * bench_paper.h - what the three parts of bench/paper share: the driver
 * (bench_paper.c: local calls, raw TCP, timing, the table and figures)
 * calls the libtirpc side (bench_rp.c, Debian rpcgen's stubs) and the
 * tether side (bench_tt.c, tether-rpcgen's stubs) through these, since
 * the two generated paper.h cannot meet in one file.
 */
#ifndef BENCH_PAPER_H
#define BENCH_PAPER_H

#include <stddef.h>
#include <stdint.h>

#define PAPER_MAX_BLOCK (64u << 10)

/* xorshift32: the "random numbers" every server computes alike. */
void paper_fill_random(uint32_t *v, size_t n);
/* Exit with a message (the servers are killed by the driver). */
void paper_die(const char *what);

/* A server on already bound sockets; never returns. */
void rp_serve(int tcp_fd, int udp_fd);
/* tether's server listens itself on 127.0.0.1 and writes its TCP and
 * UDP ports (two ints) to report_fd; never returns. */
void tt_serve(int report_fd);

/* Clients: connected (and warmed by one null call) when open returns,
 * so connecting is never timed. */
void *rp_open(int port, int udp);
void rp_close(void *h);
/* One GETRAND of block bytes; exits on failure or a short block. */
void rp_getrand(void *h, unsigned block);
void rp_null(void *h);

void *tt_open(int port, int udp);
void tt_close(void *h);
void tt_getrand(void *h, unsigned block);
void tt_null(void *h);
/* ncalls null calls with depth of them in flight on h's connection
 * (asynchronous stubs); returns when all completed. */
void tt_null_pipelined(void *h, unsigned ncalls, unsigned depth);

#endif /* BENCH_PAPER_H */
