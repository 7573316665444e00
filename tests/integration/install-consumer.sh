#!/usr/bin/env bash
# install-consumer.sh BUILD-DIR CC [CFLAGS] - install tether into a scratch prefix
# and build a program against it the way a user would, with pkg-config.
set -euo pipefail
build=$1
cc=$2
extra=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
pc=$(find "$tmp/prefix" -name tether.pc | head -n1)
[ -n "$pc" ] || { echo "FAIL: no tether.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
[ -f "$tmp/prefix/include/tether/core.h" ] || { echo "FAIL: core.h not installed"; exit 1; }
[ -n "$(find "$tmp/prefix" -name 'libtether.so*')" ] ||
	{ echo "FAIL: libtether.so not installed"; exit 1; }
[ -n "$(find "$tmp/prefix" -name libtether.a)" ] ||
	{ echo "FAIL: libtether.a not installed"; exit 1; }
pages=$(find "$tmp/prefix/share/man" -type f 2>/dev/null | wc -l)
[ "$pages" -gt 0 ] || { echo "FAIL: no man page installed"; exit 1; }

cat >"$tmp/consumer.c" <<'C'
/* consumer.c - a program outside the tree, built against installed tether */
#include <stdio.h>
#include <string.h>
#include <tether/core.h>

int
main(void)
{
	struct tether_buf b;
	int rc;

	tether_buf_init(&b, 8);
	rc = tether_buf_append_str(&b, "0123456789");
	if (rc != -TETHER_ENOSPC || strcmp(tether_err_name(rc), "TETHER_ENOSPC"))
		return 1;
	tether_buf_free(&b);
	printf("consumer: %s\n", tether_strerror(rc));
	return 0;
}
C
# shellcheck disable=SC2046
"$cc" $extra -std=c11 -Wall -Werror -o "$tmp/consumer" "$tmp/consumer.c" \
	$(pkg-config --cflags --libs tether)
out=$(LD_LIBRARY_PATH=$(pkg-config --variable=libdir tether) "$tmp/consumer")
[ "$out" = "consumer: buffer or table is at its maximum size" ] ||
	{ echo "FAIL: shared consumer printed: $out"; exit 1; }
# The shared build must really use libtether.so. Capture ldd's output
# first: with pipefail, `ldd | grep -q` fails whenever grep exits on the
# first match before ldd has written its last line (SIGPIPE).
deps=$(ldd "$tmp/consumer")
grep -q 'libtether\.so' <<<"$deps" || { echo "FAIL: not linked to libtether.so"; exit 1; }

"$cc" $extra -std=c11 -Wall -Werror -o "$tmp/consumer-static" "$tmp/consumer.c" \
	$(pkg-config --cflags tether) "$(pkg-config --variable=libdir tether)/libtether.a" \
	$(pkg-config --static --libs-only-other tether)
pkg-config --static --libs tether | grep -q -- '-pthread' ||
	{ echo "FAIL: tether.pc has no -pthread for static links"; exit 1; }
out=$("$tmp/consumer-static")
[ "$out" = "consumer: buffer or table is at its maximum size" ] ||
	{ echo "FAIL: static consumer printed: $out"; exit 1; }
echo "PASS: installed tether builds shared and static consumers via pkg-config ($pages man pages)"
