#!/bin/sh
# diag.sh RPCGEN DIR NAME - DIR/NAME.x must fail with exactly DIR/NAME.err
# on stderr (run from DIR, so the file names in messages are relative).
set -u
rg=$1 dir=$2 n=$3
cd "$dir" || exit 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$rg" -h -o /dev/null "$n.x" 2>"$out" >/dev/null; then
	echo "diag: $n.x was accepted" >&2
	exit 1
fi
diff -u "$n.err" "$out"
