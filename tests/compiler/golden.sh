#!/bin/sh
# golden.sh RPCGEN SRCDIR NAME - every output of cases/NAME.x equals its
# file in golden/ (NAME.mk: -Sm's Makefile, which -a writes as
# Makefile.NAME). UPDATE_GOLDEN=1 rewrites the golden files instead.
set -u
rg=$1 src=$2 n=$3
cd "$src/cases" || exit 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
for pair in h:.h c:_xdr.c l:_clnt.c m:_svc.c Sc:_client.c Ss:_server.c \
	Sm:.mk; do
	flag=${pair%%:*} suf=${pair#*:}
	if ! "$rg" -"$flag" "$n.x" >"$out"; then
		echo "golden: $rg -$flag $n.x failed" >&2
		rc=1
		continue
	fi
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$out" "$src/golden/$n$suf"
	elif ! diff -u "$src/golden/$n$suf" "$out"; then
		rc=1
	fi
done
exit $rc
