#!/bin/sh
# A private PostgreSQL server for the tests, never a system service.
#
#   tests/pg.sh start        initdb and start a server in a fresh temporary
#                            directory, listening only on a Unix socket in
#                            that directory; print its libpq URI
#   tests/pg.sh stop URI|DIR stop that server at once (-m immediate) and
#                            remove its directory
#   tests/pg.sh halt URI|DIR stop that server (-m fast: clients are cut
#                            off), keeping its data for resume
#   tests/pg.sh resume URI|DIR
#                            start a halted server again, on the same socket
#   tests/pg.sh standby URI|DIR
#                            make a streaming-replication standby of that
#                            server (pg_basebackup -R) in a fresh temporary
#                            directory, start it on its own socket there;
#                            print its libpq URI
#   tests/pg.sh promote URI|DIR
#                            promote that standby to a primary, and wait
#                            until it accepts writes
#
# The server runs as the invoking user, or as nobody when that is root
# (initdb refuses root); fsync is off, as nothing it holds outlives the
# test. The binaries are Debian's (/usr/lib/postgresql/15/bin) unless
# PG_BINDIR names others, or else those on PATH.
#
# Example:
#   uri=$(tests/pg.sh start) || exit 1
#   trap 'tests/pg.sh stop "$uri"' EXIT
set -eu

die() { echo "pg.sh: $*" >&2; exit 1; }

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { bindir=$d; break; }
	done
fi
if [ -z "$bindir" ]; then
	command -v initdb >/dev/null 2>&1 ||
	    die "no initdb: install PostgreSQL (Debian: postgresql-15)"
	bindir=$(dirname "$(command -v initdb)")
fi

# Run "$@" as the server's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid="$(id -g nobody)" \
		    --clear-groups -- "$@"
	else
		"$@"
	fi
}

# Make a fresh directory for a server, with the mark of pg.sh, owned by
# the server's user; set dir and user.
new_dir() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/porthole-pg.XXXXXX") ||
	    die "mktemp failed"
	# A Unix socket's path holds at most 107 bytes.
	if [ "${#dir}" -gt 90 ]; then
		rmdir "$dir"
		die "$dir: too long for a socket path; set a shorter TMPDIR"
	fi
	# The mark that lets stop remove this directory and no other.
	: >"$dir/porthole-pg"
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$dir"
		user=nobody
	else
		user=$(id -un)
	fi
	as_owner test -w "$dir" ||
	    { rm -rf "$dir"; die "$dir: not writable by the server's user"; }
}

start() {
	new_dir
	# initdb warns when it cannot come back to an unreadable cwd.
	cd "$dir"
	if ! as_owner "$bindir/initdb" -D "$dir/data" -A trust -U "$user" \
	    -E UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		die "initdb failed"
	fi
	if ! run "$dir"; then
		rm -rf "$dir"
		die "pg_ctl start failed"
	fi
	printf 'postgresql:///postgres?host=%s&user=%s\n' "$dir" "$user"
}

# Start the server of directory $1; -w waits until it accepts connections
# (a standby: read-only ones, once it is consistent). PostgreSQL's
# defaults already let a standby stream from it: wal_level=replica,
# max_wal_senders=10, and initdb's pg_hba.conf trusts local replication
# connections.
run() {
	if ! as_owner "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" \
	    -w -s -o "-c listen_addresses= -c unix_socket_directories=$1 \
	    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=50" start >&2; then
		cat "$1/server.log" >&2
		return 1
	fi
}

# The directory of server $1 (a URI or the directory itself).
server_dir() {
	case $1 in
	postgres*://*host=*)
		dir=${1#*host=}
		dir=${dir%%&*}
		;;
	*)	dir=$1 ;;
	esac
	[ -f "$dir/porthole-pg" ] || die "$dir: not a server of pg.sh"
}

stop() {
	server_dir "$1"
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -s \
		    stop >&2 || true
	fi
	rm -rf "$dir"
}

# Make a standby of server $1 and print its URI. pg_basebackup -R copies
# the primary's data over its Unix socket, as the same user, and writes
# primary_conninfo and standby.signal; the standby gets a socket of its
# own from run's options.
standby() {
	server_dir "$1"
	primary=$dir
	new_dir
	cd "$dir"
	if ! as_owner "$bindir/pg_basebackup" -h "$primary" -U "$user" \
	    -D "$dir/data" -R -c fast -N >"$dir/basebackup.log" 2>&1; then
		cat "$dir/basebackup.log" >&2
		rm -rf "$dir"
		die "pg_basebackup from $primary failed"
	fi
	if ! run "$dir"; then
		rm -rf "$dir"
		die "pg_ctl start of the standby failed"
	fi
	printf 'postgresql:///postgres?host=%s&user=%s\n' "$dir" "$user"
}

case ${1:-} in
start) start ;;
stop) [ $# -eq 2 ] || die "usage: pg.sh stop URI|DIR"; stop "$2" ;;
halt)
	[ $# -eq 2 ] || die "usage: pg.sh halt URI|DIR"
	server_dir "$2"
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -s stop >&2
	;;
resume)
	[ $# -eq 2 ] || die "usage: pg.sh resume URI|DIR"
	server_dir "$2"
	run "$dir"
	;;
standby)
	[ $# -eq 2 ] || die "usage: pg.sh standby URI|DIR"
	standby "$2"
	;;
promote)
	[ $# -eq 2 ] || die "usage: pg.sh promote URI|DIR"
	server_dir "$2"
	as_owner "$bindir/pg_ctl" -D "$dir/data" -w -s promote >&2
	;;
*)
	echo "usage: tests/pg.sh start | stop URI|DIR | halt URI|DIR |" \
	    "resume URI|DIR | standby URI|DIR | promote URI|DIR" >&2
	exit 2
	;;
esac
