#!/bin/sh
# Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
#
# The entry point of the container image made with contrib/Containerfile,
# installed there as /usr/local/sbin/porthole-entrypoint and linked as
# /usr/local/sbin/portholectl and /usr/local/sbin/portholed, which come
# before /usr/sbin in PATH.
#
#   porthole-entrypoint [portholed] [ARG...]
#       Check the configuration (portholed -t, as the systemd unit does
#       before it starts the server), create the database on the first
#       start (portholectl init), then replace this shell with portholed
#       ARG..., in the foreground, logging to standard error: it is the
#       container's process 1, stops in order on SIGTERM (podman stop)
#       and reaps every child it has.
#   porthole-entrypoint portholectl [ARG...]   (or portholectl ARG...)
#       Run portholectl with the server's configuration, as
#       "podman exec NAME portholectl account add alice" does.
#   portholed ARG...   (the link, as "podman exec NAME portholed -t")
#       Run portholed ARG... with the server's configuration, nothing
#       else: "-t" checks what the server runs with, "-T" prints it.
#   porthole-entrypoint COMMAND [ARG...]
#       Run anything else, such as sh.
#
# The configuration is /etc/porthole/portholed.conf, the image's or one
# mounted over it, with these environment variables on top, given to
# both programs as -o options (which replace the file's lines):
#   PORTHOLE_PUBLIC_HOST  PublicHost: the name clients are told, or
#                         several separated by commas, the first the
#                         default
#   PORTHOLE_PORT_RANGE   PortRange, such as 20000-20099: the public
#                         ports, each published on the same number
# "podman exec" runs its command with the container's environment, so
# portholectl and portholed -t see what the server sees.
set -eu

PORTHOLED=/usr/sbin/portholed
PORTHOLECTL=/usr/sbin/portholectl
CONF=/etc/porthole/portholed.conf

die() {
	echo "porthole-entrypoint: $*" >&2
	exit 1
}

# The -o options that the environment sets, one per line. The values are
# checked here so that a mistake is named by its variable (portholed
# checks them again), and hold no blank or wildcard, so that a caller
# may split the list on blanks.
env_options() {
	if [ -n "${PORTHOLE_PUBLIC_HOST:-}" ]; then
		old_ifs=$IFS
		IFS=,
		for host in $PORTHOLE_PUBLIC_HOST; do
			case $host in
			'' | *[!A-Za-z0-9.:-]*)
				die "PORTHOLE_PUBLIC_HOST: '$host' is not a host name or address"
				;;
			esac
			printf 'PublicHost=%s\n' "$host"
		done
		IFS=$old_ifs
	fi
	if [ -n "${PORTHOLE_PORT_RANGE:-}" ]; then
		case $PORTHOLE_PORT_RANGE in
		*[!0-9-]* | -* | *-*-* | *-)
			die "PORTHOLE_PORT_RANGE: '$PORTHOLE_PORT_RANGE' is not LOW-HIGH or a port"
			;;
		esac
		printf 'PortRange=%s\n' "$PORTHOLE_PORT_RANGE"
	fi
}

# run PROGRAM [ARG...]: exec PROGRAM with the environment's -o options
# before ARG..., so that an -o of the caller's comes later and wins.
run() {
	prog=$1
	shift
	opts=$(env_options) || exit 1
	n=$#
	# "$@" becomes ARG... -o OPTION..., then ARG... is rotated to the
	# end, one by one, so that no argument is split.
	for o in $opts; do
		set -- "$@" -o "$o"
	done
	while [ "$n" -gt 0 ]; do
		set -- "$@" "$1"
		shift
		n=$((n - 1))
	done
	exec "$prog" "$@"
}

# Whether the configuration, with the environment's options, names a
# PublicHost.
has_public_host() {
	[ -n "${PORTHOLE_PUBLIC_HOST:-}" ] && return 0
	[ -f "$CONF" ] &&
	    grep -qi '^[[:space:]]*PublicHost[[:space:]=]' "$CONF"
}

start_server() {
	# The same check the unit runs before it starts the server: a bad
	# file or variable stops the container with the reason, at once.
	(run "$PORTHOLED" -t "$@") ||
	    die "the configuration is not valid; see the message above"
	if ! has_public_host; then
		echo "porthole-entrypoint: no PublicHost: clients are told" \
		    "tcp://$(uname -n):PORT; set PORTHOLE_PUBLIC_HOST" >&2
	fi
	# The first start makes the database and says so; later ones
	# change nothing (or bring an older schema up to date, as portholed
	# would). Started as root, portholed first gives the state
	# directory to its User and makes the database itself: portholectl
	# would become that user before, and could find a volume it may
	# not write yet.
	if [ "$(id -u)" -ne 0 ]; then
		(run "$PORTHOLECTL" init >&2) ||
		    die "portholectl init failed: is the volume on" \
		    "/var/lib/porthole writable by $(id -un) ($(id -u))?"
	fi
	run "$PORTHOLED" "$@"
}

case $(basename "$0") in
portholectl)
	run "$PORTHOLECTL" "$@"
	;;
portholed)
	run "$PORTHOLED" "$@"
	;;
esac

case ${1:-portholed} in
portholed)
	[ "$#" -eq 0 ] || shift
	start_server "$@"
	;;
portholectl)
	shift
	run "$PORTHOLECTL" "$@"
	;;
-*)
	# Options alone, as in "podman run IMAGE -v": for portholed.
	start_server "$@"
	;;
*)
	exec "$@"
	;;
esac
