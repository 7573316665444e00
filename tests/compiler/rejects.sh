#!/bin/sh
# rejects.sh RPCGEN FILE.x LINE - a file Debian's rpcgen rejects must be
# rejected by tether-rpcgen too, with an error on the same line.
set -u
rg=$1 x=$2 line=$3
err=$("$rg" -h -o /dev/null "$x" 2>&1 >/dev/null) && {
	echo "rejects: $x was accepted" >&2
	exit 1
}
echo "$err" | grep -q "^[^:]*:$line:[0-9]*: error:" || {
	echo "rejects: no error on line $line:" >&2
	echo "$err" >&2
	exit 1
}
