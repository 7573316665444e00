/*
 * bpfasm.h - the few bpf(2) calls and instruction helpers of programs
 * written as instructions (no clang BPF target, no libbpf): the kernel
 * relay (krelay.c) and bench/lb's floor-sockmap relay. Header only.
 */
#ifndef LB_BPFASM_H
#define LB_BPFASM_H

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
			    .off = (o), .imm = (i) })

/* r0 = bpf_map_lookup_elem(map, fp + off): five instructions, the map's
 * fd (the first one's imm) filled in before the load. */
#define INSN_LOOKUP(off) \
	INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, 0), \
	INSN(0, 0, 0, 0, 0), \
	INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0), \
	INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, (off)), \
	INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem)

static inline int
bpf_sys(int cmd, union bpf_attr *a)
{
	return (int)syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static inline int
bpf_map_create(uint32_t type, uint32_t ksize, uint32_t vsize, uint32_t n,
	       uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ksize;
	a.value_size = vsize;
	a.max_entries = n;
	a.map_flags = flags;
	return bpf_sys(BPF_MAP_CREATE, &a);
}

static inline int
bpf_map_op(int cmd, int fd, const void *key, void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)val;
	return bpf_sys(cmd, &a);
}

/* Load an sk_skb program; -1 with why in errbuf (the end of the
 * verifier's log, asked for only after a failed load: a log that fills
 * up fails a load that would pass). */
static inline int
bpf_prog_load_skb(const struct bpf_insn *insns, uint32_t n, char *errbuf,
		  size_t errlen)
{
	char log[4096];
	union bpf_attr a;
	size_t len;
	int fd, e;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_SKB;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = n;
	a.license = (uint64_t)(uintptr_t)"BSD";
	fd = bpf_sys(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	e = errno;
	log[0] = '\0';
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	(void)bpf_sys(BPF_PROG_LOAD, &a);
	log[sizeof(log) - 1] = '\0';
	len = strlen(log);
	while (len > 0 && log[len - 1] == '\n')
		log[--len] = '\0';
	snprintf(errbuf, errlen, "BPF_PROG_LOAD: %s%s%.160s", strerror(e),
		 len > 0 ? ": " : "", len > 160 ? log + len - 160 : log);
	errno = e;
	return -1;
}

static inline int
bpf_prog_attach(int map, int prog, uint32_t type)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)map;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = type;
	return bpf_sys(BPF_PROG_ATTACH, &a);
}

#endif /* LB_BPFASM_H */
