/*
 * reg.c - the registration table of tether-portmap and its state file.
 * The lookup rules copy Debian's rpcbind (rpcb_svc_com.c: map_set,
 * map_unset, find_service; pmap_svc.c and add_pmaplist for the v2
 * view) so unmodified clients see the same answers.
 */
#include "reg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void
reg_init(struct reg_table *t, size_t max_total, size_t max_per_owner)
{
	memset(t, 0, sizeof(*t));
	t->max_total = max_total ? max_total : REG_DEFAULT_MAX_TOTAL;
	t->max_per_owner =
		max_per_owner ? max_per_owner : REG_DEFAULT_MAX_PER_OWNER;
}

void
reg_free(struct reg_table *t)
{
	tether_free(t->v);
	tether_free(t->head);
	tether_free(t->next);
	t->v = NULL;
	t->head = t->next = NULL;
	t->n = t->cap = t->nbucket = t->ncap = 0;
	t->index_ok = 0;
}

static size_t
bucket_of(const struct reg_table *t, uint32_t prog)
{
	return (size_t)((prog * 2654435761u) >> 7) & (t->nbucket - 1);
}

/* Rebuild the program index after a change. When memory runs out the
 * index is left stale and lookups scan the table. */
static void
reg_index(struct reg_table *t)
{
	size_t i, nb = 64;

	t->index_ok = 0;
	while (nb < 2 * t->n)
		nb *= 2;
	if (nb > t->nbucket) {
		uint32_t *h = tether_reallocarray(t->head, nb, sizeof(*h));

		if (h == NULL)
			return;
		t->head = h;
		t->nbucket = nb;
	}
	if (t->n > t->ncap) {
		uint32_t *x = tether_reallocarray(t->next, t->cap, sizeof(*x));

		if (x == NULL)
			return;
		t->next = x;
		t->ncap = t->cap;
	}
	memset(t->head, 0, t->nbucket * sizeof(*t->head));
	/* Backwards, each at its chain's head: chains in table order. */
	for (i = t->n; i-- > 0;) {
		size_t b = bucket_of(t, t->v[i].prog);

		t->next[i] = t->head[b];
		t->head[b] = (uint32_t)(i + 1);
	}
	t->indexed = t->changes;
	t->indexed_n = t->n;
	t->index_ok = 1;
}

static int
index_fresh(const struct reg_table *t)
{
	return t->index_ok && t->indexed == t->changes && t->indexed_n == t->n;
}

/* The first entry position to look at for prog, or 0 (none); with a
 * stale index, every position (chain_next then walks the table). */
static size_t
chain_first(const struct reg_table *t, uint32_t prog)
{
	if (index_fresh(t))
		return t->head[bucket_of(t, prog)];
	return t->n > 0 ? 1 : 0;
}

static size_t
chain_next(const struct reg_table *t, size_t pos)
{
	if (index_fresh(t))
		return t->next[pos - 1];
	return pos < t->n ? pos + 1 : 0;
}

void
reg_clear(struct reg_table *t)
{
	size_t i, j = 0;

	for (i = 0; i < t->n; i++)
		if (t->v[i].builtin)
			t->v[j++] = t->v[i];
	if (j != t->n)
		t->changes++;
	t->n = j;
	reg_index(t);
}

void
reg_owner_from_uid(char *buf, size_t size, uint32_t uid)
{
	if (uid == 0)
		snprintf(buf, size, "%s", REG_OWNER_SUPERUSER);
	else
		snprintf(buf, size, "%u", uid);
}

/* A string we store: 1..max bytes of printable ASCII without spaces. */
static int
valid_str(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= max || s[n] <= ' ' || s[n] > '~')
			return 0;
	return n > 0;
}

int
reg_set(struct reg_table *t, uint32_t prog, uint32_t vers, const char *netid,
	const char *uaddr, const char *owner, int builtin)
{
	size_t i, total = 0, mine = 0;
	struct reg_entry *e;

	if (!valid_str(netid, REG_NETID_MAX) ||
	    !valid_str(uaddr, REG_UADDR_MAX) ||
	    !valid_str(owner, REG_OWNER_MAX))
		return -TETHER_EINVAL;
	for (i = 0; i < t->n; i++) {
		e = &t->v[i];
		if (e->prog == prog && e->vers == vers &&
		    strcasecmp(e->netid, netid) == 0)
			return strcmp(e->uaddr, uaddr) == 0 ? 0
							    : -TETHER_EEXIST;
		if (e->builtin)
			continue;
		total++;
		if (strcmp(e->owner, owner) == 0)
			mine++;
	}
	if (!builtin && (total >= t->max_total || mine >= t->max_per_owner))
		return -TETHER_ENOSPC;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		e = tether_reallocarray(t->v, cap, sizeof(*e));
		if (e == NULL)
			return -TETHER_ENOMEM;
		t->v = e;
		t->cap = cap;
	}
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	e->prog = prog;
	e->vers = vers;
	snprintf(e->netid, sizeof(e->netid), "%s", netid);
	snprintf(e->uaddr, sizeof(e->uaddr), "%s", uaddr);
	snprintf(e->owner, sizeof(e->owner), "%s", owner);
	e->builtin = builtin;
	e->pm_ok = reg_pmap_port(e, &e->pm_prot, &e->pm_port);
	t->changes++;
	reg_index(t);
	return 1;
}

static int
unset_match(const struct reg_entry *e, uint32_t prog, uint32_t vers,
	    const char *netid)
{
	return e->prog == prog && e->vers == vers &&
	       (netid[0] == '\0' || strcasecmp(e->netid, netid) == 0);
}

int
reg_unset(struct reg_table *t, uint32_t prog, uint32_t vers, const char *netid,
	  const char *owner)
{
	int root = strcmp(owner, REG_OWNER_SUPERUSER) == 0;
	size_t i, j;
	int removed = 0;

	for (i = 0; i < t->n; i++) {
		const struct reg_entry *e = &t->v[i];

		if (!unset_match(e, prog, vers, netid))
			continue;
		if (e->builtin || (!root && strcmp(e->owner, owner) != 0))
			return -TETHER_EPERM;
	}
	for (i = j = 0; i < t->n; i++) {
		if (unset_match(&t->v[i], prog, vers, netid)) {
			removed++;
			continue;
		}
		t->v[j++] = t->v[i];
	}
	t->n = j;
	if (removed) {
		t->changes++;
		reg_index(t);
	}
	return removed;
}

const struct reg_entry *
reg_find(const struct reg_table *t, uint32_t prog, uint32_t vers,
	 const char *netid)
{
	const struct reg_entry *hit = NULL;
	size_t pos;

	for (pos = chain_first(t, prog); pos != 0; pos = chain_next(t, pos)) {
		const struct reg_entry *e = &t->v[pos - 1];

		if (e->prog != prog || strcasecmp(e->netid, netid) != 0)
			continue;
		hit = e;
		if (e->vers == vers)
			break;
	}
	return hit;
}

/* sscanf's "%d": optional sign, decimal digits; returns chars used. */
static size_t
scan_int(const char *s, long *v)
{
	size_t i = 0;
	int neg = 0;
	long r = 0;

	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	if (s[i] < '0' || s[i] > '9')
		return 0;
	while (s[i] >= '0' && s[i] <= '9') {
		if (r < 100000000)
			r = r * 10 + (s[i] - '0');
		i++;
	}
	*v = neg ? -r : r;
	return i;
}

int
reg_pmap_port(const struct reg_entry *e, uint32_t *prot, uint32_t *port)
{
	const char *s = e->uaddr;
	long v[6];
	size_t k, n;

	if (strcmp(e->netid, "udp") == 0)
		*prot = 17;
	else if (strcmp(e->netid, "tcp") == 0)
		*prot = 6;
	else
		return 0;
	for (k = 0; k < 6; k++) {
		if (k > 0 && *s++ != '.')
			return 0;
		if ((n = scan_int(s, &v[k])) == 0)
			return 0;
		s += n;
	}
	*port = (uint32_t)(((v[4] & 0xff) << 8) + (v[5] & 0xff));
	return 1;
}

int
reg_pmap_find(const struct reg_table *t, uint32_t prog, uint32_t vers,
	      uint32_t prot, uint32_t *port)
{
	uint32_t hit_port = 0;
	int hit = 0;
	size_t pos;

	for (pos = chain_first(t, prog); pos != 0; pos = chain_next(t, pos)) {
		const struct reg_entry *e = &t->v[pos - 1];

		if (e->prog != prog || !e->pm_ok || e->pm_prot != prot)
			continue;
		hit = 1;
		hit_port = e->pm_port;
		if (e->vers == vers)
			break;
	}
	if (hit)
		*port = hit_port;
	return hit;
}

/* ---- state file ---- */

#define STATE_MAGIC	"tether-portmap-state 1"
#define STATE_MAX_BYTES (4u << 20)

static uint64_t
line_sum(uint64_t sum, const char *line, size_t n)
{
	return tether_hash_u64(sum ^ tether_hash_fast(line, n, 0x7e7e));
}

int
reg_save(const struct reg_table *t, const char *path, char *errbuf,
	 size_t errlen)
{
	struct tether_buf b;
	char tmp[4096], dir[4096];
	uint64_t sum = 0;
	size_t i, count = 0, off;
	int fd = -1, rc = 0;
	char *slash;

	tether_buf_init(&b, STATE_MAX_BYTES);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		rc = -TETHER_EOVERFLOW;
		snprintf(errbuf, errlen, "%s: path too long", path);
		goto fail;
	}
	rc = tether_buf_printf(&b, "%s\n", STATE_MAGIC);
	for (i = 0; rc == 0 && i < t->n; i++) {
		const struct reg_entry *e = &t->v[i];

		if (e->builtin)
			continue;
		off = b.len;
		rc = tether_buf_printf(&b, "%u %u %s %s %s", e->prog, e->vers,
				       e->netid, e->uaddr, e->owner);
		/* The registering pid, for pruning; files without it (from
		 * before) load as "unknown". */
		if (rc == 0 && e->pid > 0)
			rc = tether_buf_printf(&b, " pid=%ld", (long)e->pid);
		if (rc == 0)
			rc = tether_buf_append_str(&b, "\n");
		if (rc == 0)
			sum = line_sum(sum, (const char *)b.data + off,
				       b.len - off - 1);
		count++;
	}
	if (rc == 0)
		rc = tether_buf_printf(&b, "end %zu %016llx\n", count,
				       (unsigned long long)sum);
	if (rc < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, tether_strerror(rc));
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail_errno;
	for (off = 0; off < b.len;) {
		ssize_t w = write(fd, b.data + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail_errno;
		off += (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail_errno;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_errno;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail_errno;
	/* The rename is durable only once the directory is on disk. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
		fd = -1;
	}
	tether_buf_free(&b);
	return 0;
fail_errno:
	rc = tether_err_from_errno(errno);
	snprintf(errbuf, errlen, "%s: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail:
	tether_buf_free(&b);
	return rc;
}

static int
parse_u32(const char *s, uint32_t *v)
{
	unsigned long long r = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		r = r * 10 + (unsigned)(*s - '0');
		if (r > 0xffffffffull)
			return -1;
	}
	*v = (uint32_t)r;
	return 0;
}

/* Split line (NUL-terminated, no newline) at single spaces. */
static int
split(char *line, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, ' ');
		if (line == NULL)
			return n;
		*line++ = '\0';
	}
	return -1;
}

int
reg_load(struct reg_table *t, const char *path, char *errbuf, size_t errlen)
{
	struct tether_buf b;
	char *p, *end, *nl, *f[7];
	unsigned lineno = 0;
	uint64_t sum = 0;
	size_t count = 0;
	int fd, rc = 0, nf, done = 0;
	const char *what = NULL;

	tether_buf_init(&b, STATE_MAX_BYTES);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		rc = tether_err_from_errno(errno);
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	for (;;) {
		char chunk[4096];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = tether_err_from_errno(errno);
			snprintf(errbuf, errlen, "%s: %s", path,
				 strerror(errno));
			close(fd);
			goto fail;
		}
		if (r == 0)
			break;
		if (tether_buf_append(&b, chunk, (size_t)r) < 0) {
			close(fd);
			what = "file too large";
			goto bad;
		}
	}
	close(fd);
	if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL) {
		what = b.len == 0 ? "empty file" : "NUL byte in file";
		goto bad;
	}
	p = (char *)b.data;
	end = p + b.len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		lineno++;
		if (nl == NULL) {
			what = "truncated line";
			goto bad;
		}
		*nl = '\0';
		if (done) {
			what = "data after the trailer";
			goto bad;
		}
		if (lineno == 1) {
			if (strcmp(p, STATE_MAGIC) != 0) {
				what = "not a tether-portmap state file";
				goto bad;
			}
		} else if (strncmp(p, "end ", 4) == 0) {
			char want[64];

			snprintf(want, sizeof(want), "end %zu %016llx", count,
				 (unsigned long long)sum);
			if (strcmp(p, want) != 0) {
				what = "trailer does not match the entries";
				goto bad;
			}
			done = 1;
		} else {
			uint32_t prog, vers, pid = 0;

			sum = line_sum(sum, p, (size_t)(nl - p));
			nf = split(p, f, 7);
			if ((nf != 5 && nf != 6) || parse_u32(f[0], &prog) < 0 ||
			    parse_u32(f[1], &vers) < 0 ||
			    (nf == 6 && (strncmp(f[5], "pid=", 4) != 0 ||
					 parse_u32(f[5] + 4, &pid) < 0 ||
					 pid == 0 || pid > 0x7fffffffu))) {
				what = "malformed entry";
				goto bad;
			}
			rc = reg_set(t, prog, vers, f[2], f[3], f[4], 0);
			if (rc == 1)
				t->v[t->n - 1].pid = (int32_t)pid;
			if (rc < 0) {
				what = rc == -TETHER_ENOMEM
					       ? "out of memory"
					       : "entry refused (invalid, "
						 "duplicate or over a limit)";
				goto bad;
			}
			count++;
		}
		p = nl + 1;
	}
	if (!done) {
		what = "no trailer (truncated file)";
		goto bad;
	}
	tether_buf_free(&b);
	return 0;
bad:
	snprintf(errbuf, errlen, "%s:%u: %s", path, lineno, what);
	rc = -TETHER_EBADMSG;
fail:
	reg_clear(t);
	tether_buf_free(&b);
	return rc;
}
