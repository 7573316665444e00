#!/bin/sh
# corpus.sh RPCGEN INCLUDE CC WORKDIR FILE.x - tether-rpcgen writes every
# output for FILE.x (as a Makefile would run it: no flag), then each
# generated .c compiles with the dev preset's warnings and -Werror.
set -u
rg=$1 inc=$2 cc=$3 work=$4 x=$5
n=$(basename "$x" .x)
dir="$work/$n"
rm -rf "$dir" && mkdir -p "$dir" || exit 2
cp "$(dirname "$x")"/*.x "$dir"/ || exit 2
cd "$dir" || exit 2
"$rg" -a "$n.x" || exit 1
for c in "${n}_xdr.c" "${n}_clnt.c" "${n}_svc.c" "${n}_client.c" \
	"${n}_server.c"; do
	# %#pragma ident lines are the file's own; -Wno-unknown-pragmas.
	# Files that %#include <rpc/...> need libtirpc's headers.
	"$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -D_GNU_SOURCE -Wall -Wextra \
		-Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		-Wpointer-arith -Wcast-qual -Wformat=2 -Werror \
		-Wno-unknown-pragmas -I"$inc" -I/usr/include/tirpc \
		-c "$c" -o "${c%.c}.o" || exit 1
done
