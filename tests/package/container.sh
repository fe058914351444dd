#!/bin/bash
# Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
#
# The container image of contrib/Containerfile, built and run with
# podman: it installs the Debian package, starts portholed as the
# porthole user with its state in a volume, takes its PublicHost and
# PortRange from the environment, lets "podman exec NAME portholectl"
# add an account and a key, serves a tunnel to the stock ssh client,
# stops in order on podman stop (exit status 0, the client told), and
# starts again from the volume with the same account and host key; a
# host directory of root's as the volume is refused with the reason, and
# taken over by portholed for porthole when the container runs as root.
#
#   tests/package/container.sh [-d DEB] [-b BASE]
#
#   -d DEB   the package to install (or PORTHOLE_DEB=DEB, as for
#            tests/package/deb.sh, whose -o DIR keeps the one it built);
#            without either, one is built with dpkg-buildpackage
#            (nocheck) from a copy of the files git tracks in this tree
#   -b BASE  the base image's root file system: a fresh minbase, a
#            directory or a tar file (or PORTHOLE_DEB_ROOT=TARBALL, as for
#            deb.sh, which saves its fresh chroot there); without either,
#            or when PORTHOLE_DEB_ROOT names no file yet, "debootstrap
#            --variant=minbase bookworm" makes one from the mirror apt
#            uses on this machine (and saves it as PORTHOLE_DEB_ROOT).
#            It gets the suites and apt settings this machine uses and is
#            imported as debian:bookworm-slim: no registry is asked for
#            anything.
#
# Run as root from the top of a built tree (it needs tests/tnet), or
# with top_srcdir and top_builddir set. Everything podman keeps, the
# images, the container and its volume, is in a storage of the test's
# own, under its temporary directory, which is removed at the end; the
# container shares the host's network, so no bridge or firewall rule is
# made, and the server listens on a free loopback port.
#
# Exit status: 0 pass, 1 fail, 77 skip (not root, no podman, or podman
# cannot run a container here: the reason is printed).

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"

deb=${PORTHOLE_DEB:+$(realpath "$PORTHOLE_DEB")}
base=
save=
if [ -n "${PORTHOLE_DEB_ROOT:-}" ]; then
	if [ -f "$PORTHOLE_DEB_ROOT" ]; then
		base=$(realpath "$PORTHOLE_DEB_ROOT")
	else
		save=$PORTHOLE_DEB_ROOT
	fi
fi
while getopts d:b: opt; do
	case $opt in
	d) deb=$(realpath "$OPTARG") || exit 1 ;;
	b) base=$(realpath "$OPTARG") || exit 1 ;;
	*)
		echo "usage: $0 [-d DEB] [-b BASE]" >&2
		exit 2
		;;
	esac
done

[ "$(id -u)" -eq 0 ] || ph_skip "not root: podman here runs rootful"
ph_setup
ph_require podman ssh ssh-keygen

# Step timings, printed as they end.
t_start=$SECONDS
step() {
	printf 'time: %s: %d s\n' "$1" $((SECONDS - t_step))
	t_step=$SECONDS
}
t_step=$SECONDS

# podman with a storage, run and temporary directory of this test only.
P=(podman --root "$PH_TMP/storage" --runroot "$PH_TMP/runroot"
    --tmpdir "$PH_TMP/libpod" --cgroup-manager cgroupfs
    --events-backend file)
IMAGE=localhost/porthole-test:latest
# Whatever --root says, podman keeps a cache of blob digests in
# /var/lib/containers/cache: if this test makes it, it removes it.
made_cache=
for d in /var/lib/containers /var/lib/containers/cache; do
	if [ ! -e "$d" ]; then
		made_cache=$d
		break
	fi
done
CT=porthole-test
VOL=porthole-test-state

# Remove what podman made, then unmount whatever is still mounted under
# $PH_TMP (podman's storage, or debootstrap's /proc after a failure),
# deepest first, so that lib.sh can remove the directory.
ct_cleanup() {
	local m

	"${P[@]}" rm -f -t 0 -a >/dev/null 2>&1
	"${P[@]}" volume rm -f -a >/dev/null 2>&1
	"${P[@]}" rmi -f -a >/dev/null 2>&1
	awk -v d="$PH_TMP/" 'index($2, d) == 1 { print $2 }' /proc/mounts |
	    sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	[ -z "$made_cache" ] || rm -rf "$made_cache"
}
_ct_exit() {
	local rc=$?

	set +e
	ct_cleanup
	(exit "$rc")
	_ph_cleanup
}
trap _ct_exit EXIT

# ct_logs FILE [NAME]: follow the log (standard error) of container NAME
# (default $CT) into FILE in the background, killed at exit.
ct_logs() {
	"${P[@]}" logs -f "${2:-$CT}" </dev/null >"$1" 2>&1 &
	ph_track $!
}

# ct_wait_listening LOG [N]: wait for the Nth (default 1) "listening on"
# line of the server, whose log holds those of every start of the
# container, and set PH_PORT to the SSH port of the last.
ct_wait_listening() {
	ph_wait_count "$1" 'portholed: listening on 127\.0\.0\.1:[0-9]+' \
	    "${2:-1}" 60
	PH_PORT=$(sed -nE \
	    's/.*portholed: listening on 127\.0\.0\.1:([0-9]+).*/\1/p' \
	    "$1" | tail -n 1)
	[ -n "$PH_PORT" ] || ph_fail "no port in $1"
}

# --- the package ----------------------------------------------------------------------------
if [ -z "$deb" ]; then
	[ -d "$top_srcdir/debian" ] || ph_skip "no debian/ in $top_srcdir and no -d DEB"
	ph_require dpkg-buildpackage git
	mkdir "$PH_TMP/src"
	(cd "$top_srcdir" && git ls-files -z | tar --null -T - -cf -) |
	    tar -C "$PH_TMP/src" -xf - || ph_fail "cannot copy the tree"
	(cd "$PH_TMP/src" &&
	    DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	    dpkg-buildpackage -us -uc -b) >"$PH_TMP/deb-build.log" 2>&1 ||
	    ph_fail "dpkg-buildpackage failed: $(tail -n 30 "$PH_TMP/deb-build.log")"
	deb=$(ls "$PH_TMP"/porthole_[0-9]*.deb)
	step "dpkg-buildpackage"
fi
[ -f "$deb" ] || ph_fail "no package $deb"

# --- the base image -------------------------------------------------------------------------
# The mirror and suites apt uses here (bookworm, its updates and
# security), for debootstrap and for the image's apt.
# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
sources=$(apt-get indextargets --format '$(SITE) $(RELEASE) $(COMPONENT)' \
    'Identifier: Packages' 2>/dev/null |
    awk '$2 ~ /^bookworm(-updates|-security)?$/ && $3 == "main"' | sort -u)
mirror=$(printf '%s\n' "$sources" | awk '$2 == "bookworm" { print $1; exit }')
mirror=${mirror:-http://deb.debian.org/debian}
R=$PH_TMP/rootfs
if [ -n "$base" ]; then
	[ -e "$base" ] || ph_fail "no base $base"
	mkdir "$R"
	if [ -d "$base" ]; then
		tar -C "$base" -cf - . | tar -C "$R" -xpf -
	else
		tar -C "$R" -xpf "$base"
	fi || ph_fail "cannot unpack $base"
	step "unpacked $base"
else
	ph_require debootstrap
	debootstrap --variant=minbase bookworm "$R" "$mirror" \
	    >"$PH_TMP/debootstrap.log" 2>&1 ||
	    ph_fail "debootstrap failed: $(tail -n 20 "$PH_TMP/debootstrap.log")"
	if [ -n "$save" ]; then
		tar -C "$R" -cpf "$save" . || ph_fail "cannot save $save"
	fi
	step "debootstrap --variant=minbase bookworm ($mirror)"
fi
# As the bookworm-slim image has it: the same suites as here, no lists.
rm -f "$R/etc/apt/sources.list"
if [ -n "$sources" ]; then
	printf '%s\n' "$sources" | sed 's/^/deb /' \
	    >"$R/etc/apt/sources.list.d/debian.list"
else
	printf 'deb %s bookworm main\n' "$mirror" \
	    >"$R/etc/apt/sources.list.d/debian.list"
fi
# A mirror that serves a frozen snapshot needs what apt needs here.
apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) "false";' \
    >"$R/etc/apt/apt.conf.d/99porthole-test" || :
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb
tar -C "$R" --numeric-owner --exclude=./proc/* --exclude=./sys/* \
    --exclude=./dev/* -cf - . |
    "${P[@]}" import - docker.io/library/debian:bookworm-slim \
    >"$PH_TMP/import.log" 2>&1 ||
    ph_fail "podman import failed: $(cat "$PH_TMP/import.log")"
# Whether podman can run a container at all on this machine, as it is
# or with what a sandbox may need: runc where crun refuses a cgroup
# hierarchy that is half v1 and half v2 ("cgroups in hybrid mode not
# supported"), and resource limits no higher than this process's where
# podman's defaults (1048576 files) cannot be set without
# CAP_SYS_RESOURCE ("setrlimit: Operation not permitted").
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
ok=
tried=
for rt in "" runc; do
	for lim in 0 1; do
		ct_opts=()
		if [ -n "$rt" ]; then
			command -v "$rt" >/dev/null 2>&1 || continue
			ct_opts+=(--runtime "$rt")
		fi
		[ "$lim" -eq 0 ] || ct_opts+=("${limits[@]}")
		if out=$("${P[@]}" run --rm --network host --pull=never \
		    "${ct_opts[@]}" docker.io/library/debian:bookworm-slim true 2>&1); then
			ok=1
			break 2
		fi
		tried="$tried
  podman run ${ct_opts[*]}: $out"
	done
done
[ -n "$ok" ] || ph_skip "podman cannot run a container here:$tried"
if [ "${#ct_opts[@]}" -gt 0 ]; then
	echo "container.sh: podman runs containers here with ${ct_opts[*]} only:$tried"
fi
step "podman import (the base image, made here, not pulled)"

# --- the image ------------------------------------------------------------------------------
# The context holds what the Containerfile copies, in the tree's layout.
ctx=$PH_TMP/context
mkdir -p "$ctx/contrib"
cp "$deb" "$ctx/"
cp "$top_srcdir/contrib/Containerfile" \
    "$top_srcdir/contrib/container-entrypoint.sh" \
    "$top_srcdir/contrib/container-portholed.conf" "$ctx/contrib/"
"${P[@]}" build --pull=never --network host "${ct_opts[@]}" \
    -f "$ctx/contrib/Containerfile" -t "$IMAGE" "$ctx" >"$PH_TMP/build.log" 2>&1 ||
    ph_fail "podman build failed: $(tail -n 30 "$PH_TMP/build.log")"
step "podman build"
[ "$("${P[@]}" image inspect -f '{{.Config.User}}' "$IMAGE")" = porthole ] ||
    ph_fail "the image does not run as porthole"
ph_pass "contrib/Containerfile builds on debian:bookworm-slim with the package"

# --- a mistake in the environment stops the container at once ----------------------------
out=$("${P[@]}" run --rm --network host "${ct_opts[@]}" \
    -e PORTHOLE_PUBLIC_HOST='bad host' "$IMAGE" 2>&1) && ph_fail "a bad PORTHOLE_PUBLIC_HOST started: $out"
printf '%s\n' "$out" | grep -q "PORTHOLE_PUBLIC_HOST: 'bad host' is not a host name" ||
    ph_fail "no reason for a bad PORTHOLE_PUBLIC_HOST: $out"
out=$("${P[@]}" run --rm --network host "${ct_opts[@]}" \
    -e PORTHOLE_PORT_RANGE=70000-70010 "$IMAGE" 2>&1) && ph_fail "PortRange 70000-70010 started: $out"
printf '%s\n' "$out" | grep -q 'configuration is not valid' ||
    ph_fail "no reason for a bad PORTHOLE_PORT_RANGE: $out"
ph_pass "a bad PORTHOLE_PUBLIC_HOST or PORTHOLE_PORT_RANGE stops the container with the reason"

# --- first start ------------------------------------------------------------------------------
# Twenty public ports somewhere in 30000-39999 (busy ones are skipped).
lo=$((30000 + RANDOM % 500 * 20))
hi=$((lo + 19))
"${P[@]}" volume create "$VOL" >/dev/null || ph_fail "podman volume create"
"${P[@]}" run -d --name "$CT" --network host "${ct_opts[@]}" \
    -v "$VOL:/var/lib/porthole" \
    -e PORTHOLE_PUBLIC_HOST=127.0.0.1 -e "PORTHOLE_PORT_RANGE=$lo-$hi" \
    "$IMAGE" portholed -o ListenAddress=127.0.0.1:0 -o TunnelAddress=127.0.0.1 \
    >/dev/null 2>"$PH_TMP/run.err" ||
    ph_fail "podman run failed: $(cat "$PH_TMP/run.err")"
ct_logs "$PH_TMP/ct.log"
ct_wait_listening "$PH_TMP/ct.log"
step "first start"
grep -q 'created database /var/lib/porthole/porthole.db' "$PH_TMP/ct.log" ||
    ph_fail "the first start did not run portholectl init: $(cat "$PH_TMP/ct.log")"
pid=$("${P[@]}" inspect -f '{{.State.Pid}}' "$CT")
uids=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$pid/status" | tr -s '[:space:]' ' ')
[ "${uids% }" = "999 999 999 999" ] ||
    ph_fail "portholed runs with the user IDs $uids, not porthole's (999)"
[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = \
    "/usr/sbin/portholed -o PublicHost=127.0.0.1 -o PortRange=$lo-$hi -o ListenAddress=127.0.0.1:0 -o TunnelAddress=127.0.0.1 " ] ||
    ph_fail "process 1 is not portholed: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
owner=$("${P[@]}" exec "$CT" stat -c '%U %a' /var/lib/porthole \
    /var/lib/porthole/porthole.db /var/lib/porthole/ssh_host_ed25519_key |
    sort -u | tr '\n' ' ')
[ "$owner" = "porthole 600 porthole 700 " ] ||
    ph_fail "the volume's files are not porthole's alone: $owner"
ph_pass "the first start makes the database in the volume; portholed is process 1, as porthole (999)"

# --- portholectl through podman exec -------------------------------------------------------------
ph_keygen alice
"${P[@]}" exec "$CT" portholectl account add alice >/dev/null ||
    ph_fail "podman exec portholectl account add"
"${P[@]}" exec "$CT" portholectl key add alice "$(cat "$PH_TMP/alice.pub")" \
    >/dev/null || ph_fail "podman exec portholectl key add"
hostkey=$("${P[@]}" exec "$CT" cat /var/lib/porthole/ssh_host_ed25519_key.pub |
    cut -d' ' -f1,2)
[ -n "$hostkey" ] || ph_fail "no host key in the volume"
# hostkey names the hosts of PORTHOLE_PUBLIC_HOST: portholectl sees the
# environment the server sees.
"${P[@]}" exec "$CT" portholectl hostkey | grep -F "127.0.0.1" |
    grep -qF "$hostkey" ||
    ph_fail "portholectl hostkey does not name PORTHOLE_PUBLIC_HOST: $("${P[@]}" exec "$CT" portholectl hostkey 2>&1)"
printf '[127.0.0.1]:%s %s\n' "$PH_PORT" "$hostkey" >"$PH_TMP/known_hosts"
"${P[@]}" exec "$CT" portholed -t || ph_fail "podman exec portholed -t"
t=$("${P[@]}" exec "$CT" portholed -T) || ph_fail "podman exec portholed -T"
{ printf '%s\n' "$t" | grep -qx 'publichost 127.0.0.1' &&
    printf '%s\n' "$t" | grep -qx "portrange $lo-$hi"; } ||
    ph_fail "portholed -T in the container does not show the environment: $t"
ph_pass "podman exec NAME portholectl adds an account and a key, portholed -t checks, with the server's configuration and environment"

# --- a tunnel ---------------------------------------------------------------------------------
PH_SSH_OPTS=(-o StrictHostKeyChecking=yes)
ph_listen svc echo
svc=$PH_LAST_PORT
ph_ssh_bg alice -i "$PH_TMP/alice" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp
ph_wait_tunnel alice 30
sshpid=$PH_LAST_PID
port=$PH_TUNNEL_PORT
{ [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ]; } ||
    ph_fail "port $port is not in PORTHOLE_PORT_RANGE $lo-$hi"
grep -q "Forwarding  tcp://127.0.0.1:$port" "$PH_TMP/alice.out" ||
    ph_fail "the client was not told tcp://127.0.0.1:$port: $(cat "$PH_TMP/alice.out")"
"$TNET" echo "127.0.0.1:$port" 100000 >/dev/null ||
    ph_fail "no echo through tcp://127.0.0.1:$port"
"${P[@]}" exec "$CT" portholectl session list | grep -q alice ||
    ph_fail "portholectl session list does not show alice's session"
ph_pass "a stock ssh client gets tcp://127.0.0.1:$port from the container, and bytes flow"

# podman kill -s HUP reloads, as porthole.7 says.
"${P[@]}" kill -s HUP "$CT" >/dev/null || ph_fail "podman kill -s HUP"
ph_wait_for "$PH_TMP/ct.log" 'SIGHUP: configuration reloaded' 15
ph_pass "podman kill -s HUP: portholed reloads its configuration"

# --- podman stop ------------------------------------------------------------------------------
t0=$SECONDS
"${P[@]}" stop -t 30 "$CT" >/dev/null || ph_fail "podman stop failed"
took=$((SECONDS - t0))
[ "$took" -le 10 ] || ph_fail "podman stop took $took s"
status=$("${P[@]}" inspect -f '{{.State.ExitCode}}' "$CT")
[ "$status" = 0 ] || ph_fail "portholed exited with status $status on SIGTERM"
ph_wait_gone "$sshpid"
[ "$PH_EXIT_STATUS" -eq 255 ] ||
    ph_fail "ssh exited with $PH_EXIT_STATUS when the server stopped"
grep -q 'the server is shutting down' "$PH_TMP/alice.err" ||
    ph_fail "the client was not told: $(cat "$PH_TMP/alice.err")"
ph_pass "podman stop: portholed ends its sessions and exits 0 in $took s"
step "tunnel and stop"

# --- the volume keeps the state ----------------------------------------------------------------
"${P[@]}" start "$CT" >/dev/null || ph_fail "podman start failed"
ct_logs "$PH_TMP/ct2.log"
ct_wait_listening "$PH_TMP/ct2.log" 2
grep -q 'is up to date' "$PH_TMP/ct2.log" ||
    ph_fail "the second start did not find the database: $(cat "$PH_TMP/ct2.log")"
[ "$("${P[@]}" exec "$CT" cut -d' ' -f1,2 \
    /var/lib/porthole/ssh_host_ed25519_key.pub)" = "$hostkey" ] ||
    ph_fail "the host key changed"
printf '[127.0.0.1]:%s %s\n' "$PH_PORT" "$hostkey" >"$PH_TMP/known_hosts"
ph_ssh_bg alice2 -i "$PH_TMP/alice" -R "0:127.0.0.1:$svc" alice@127.0.0.1 tcp
ph_wait_tunnel alice2 30
"$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 1000 >/dev/null ||
    ph_fail "no echo after the restart"
ph_pass "restarted from the volume: the same host key, alice logs in again"

# As root in the container, portholectl becomes porthole (User), as on
# a host.
"${P[@]}" exec -u 0 "$CT" portholectl account list | grep -q alice ||
    ph_fail "portholectl as root in the container"
"${P[@]}" stop -t 30 "$CT" >/dev/null
[ "$("${P[@]}" inspect -f '{{.State.ExitCode}}' "$CT")" = 0 ] ||
    ph_fail "the second stop did not exit 0"
ph_pass "podman exec -u 0 portholectl acts as porthole"
step "restart"

# --- a directory of the host as the volume -------------------------------------------------------
# One of root's: the image's user may not write it, and says so ...
mkdir "$PH_TMP/hostdir"
out=$("${P[@]}" run --rm --network host "${ct_opts[@]}" \
    -v "$PH_TMP/hostdir:/var/lib/porthole" -e PORTHOLE_PUBLIC_HOST=127.0.0.1 \
    "$IMAGE" 2>&1) && ph_fail "started on a volume it may not write: $out"
printf '%s\n' "$out" | grep -q 'writable by porthole (999)' ||
    ph_fail "no reason for the volume it may not write: $out"
# ... and started as root, portholed gives it to porthole and drops root.
"${P[@]}" run -d --name "$CT-root" --user 0 --network host "${ct_opts[@]}" \
    -v "$PH_TMP/hostdir:/var/lib/porthole" -e PORTHOLE_PUBLIC_HOST=127.0.0.1 \
    "$IMAGE" portholed -o ListenAddress=127.0.0.1:0 -o TunnelAddress=127.0.0.1 \
    >/dev/null 2>"$PH_TMP/run.err" ||
    ph_fail "podman run --user 0 failed: $(cat "$PH_TMP/run.err")"
ct_logs "$PH_TMP/ct3.log" "$CT-root"
ct_wait_listening "$PH_TMP/ct3.log"
pid=$("${P[@]}" inspect -f '{{.State.Pid}}' "$CT-root")
uids=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$pid/status" | tr -s '[:space:]' ' ')
[ "${uids% }" = "999 999 999 999" ] ||
    ph_fail "started as root, portholed runs with the user IDs $uids"
owners=$(stat -c '%u:%g' "$PH_TMP/hostdir" "$PH_TMP/hostdir/porthole.db" |
    sort -u | tr '\n' ' ')
[ "$owners" = "999:999 " ] ||
    ph_fail "the host directory's state is owned by $owners, not 999:999"
"${P[@]}" stop -t 30 "$CT-root" >/dev/null
[ "$("${P[@]}" inspect -f '{{.State.ExitCode}}' "$CT-root")" = 0 ] ||
    ph_fail "the root-started container did not exit 0"
ph_pass "a host directory of root's: refused with the reason as porthole; with --user 0, portholed gives it to porthole (999) and runs as porthole"
step "host directory"
printf 'time: all: %d s\n' $((SECONDS - t_start))
