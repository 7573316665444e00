/*
 * test_reg.c - tether-portmap's registration table: rpcbind's map_set /
 * map_unset / find_service rules, the portmap v2 view derived from v3/v4
 * registrations, ownership, limits, allocation failures, and the state
 * file (round trip, atomic replacement, truncated and corrupt files).
 */
#include "tether_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reg.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_reg.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The entries tether-portmap registers for itself, as rpcbind does. */
static void
add_builtins(struct reg_table *t)
{
	assert_int_equal(
		reg_set(t, 100000, 4, "tcp", "0.0.0.0.0.111", "superuser", 1),
		1);
	assert_int_equal(
		reg_set(t, 100000, 2, "tcp", "0.0.0.0.0.111", "superuser", 1),
		1);
}

static void
test_set_rules(void **state)
{
	struct reg_table t;
	const struct reg_entry *e;

	(void)state;
	reg_init(&t, 0, 0);
	assert_int_equal(reg_set(&t, 100003, 3, "tcp", "0.0.0.0.8.1", "0", 0),
			 1);
	/* The same mapping again: TRUE without a second entry. */
	assert_int_equal(reg_set(&t, 100003, 3, "tcp", "0.0.0.0.8.1", "0", 0),
			 0);
	assert_int_equal(t.n, 1);
	/* Another address for the same (prog, vers, netid): refused, and
	 * netids compare without case as rpcbind's strcasecmp. */
	assert_tether_err(reg_set(&t, 100003, 3, "TCP", "0.0.0.0.8.2", "0", 0),
			  TETHER_EEXIST);
	assert_int_equal(reg_set(&t, 100003, 4, "tcp", "0.0.0.0.8.1", "0", 0),
			 1);
	assert_int_equal(reg_set(&t, 100003, 3, "udp", "0.0.0.0.8.1", "0", 0),
			 1);
	/* Strings we would not be able to store. */
	assert_tether_err(reg_set(&t, 1, 1, "", "x", "o", 0), TETHER_EINVAL);
	assert_tether_err(reg_set(&t, 1, 1, "tcp", "a b", "o", 0),
			  TETHER_EINVAL);
	assert_tether_err(reg_set(&t, 1, 1, "tcp", "x", "o\n", 0),
			  TETHER_EINVAL);
	assert_tether_err(reg_set(&t, 1, 1, "tcp", "x\x80", "o", 0),
			  TETHER_EINVAL);
	assert_tether_err(reg_set(&t, 1, 1,
				  "0123456789012345678901234567890"
				  "12",
				  "x", "o", 0),
			  TETHER_EINVAL);
	assert_int_equal(t.n, 3);

	/* find_service: exact version first, else the last other one. */
	e = reg_find(&t, 100003, 4, "tcp");
	assert_non_null(e);
	assert_int_equal(e->vers, 4);
	e = reg_find(&t, 100003, 9, "tcp");
	assert_non_null(e);
	assert_int_equal(e->vers, 4);
	e = reg_find(&t, 100003, 9, "Udp");
	assert_non_null(e);
	assert_int_equal(e->vers, 3);
	assert_null(reg_find(&t, 100003, 3, "tcp6"));
	assert_null(reg_find(&t, 100004, 3, "tcp"));
	reg_free(&t);
}

static void
test_unset_ownership(void **state)
{
	struct reg_table t;
	uint64_t ch;

	(void)state;
	reg_init(&t, 0, 0);
	add_builtins(&t);
	assert_int_equal(reg_set(&t, 200, 1, "tcp", "0.0.0.0.8.1", "1000", 0),
			 1);
	assert_int_equal(reg_set(&t, 200, 1, "udp", "0.0.0.0.8.1", "1000", 0),
			 1);
	assert_int_equal(reg_set(&t, 200, 1, "tcp6", "::.8.1", "1001", 0), 1);
	assert_int_equal(reg_set(&t, 200, 2, "tcp", "0.0.0.0.8.2", "1000", 0),
			 1);
	ch = t.changes;
	/* Another user cannot remove 1000's entries, nor can "unknown". */
	assert_tether_err(reg_unset(&t, 200, 1, "tcp", "1001"), TETHER_EPERM);
	assert_tether_err(reg_unset(&t, 200, 1, "tcp", "unknown"),
			  TETHER_EPERM);
	/* An empty netid means all of them; one of those is 1001's, so
	 * nothing at all is removed. */
	assert_tether_err(reg_unset(&t, 200, 1, "", "1000"), TETHER_EPERM);
	assert_int_equal(t.n, 6);
	assert_int_equal(t.changes, ch);
	/* The owner removes its own. */
	assert_int_equal(reg_unset(&t, 200, 1, "TCP", "1000"), 1);
	assert_int_equal(reg_unset(&t, 200, 1, "tcp", "1000"), 0);
	assert_true(t.changes > ch);
	/* Root removes anyone's, every netid at once. */
	assert_int_equal(reg_unset(&t, 200, 1, "", "superuser"), 2);
	assert_int_equal(t.n, 3);
	/* The daemon's own entries stay, even for root. */
	assert_tether_err(reg_unset(&t, 100000, 4, "", "superuser"),
			  TETHER_EPERM);
	reg_clear(&t);
	assert_int_equal(t.n, 2);
	reg_free(&t);
}

static void
test_limits(void **state)
{
	struct reg_table t;
	uint32_t i;

	(void)state;
	reg_init(&t, 5, 3);
	add_builtins(&t); /* builtins count against nothing */
	for (i = 0; i < 3; i++)
		assert_int_equal(reg_set(&t, 300 + i, 1, "tcp", "0.0.0.0.1.1",
					 "1000", 0),
				 1);
	assert_tether_err(reg_set(&t, 400, 1, "tcp", "0.0.0.0.1.1", "1000", 0),
			  TETHER_ENOSPC);
	/* Re-setting an existing mapping is no new entry. */
	assert_int_equal(reg_set(&t, 300, 1, "tcp", "0.0.0.0.1.1", "1000", 0),
			 0);
	assert_int_equal(reg_set(&t, 400, 1, "tcp", "0.0.0.0.1.1", "1001", 0),
			 1);
	assert_int_equal(reg_set(&t, 401, 1, "tcp", "0.0.0.0.1.1", "1002", 0),
			 1);
	/* Total reached (5), whoever asks. */
	assert_tether_err(reg_set(&t, 402, 1, "tcp", "0.0.0.0.1.1", "1003", 0),
			  TETHER_ENOSPC);
	assert_tether_err(
		reg_set(&t, 402, 1, "tcp", "0.0.0.0.1.1", "superuser", 0),
		TETHER_ENOSPC);
	assert_int_equal(reg_unset(&t, 400, 1, "", "1001"), 1);
	assert_int_equal(reg_set(&t, 402, 1, "tcp", "0.0.0.0.1.1", "1003", 0),
			 1);
	reg_free(&t);
}

static void
test_alloc_failure(void **state)
{
	struct reg_table t;
	unsigned long n;
	uint32_t i;
	int rc;

	(void)state;
	reg_init(&t, 0, 1000);
	for (i = 0; i < 16; i++)
		assert_int_equal(
			reg_set(&t, i, 1, "udp", "0.0.0.0.0.1", "o", 0), 1);
	/* The 17th needs the array to grow: make that fail, then not. */
	for (n = 1;; n++) {
		tether_alloc_fail_at(n, 0);
		rc = reg_set(&t, 99, 1, "udp", "0.0.0.0.0.1", "o", 0);
		tether_alloc_fail_at(0, 0);
		if (rc == 1)
			break;
		assert_tether_err(rc, TETHER_ENOMEM);
		assert_int_equal(t.n, 16);
	}
	assert_int_equal(t.n, 17);
	reg_free(&t);
}

/* rpcbind's find_service by brute force: the reference for the index. */
static const struct reg_entry *
find_ref(const struct reg_table *t, uint32_t prog, uint32_t vers,
	 const char *netid)
{
	const struct reg_entry *hit = NULL;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].prog == prog &&
		    strcasecmp(t->v[i].netid, netid) == 0) {
			hit = &t->v[i];
			if (hit->vers == vers)
				break;
		}
	return hit;
}

static void
check_lookups(const struct reg_table *t)
{
	static const char *const ids[] = { "tcp", "udp", "tcp6" };
	uint32_t prog, vers, port, rport;
	size_t k;

	for (prog = 200000; prog < 200000 + 700; prog += 7)
		for (vers = 1; vers <= 4; vers++)
			for (k = 0; k < TETHER_ARRAY_SIZE(ids); k++) {
				const struct reg_entry *r =
					find_ref(t, prog, vers, ids[k]);
				const struct reg_entry *e;

				e = reg_find(t, prog, vers, ids[k]);
				assert_ptr_equal(e, r);
				if (k == 2)
					continue;
				/* The v2 view agrees with the entry's. */
				if (reg_pmap_find(t, prog, vers,
						  k == 0 ? 6 : 17, &port) == 1) {
					assert_non_null(r);
					assert_int_equal(
						reg_pmap_port(r, &rport, &rport),
						1);
					assert_int_equal(port, rport);
				} else {
					assert_null(r);
				}
			}
}

/* Lookups through the program index give what a scan of the table
 * gives, through sets and unsets, and when the index could not be
 * built (memory) and lookups fall back to the scan. */
static void
test_index(void **state)
{
	struct reg_table t;
	char ua[32];
	uint32_t i;
	unsigned long n;

	(void)state;
	reg_init(&t, 0, 4096);
	for (i = 0; i < 2000; i++) {
		uint32_t prog = 200000 + (i * 37) % 700;

		snprintf(ua, sizeof(ua), "0.0.0.0.%u.%u", (i >> 8) & 0xff,
			 i & 0xff);
		(void)reg_set(&t, prog, 1 + i % 4, i % 3 ? "udp" : "tcp", ua,
			      "o", 0);
	}
	assert_true(t.n > 1000);
	check_lookups(&t);
	for (i = 0; i < 700; i += 3)
		(void)reg_unset(&t, 200000 + i, 1 + i % 4, "", "o");
	check_lookups(&t);
	/* A set whose index rebuild fails: lookups still right. */
	for (n = 1;; n++) {
		int rc;

		tether_alloc_fail_at(n, 0);
		rc = reg_set(&t, 200007, 9, "udp", "0.0.0.0.1.1", "o", 0);
		tether_alloc_fail_at(0, 0);
		check_lookups(&t);
		if (rc == 1 || n > 4)
			break;
	}
	assert_non_null(reg_find(&t, 200007, 9, "udp"));
	assert_int_equal(reg_find(&t, 200007, 9, "udp")->vers, 9);
	/* A change the index did not see: the scan answers. */
	t.changes++;
	check_lookups(&t);
	reg_clear(&t);
	assert_int_equal(t.n, 0);
	check_lookups(&t);
	reg_free(&t);
}

static void
test_pmap_view(void **state)
{
	struct reg_table t;
	uint32_t prot, port;
	struct reg_entry e;

	(void)state;
	memset(&e, 0, sizeof(e));
	snprintf(e.netid, sizeof(e.netid), "tcp");
	snprintf(e.uaddr, sizeof(e.uaddr), "0.0.0.0.8.1");
	assert_int_equal(reg_pmap_port(&e, &prot, &port), 1);
	assert_int_equal(prot, 6);
	assert_int_equal(port, 2049);
	/* sscanf("%d") tolerance: signs and trailing bytes; & 0xff. */
	snprintf(e.uaddr, sizeof(e.uaddr), "1.2.3.4.+257.-1junk");
	assert_int_equal(reg_pmap_port(&e, &prot, &port), 1);
	assert_int_equal(port, (1 << 8) + 255);
	snprintf(e.uaddr, sizeof(e.uaddr), "1.2.3.4.5");
	assert_int_equal(reg_pmap_port(&e, &prot, &port), 0);
	snprintf(e.uaddr, sizeof(e.uaddr), "::.8.1");
	assert_int_equal(reg_pmap_port(&e, &prot, &port), 0);
	/* Only "tcp" and "udp" exactly (strcmp, not strcasecmp). */
	snprintf(e.uaddr, sizeof(e.uaddr), "0.0.0.0.8.1");
	snprintf(e.netid, sizeof(e.netid), "TCP");
	assert_int_equal(reg_pmap_port(&e, &prot, &port), 0);
	snprintf(e.netid, sizeof(e.netid), "tcp6");
	assert_int_equal(reg_pmap_port(&e, &prot, &port), 0);

	reg_init(&t, 0, 0);
	/* Registered only through v3/v4: v2 GETPORT sees the IPv4 ones. */
	assert_int_equal(reg_set(&t, 100005, 1, "tcp6", "::.3.1", "0", 0), 1);
	assert_int_equal(reg_set(&t, 100005, 1, "udp", "0.0.0.0.3.2", "0", 0),
			 1);
	assert_int_equal(reg_set(&t, 100005, 3, "udp", "127.0.0.1.3.3", "0", 0),
			 1);
	assert_int_equal(reg_set(&t, 100005, 2, "local", "/run/x", "0", 0), 1);
	assert_int_equal(reg_pmap_find(&t, 100005, 1, 6, &port), 0);
	assert_int_equal(reg_pmap_find(&t, 100005, 1, 17, &port), 1);
	assert_int_equal(port, 0x302);
	/* Unknown version: the last other version's port. */
	assert_int_equal(reg_pmap_find(&t, 100005, 7, 17, &port), 1);
	assert_int_equal(port, 0x303);
	assert_int_equal(reg_pmap_find(&t, 100006, 1, 17, &port), 0);
	reg_free(&t);
}

static void
path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void
write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	fclose(f);
}

static void
test_state_roundtrip(void **state)
{
	struct reg_table t, u;
	char path[128], tmp[160], err[256];
	struct stat st;
	size_t i;

	(void)state;
	path_in(path, sizeof(path), "state");
	reg_init(&t, 0, 0);
	add_builtins(&t);
	assert_int_equal(
		reg_set(&t, 100024, 1, "udp", "0.0.0.0.3.1", "superuser", 0),
		1);
	assert_int_equal(
		reg_set(&t, 100024, 1, "local", "/run/statd.sock", "1000", 0),
		1);
	/* Its registering process, kept for pruning (the others have
	 * none: their lines are in the format of before). */
	t.v[t.n - 1].pid = 4242;
	assert_int_equal(reg_set(&t, 4294967295u, 4294967295u, "tcp6",
				 "::1.255.255", "65534", 0),
			 1);
	assert_int_equal(reg_save(&t, path, err, sizeof(err)), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(stat(tmp, &st), -1); /* renamed away */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	reg_init(&u, 0, 0);
	add_builtins(&u);
	assert_int_equal(reg_load(&u, path, err, sizeof(err)), 0);
	assert_int_equal(u.n, t.n);
	for (i = 0; i < t.n; i++) {
		assert_int_equal(u.v[i].prog, t.v[i].prog);
		assert_int_equal(u.v[i].vers, t.v[i].vers);
		assert_string_equal(u.v[i].netid, t.v[i].netid);
		assert_string_equal(u.v[i].uaddr, t.v[i].uaddr);
		assert_string_equal(u.v[i].owner, t.v[i].owner);
		assert_int_equal(u.v[i].builtin, t.v[i].builtin);
		assert_int_equal(u.v[i].pid, t.v[i].pid);
	}
	reg_free(&u);
	{
		char line[256];
		FILE *fp = fopen(path, "r");
		int with_pid = 0;

		assert_non_null(fp);
		while (fgets(line, sizeof(line), fp) != NULL)
			with_pid += strstr(line, " pid=") != NULL;
		fclose(fp);
		assert_int_equal(with_pid, 1);
	}

	/* A missing file is an empty table, no error. */
	path_in(tmp, sizeof(tmp), "none");
	reg_init(&u, 0, 0);
	assert_int_equal(reg_load(&u, tmp, err, sizeof(err)), 0);
	assert_int_equal(u.n, 0);
	reg_free(&u);

	/* Saving into a directory that does not exist fails cleanly. */
	path_in(tmp, sizeof(tmp), "no/such/state");
	assert_true(reg_save(&t, tmp, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "no/such/state.tmp"));
	reg_free(&t);
}

/* Every prefix of a good file, and edits of it, must be refused. */
static void
test_state_corrupt(void **state)
{
	struct reg_table t, u;
	char path[128], bad[128], err[256];
	char *data;
	size_t n, i;
	FILE *f;

	(void)state;
	path_in(path, sizeof(path), "good");
	path_in(bad, sizeof(bad), "bad");
	reg_init(&t, 0, 0);
	assert_int_equal(reg_set(&t, 100024, 1, "udp", "0.0.0.0.3.1", "0", 0),
			 1);
	assert_int_equal(reg_set(&t, 100021, 4, "tcp", "0.0.0.0.3.2", "0", 0),
			 1);
	assert_int_equal(reg_save(&t, path, err, sizeof(err)), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	data = malloc(4096);
	n = fread(data, 1, 4096, f);
	fclose(f);
	assert_true(n > 40);

	for (i = 0; i < n; i++) {
		write_file(bad, data, i);
		reg_init(&u, 0, 0);
		add_builtins(&u);
		err[0] = '\0';
		assert_tether_err(reg_load(&u, bad, err, sizeof(err)),
				  TETHER_EBADMSG);
		assert_non_null(strstr(err, bad));
		/* Only the builtins are left. */
		assert_int_equal(u.n, 2);
		reg_free(&u);
	}
	/* One byte changed anywhere in an entry: the checksum catches a
	 * changed port, the parser the rest. */
	for (i = strlen("tether-portmap-state 1\n"); i < n; i++) {
		char saved = data[i];

		if (data[i] == '\n')
			continue;
		data[i] = data[i] == '1' ? '2' : '1';
		write_file(bad, data, n);
		reg_init(&u, 0, 0);
		assert_tether_err(reg_load(&u, bad, err, sizeof(err)),
				  TETHER_EBADMSG);
		assert_int_equal(u.n, 0);
		reg_free(&u);
		data[i] = saved;
	}
	/* Something else entirely, and data after the trailer. */
	write_file(bad, "hello\n", 6);
	reg_init(&u, 0, 0);
	assert_tether_err(reg_load(&u, bad, err, sizeof(err)), TETHER_EBADMSG);
	assert_non_null(strstr(err, "not a tether-portmap state file"));
	memcpy(data + n, "x\n", 2);
	write_file(bad, data, n + 2);
	assert_tether_err(reg_load(&u, bad, err, sizeof(err)), TETHER_EBADMSG);
	write_file(bad, "tether-portmap-state 1\n1 1 tcp\0 x y\nend 1 0\n", 45);
	assert_tether_err(reg_load(&u, bad, err, sizeof(err)), TETHER_EBADMSG);
	assert_int_equal(u.n, 0);
	reg_free(&u);
	free(data);
	reg_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_rules),
		cmocka_unit_test(test_unset_ownership),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_pmap_view),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_corrupt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
