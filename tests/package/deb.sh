#!/bin/bash
# The Debian package as a user gets it: built from this tree with
# dpkg-buildpackage -us -uc -b, checked by lintian (no errors), installed
# with apt into a fresh Debian 12 (bookworm) minbase chroot, which pulls
# the runtime libraries. There, "portholectl init" runs as root (acting as
# User porthole), portholed starts as the installed unit would (its
# ExecStartPre and ExecStart as its User and Group, with its UMask; the
# chroot has no systemd), on a free loopback port, and the host's stock
# ssh client serves a tunnel through it. Then "dpkg --purge" must remove
# what the package made (what stays is listed).
#
#   tests/package/deb.sh [-o DIR]   DIR: keep the built .deb files there
#
# PORTHOLE_DEB=FILE tests that .deb instead of building one.
# PORTHOLE_DEB_ROOT=TARBALL starts from that tarball of a fresh minbase
# chroot instead of running debootstrap, and saves one there if there is
# none (for running the test again and again by hand). The package
# is built with DEB_BUILD_OPTIONS=nocheck unless DEB_BUILD_OPTIONS is set:
# the unit suites have run already in contrib/quickstart.sh test (with
# the sanitizers, so that build cannot be shared with the package's).
# Needs root (debootstrap, chroot, mount); skips without it. Installs
# what it needs with apt-get. Everything it mounts is unmounted on every
# exit path, before its temporary directory is removed.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"

outdir=
while getopts o: opt; do
	case $opt in
	o) outdir=$(mkdir -p "$OPTARG" && cd "$OPTARG" && pwd) || exit 1 ;;
	*) echo "usage: tests/package/deb.sh [-o DIR]" >&2; exit 2 ;;
	esac
done

[ "$(id -u)" -eq 0 ] ||
    ph_skip "deb.sh: not root (debootstrap, chroot and mount need root)"
[ -f "$top_srcdir/debian/control" ] ||
    ph_skip "deb.sh: no debian/ in this tree (the release tarball has none)"
[ -n "${PORTHOLE_DEB:-}" ] || git -C "$top_srcdir" rev-parse >/dev/null 2>&1 ||
    ph_skip "deb.sh: not a git checkout (the package is built from its files)"
ph_setup
ph_require ssh ssh-keygen

suite=bookworm
t_start=$SECONDS
W=$(mktemp -d "${TMPDIR:-/tmp}/porthole-deb.XXXXXX") || ph_fail "mktemp"
R=$W/root
server_pid=
boot_pid=

# Print the mount points at or below $W, deepest first.
deb_mounts() {
	awk -v w="$W/" 'index($2 "/", w) == 1 { print $2 }' /proc/self/mounts |
	    sort -r
}

# Unmount everything below $W; 1 if something stays mounted.
deb_umount_all() {
	local m

	for m in $(deb_mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" ||
		    echo "deb.sh: cannot unmount $m" >&2
	done
	[ -z "$(deb_mounts)" ]
}

# The EXIT trap: stop the server in the chroot, unmount, remove $W (only
# once nothing below it is mounted), then lib.sh's own cleanup.
_deb_cleanup() {
	local rc=$?

	trap - EXIT HUP INT TERM
	set +e
	if [ -n "$boot_pid" ] && _ph_alive "$boot_pid"; then
		kill -- "-$boot_pid"
		_ph_wait_exit "$boot_pid" 10 || kill -KILL -- "-$boot_pid"
		wait "$boot_pid"
	fi
	if [ -n "$server_pid" ] && _ph_alive "$server_pid"; then
		kill "$server_pid"
		_ph_wait_exit "$server_pid" 5 || kill -KILL "$server_pid"
	fi
	[ ! -d "$R" ] || deb_kill_chrooted
	if deb_umount_all; then
		if [ -n "${PH_KEEP:-}" ]; then
			printf 'kept %s\n' "$W" >&2
		else
			rm -rf --one-file-system "$W"
		fi
	else
		echo "deb.sh: something is still mounted below $W; not removing it" >&2
		rc=1
	fi
	(exit "$rc")
	_ph_cleanup
}
trap _deb_cleanup EXIT

# Run a command in the chroot, in its own environment; each program
# execs the next, so that a command started with & has the PID of what
# runs in the end.
root_cmd=(chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
in_root() {
	"${root_cmd[@]}" "$@"
}

# Kill every process whose root is the chroot (all of them are ours).
deb_kill_chrooted() {
	local p

	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ]; then
			kill -KILL "${p#/proc/}" 2>/dev/null
		fi
	done
}

# Print the first URI from the host's apt sources serving suite $1 with
# component main (deb822 .sources files and one-line .list files), or
# nothing.
host_mirror() {
	local f

	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$1" '
		function flush() {
			if (uris != "" && types ~ /(^| )deb( |$)/ &&
			    (" " suites " ") ~ (" " suite " ") &&
			    (" " comps " ") ~ / main / && enabled != "no") {
				split(uris, u, " ")
				print u[1]
				found = 1
				exit
			}
			types = uris = suites = comps = ""
			enabled = "yes"
		}
		/^[ \t]*$/ { flush(); next }
		/^#/ { next }
		{
			key = tolower($1)
			sub(/^[^:]*:[ \t]*/, "")
			if (key == "types:") types = $0
			else if (key == "uris:") uris = $0
			else if (key == "suites:") suites = $0
			else if (key == "components:") comps = $0
			else if (key == "enabled:") enabled = tolower($0)
		}
		END { if (!found) flush() }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	    sed -nE "s/^deb([[:space:]]+\[[^]]*\])?[[:space:]]+([^[:space:]]+)[[:space:]]+$1[[:space:]]+(.*[[:space:]])?main([[:space:]].*)?\$/\2/p"
}

# --- what the test needs on the host ------------------------------------------------
need=
for p in debootstrap lintian dpkg-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ] || { [ -z "${PORTHOLE_DEB:-}" ] &&
    ! (cd "$top_srcdir" && dpkg-checkbuilddeps -P nocheck) 2>/dev/null; }; then
	echo "deb.sh: installing$need and the build dependencies"
	apt-get update -q >"$W/apt-host.log" 2>&1
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends debootstrap lintian dpkg-dev \
	    >>"$W/apt-host.log" 2>&1 ||
	    ph_fail "apt-get install: $(tail -n 20 "$W/apt-host.log")"
	if [ -z "${PORTHOLE_DEB:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q \
		    --no-install-recommends -P nocheck "$top_srcdir" \
		    >>"$W/apt-host.log" 2>&1 ||
		    ph_fail "apt-get build-dep: $(tail -n 20 "$W/apt-host.log")"
	fi
fi

# --- a fresh bookworm chroot, made while the package builds ---------------------------------
t0=$SECONDS
mirror=$(host_mirror "$suite" | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(host_mirror "$suite-security" | head -n 1)
if [ -n "${PORTHOLE_DEB_ROOT:-}" ] && [ -f "$PORTHOLE_DEB_ROOT" ]; then
	{ mkdir "$R" && tar -C "$R" -xpf "$PORTHOLE_DEB_ROOT"; } ||
	    ph_fail "unpacking $PORTHOLE_DEB_ROOT"
	how="unpacked $PORTHOLE_DEB_ROOT"
	t_debootstrap=$((SECONDS - t0))
else
	# In a process group of its own, which the cleanup ends if the
	# test fails before it is done; it writes how long it took.
	# shellcheck disable=SC2016
	setsid sh -c 't=$(date +%s); "$@"; rc=$?
	    echo $(($(date +%s) - t)) >"$0"; exit $rc' "$W/debootstrap.time" \
	    debootstrap --variant=minbase "$suite" "$R" "$mirror" \
	    >"$W/debootstrap.log" 2>&1 </dev/null &
	boot_pid=$!
	how="debootstrap --variant=minbase $suite from $mirror, beside the build"
fi

# --- build ----------------------------------------------------------------------------------
# From a copy of the files git tracks, so that the tree's own build (the
# sanitizer build of the tests, configured in place) is left alone.
t0=$SECONDS
if [ -n "${PORTHOLE_DEB:-}" ]; then
	deb=$(cd "$(dirname "$PORTHOLE_DEB")" && pwd)/$(basename "$PORTHOLE_DEB")
	[ -f "$deb" ] || ph_fail "no $PORTHOLE_DEB"
	changes=
else
	mkdir -p "$W/src/porthole"
	(cd "$top_srcdir" && git ls-files -z | tar --null -T - -cf -) |
	    tar -C "$W/src/porthole" -xf - || ph_fail "copying the tree"
	(cd "$W/src/porthole" &&
	    DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck} \
	    dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$W/build.log" 2>&1 ||
	    ph_fail "dpkg-buildpackage -us -uc -b:
$(tail -n 40 "$W/build.log")"
	deb=
	changes=
	for f in "$W"/src/porthole_*.deb; do
		case $f in *-dbgsym_*) ;; *) deb=$f ;; esac
	done
	for f in "$W"/src/porthole_*.changes; do
		changes=$f
	done
	[ -f "$deb" ] || ph_fail "dpkg-buildpackage made no .deb"
	if [ -n "$outdir" ]; then
		cp "$W"/src/porthole_*.deb "$outdir"/ || ph_fail "copy to $outdir"
	fi
fi
t_build=$((SECONDS - t0))
ph_pass "built $(basename "$deb") ($t_build s)"

# --- lintian: no errors ----------------------------------------------------------------------
t0=$SECONDS
lintian --fail-on error --display-info "${changes:-$deb}" >"$W/lintian.log" 2>&1
lrc=$?
sed 's/^/lintian: /' "$W/lintian.log"
[ "$lrc" -eq 0 ] || ph_fail "lintian reports errors (exit $lrc)"
t_lintian=$((SECONDS - t0))
ph_pass "lintian: no errors, $(grep -c '^W: ' "$W/lintian.log") warnings ($t_lintian s)"

# --- the chroot is ready -------------------------------------------------------------------
if [ -n "$boot_pid" ]; then
	wait "$boot_pid" ||
	    ph_fail "debootstrap $suite from $mirror:
$(tail -n 30 "$W/debootstrap.log")"
	boot_pid=
	# debootstrap may leave its own mounts; ours start from none.
	deb_umount_all || ph_fail "cannot unmount what debootstrap mounted"
	t_debootstrap=$(cat "$W/debootstrap.time")
	if [ -n "${PORTHOLE_DEB_ROOT:-}" ]; then
		tar -C "$R" -cpf "$PORTHOLE_DEB_ROOT" . ||
		    ph_fail "saving $PORTHOLE_DEB_ROOT"
	fi
fi
ph_pass "$how ($t_debootstrap s)"

t0=$SECONDS
mount -t proc proc "$R/proc" || ph_fail "mount proc"
if ! [ -c "$R/dev/null" ] || ! echo >"$R/dev/null" 2>/dev/null; then
	mount --bind /dev "$R/dev" || ph_fail "bind-mount /dev"
fi
# The same suites the host uses, so that the libraries the package was
# linked against (point releases, security updates) are there.
{
	echo "deb $mirror $suite main"
	echo "deb $mirror $suite-updates main"
	[ -z "$security" ] || echo "deb $security $suite-security main"
} >"$R/etc/apt/sources.list"
# The host's own certificate authorities, for a mirror behind HTTPS or a
# proxy that needs them.
if [ -d /usr/local/share/ca-certificates ]; then
	mkdir -p "$R/usr/local/share/ca-certificates"
	cp -r /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/"
fi
[ -s "$R/etc/resolv.conf" ] || cp /etc/resolv.conf "$R/etc/resolv.conf"
# No service starts on its own in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
cp "$deb" "$R/tmp/" || ph_fail "copy the .deb"
in_root apt-get update -q >"$W/apt.log" 2>&1 ||
    ph_fail "apt-get update in the chroot: $(tail -n 20 "$W/apt.log")"
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" \
    >>"$W/apt.log" 2>&1 ||
    ph_fail "apt-get install ./$(basename "$deb") in the chroot:
$(tail -n 30 "$W/apt.log")"
t_install=$((SECONDS - t0))
t_after=$SECONDS
ph_pass "apt-get install ./$(basename "$deb") in the chroot ($(grep -c '^Setting up' "$W/apt.log") packages, $t_install s)"

# --- what the package installed and made --------------------------------------------------------
unit=
for u in /lib/systemd/system/portholed.service /usr/lib/systemd/system/portholed.service; do
	[ -f "$R$u" ] && unit=$u && break
done
[ -n "$unit" ] || ph_fail "no portholed.service installed"
files="/usr/sbin/portholed /usr/sbin/portholectl /etc/porthole/portholed.conf
/usr/share/man/man8/portholed.8.gz /usr/share/man/man8/portholectl.8.gz
/usr/share/man/man5/portholed.conf.5.gz /usr/share/man/man7/porthole.7.gz
/usr/share/man/man7/porthole-api.7.gz /usr/lib/sysusers.d/porthole.conf
/usr/lib/tmpfiles.d/porthole.conf /etc/logrotate.d/portholed"
if [ -f "$top_srcdir/contrib/completion/portholectl" ]; then
	files="$files /usr/share/bash-completion/completions/portholectl"
else
	echo "deb.sh: note: this tree has no bash completion yet (contrib/completion/portholectl)"
fi
for f in $files; do
	[ -f "$R$f" ] || ph_fail "the package does not install $f"
done
# shellcheck disable=SC2016
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' porthole)
for f in /etc/porthole/portholed.conf /etc/logrotate.d/portholed; do
	printf '%s\n' "$conffiles" | grep -q "^ $f " || ph_fail "$f is not a conffile"
done
ph_pass "installed: the programs, the man pages, $unit, the conffiles, sysusers.d, tmpfiles.d, logrotate"

pw=$(in_root getent passwd porthole) || ph_fail "no porthole user"
[ "$(printf '%s' "$pw" | cut -d: -f6,7)" = /var/lib/porthole:/usr/sbin/nologin ] ||
    ph_fail "the porthole user is not as sysusers.d says: $pw"
# Owners by the chroot's names, not the host's.
mode=$(in_root stat -c '%a %U %G' /var/lib/porthole)
[ "$mode" = "700 porthole porthole" ] || ph_fail "/var/lib/porthole: $mode"
mode=$(in_root stat -c '%a %U %G' /var/log/porthole)
[ "$mode" = "750 porthole porthole" ] || ph_fail "/var/log/porthole: $mode"
ph_pass "the porthole user (home /var/lib/porthole, nologin) with /var/lib/porthole 0700 and /var/log/porthole 0750"

enabled=$(find "$R/etc/systemd/system" -name 'portholed*' 2>/dev/null)
[ -z "$enabled" ] || ph_fail "the package enabled the service: $enabled"
ph_pass "nothing enabled"

# --- portholectl init, and portholed as the unit starts it -------------------------------------
in_root portholectl init >"$W/init.out" 2>&1 ||
    ph_fail "portholectl init: $(cat "$W/init.out")"
grep -q "created database /var/lib/porthole/porthole.db" "$W/init.out" ||
    ph_fail "portholectl init said: $(cat "$W/init.out")"
owner=$(in_root stat -c %U /var/lib/porthole/porthole.db)
[ "$owner" = porthole ] ||
    ph_fail "portholectl init as root made a database owned by $owner"
ph_pass "portholectl init (as root, acting as User porthole)"

unit_value() {
	sed -n "s/^$1=//p" "$R$unit" | head -n 1
}
user=$(unit_value User)
group=$(unit_value Group)
umask=$(unit_value UMask)
pre=$(unit_value ExecStartPre)
start=$(unit_value ExecStart)
if [ -z "$user" ] || [ -z "$start" ]; then
	ph_fail "$unit has no User or ExecStart"
fi
# As the unit would run it: its User and Group (and their groups), its
# UMask, no way back to root; on loopback, with a port the system picks.
# shellcheck disable=SC2016
unit_cmd=("${root_cmd[@]}" setpriv --reuid="$user" --regid="${group:-$user}"
    --init-groups --no-new-privs -- /bin/sh -c 'umask "$0"; exec "$@"'
    "${umask:-0022}")
overrides=(-o ListenAddress=127.0.0.1:0 -o TunnelAddress=127.0.0.1
    -o PublicHost=127.0.0.1)
if [ -n "$pre" ]; then
	# shellcheck disable=SC2086
	"${unit_cmd[@]}" $pre "${overrides[@]}" >"$W/pre.out" 2>&1 ||
	    ph_fail "ExecStartPre ($pre) as $user: $(cat "$W/pre.out")"
fi
PH_LOG=$W/portholed.log
# shellcheck disable=SC2086
"${unit_cmd[@]}" $start "${overrides[@]}" </dev/null >"$PH_LOG" 2>&1 &
server_pid=$!
ph_track "$server_pid"
ph_wait_for "$PH_LOG" 'portholed: listening on 127\.0\.0\.1:[0-9]+' 30 "$server_pid"
PH_PORT=$(sed -nE 's/.*portholed: listening on 127\.0\.0\.1:([0-9]+).*/\1/p' \
    "$PH_LOG" | head -n 1)
uid=$(in_root id -u "$user")
[ "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$server_pid/status")" = "$uid$uid$uid$uid" ] ||
    ph_fail "portholed does not run as $user ($uid): $(grep '^Uid:' "/proc/$server_pid/status")"
ph_pass "ExecStartPre and ExecStart ($start) as $user, listening on 127.0.0.1:$PH_PORT"

# --- a tunnel to the host's stock ssh client ------------------------------------------------------
ph_keygen alice
cp "$PH_TMP/alice.pub" "$R/tmp/alice.pub"
chmod 644 "$R/tmp/alice.pub"
in_root portholectl account add alice >/dev/null || ph_fail "portholectl account add"
in_root portholectl key add alice /tmp/alice.pub >/dev/null ||
    ph_fail "portholectl key add"
ph_listen svc echo
ph_ssh_bg alice -i "$PH_TMP/alice" -R "0:127.0.0.1:$PH_LAST_PORT" alice@127.0.0.1 tcp
ph_wait_tunnel alice
"$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 1000 >/dev/null ||
    ph_fail "no echo through the tunnel on port $PH_TUNNEL_PORT"
# EventLog, in the directory the package made, written as the unit's user.
ph_wait_for "$R/var/log/porthole/events.log" '"event_type":"tcp_connection_closed.v0"'
# The host key the client met is the one the package's init made.
grep -qF "$(cut -d' ' -f2 "$R/var/lib/porthole/ssh_host_ed25519_key.pub")" \
    "$PH_TMP/known_hosts" || ph_fail "the client met another host key"
in_root portholectl session list >"$W/sessions" 2>&1 ||
    ph_fail "portholectl session list: $(cat "$W/sessions")"
grep -q alice "$W/sessions" || ph_fail "session list shows no alice: $(cat "$W/sessions")"
ph_pass "ssh -R 0:127.0.0.1:$PH_LAST_PORT alice@127.0.0.1 tcp: 1000 bytes echoed through tcp://127.0.0.1:$PH_TUNNEL_PORT; EventLog has it; session list shows it"

read -r ssh_pid <"$PH_TMP/alice.pid"
kill "$ssh_pid" 2>/dev/null
ph_wait_gone "$ssh_pid"
kill "$server_pid"
ph_wait_gone "$server_pid"
server_pid=

# --- purge --------------------------------------------------------------------------------
in_root dpkg --purge porthole >"$W/purge.log" 2>&1 ||
    ph_fail "dpkg --purge porthole: $(cat "$W/purge.log")"
for f in /var/lib/porthole /var/log/porthole /etc/porthole /usr/sbin/portholed \
    /usr/sbin/portholectl "$unit" /etc/logrotate.d/portholed \
    /usr/lib/sysusers.d/porthole.conf /usr/lib/tmpfiles.d/porthole.conf; do
	[ ! -e "$R$f" ] || ph_fail "dpkg --purge left $f"
done
left=$(in_root find / -xdev \( -user porthole -o -group porthole \) -print 2>/dev/null)
[ -z "$left" ] || ph_fail "files of user porthole left after purge: $left"
in_root getent passwd porthole >/dev/null ||
    ph_fail "purge removed the porthole user (Debian keeps system users)"
ph_pass "dpkg --purge removes the state, logs, configuration and every file; stays: the porthole user and group (Debian policy)"

t_total=$((SECONDS - t_start))
t_rest=$((SECONDS - t_after))
echo "deb.sh: times: build $t_build s and lintian $t_lintian s beside debootstrap $t_debootstrap s, then install $t_install s, init+tunnel+purge $t_rest s; total $t_total s"
