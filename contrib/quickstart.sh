#!/bin/sh
# porthole quick start, for a fresh Debian 12 (bookworm) machine.
#
#   contrib/quickstart.sh demo   install the build dependencies, build,
#                                start portholed on 127.0.0.1:2222 with its
#                                state in ./demo, print the ssh command
#   contrib/quickstart.sh test   install the dependencies, build with
#                                warnings as errors and the sanitizers,
#                                run every test, then make distcheck-unit;
#                                as root, also build the Debian package
#                                and test it in a bookworm chroot
#                                (tests/package/deb.sh) and, where podman
#                                can run one, the container image
#   contrib/quickstart.sh stop   stop the demo server
#
# Run it from the top of the source tree, as root or as a user who may
# sudo (only apt-get needs root).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${1:-}

die() { echo "quickstart: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $* (run as root or install sudo)"
	fi
}

# Build dependencies (libcurl delivers webhooks), plus what the tests
# drive: the real OpenSSH client, mandoc for the man page lint,
# clang-format for the style check, haproxy
# (a real PROXY protocol reader behind the tunnel), curl, jq, clang
# with its libFuzzer runtime for the fuzz harnesses, and asyncssh for
# an SSH client that misbehaves on purpose (tests/integration/window.sh),
# the PostgreSQL 15 server, which the tests start privately
# (tests/pg.sh; the demo needs only its client library). The HTTP API
# is built on libmicrohttpd and jansson; its test checks every answer
# against /openapi.json with python3-jsonschema and makes a certificate
# for HTTPS with openssl. chromium and node run the dashboard's browser
# test (tests/integration/dashboard.sh installs puppeteer-core with npm ci).
BUILD_PKGS="build-essential autoconf automake pkg-config libssh-dev
libsodium-dev libsqlite3-dev libpq-dev libseccomp-dev check openssh-client
libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev"
TEST_PKGS="mandoc clang-format procps haproxy curl jq clang
libclang-rt-14-dev sqlite3 logrotate systemd python3-asyncssh postgresql
python3-jsonschema openssl chromium nodejs"
# Debian's npm, only where there is no npm: NodeSource's nodejs package
# bundles its own and conflicts with Debian's.
command -v npm >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS npm"

install_pkgs() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "quickstart: installing$missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $missing
}

build() {
	# $@: extra configure arguments
	autoreconf -fi >/dev/null
	./configure -q "$@"
	make -s -j"$(nproc)"
}

demo_stop() {
	if [ -f demo/portholed.pid ]; then
		kill "$(cat demo/portholed.pid)" 2>/dev/null || true
		rm -f demo/portholed.pid
	fi
}

demo() {
	# shellcheck disable=SC2086
	install_pkgs $BUILD_PKGS
	build
	demo_stop
	mkdir -p demo
	# The account is named after the invoking user; their ~/.ssh keys
	# are registered so that a plain `ssh -R` just works. Without keys,
	# a demo key is made in ./demo.
	user=${SUDO_USER:-$(id -un)}
	home=$(getent passwd "$user" | cut -d: -f6)
	cat >demo/portholed.conf <<EOF
# porthole demo configuration (contrib/quickstart.sh demo)
ListenAddress 127.0.0.1:2222
StateDirectory $top/demo/state
TunnelAddress 127.0.0.1
PublicHost localhost
PortRange 40000-49999
# The HTTP API and the dashboard (porthole-api.7), on loopback only.
ApiListen 127.0.0.1:8080
EOF
	ctl="src/portholectl -f demo/portholed.conf"
	$ctl init >/dev/null
	$ctl account add "$user" >/dev/null 2>&1 || true
	# An administrator's API key for the dashboard, made once, shown once.
	if [ ! -s demo/api-key ]; then
		(umask 077 && $ctl api-key create --description "quickstart demo" \
		    >demo/api-key)
	fi
	keyopt=
	found=0
	for pub in "$home"/.ssh/id_*.pub; do
		[ -f "$pub" ] || continue
		found=1
		$ctl key add "$user" "$pub" >/dev/null 2>&1 || true
	done
	if [ "$found" -eq 0 ]; then
		[ -f demo/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' \
		    -C "porthole-demo" -f demo/id_ed25519
		$ctl key add "$user" demo/id_ed25519.pub >/dev/null 2>&1 || true
		keyopt="-i $top/demo/id_ed25519 "
	fi
	# Detached from this terminal and its pipes: it keeps running.
	setsid sshd/portholed -f demo/portholed.conf </dev/null \
	    >demo/portholed.log 2>&1 &
	echo $! >demo/portholed.pid
	n=0
	until grep -q "listening on" demo/portholed.log; do
		n=$((n + 1))
		[ "$n" -le 100 ] || { cat demo/portholed.log; die "portholed did not start"; }
		kill -0 "$(cat demo/portholed.pid)" 2>/dev/null ||
		    { cat demo/portholed.log; die "portholed exited"; }
		sleep 0.1
	done
	# Pin the server's host key so the first ssh asks nothing.
	printf '[127.0.0.1]:2222 %s\n' \
	    "$(cut -d' ' -f1,2 demo/state/ssh_host_ed25519_key.pub)" \
	    >demo/known_hosts
	chown -R "$user" demo 2>/dev/null || true
	cat <<EOF

portholed is running (pid $(cat demo/portholed.pid), log demo/portholed.log).
Account "$user" can log in with your SSH key. Expose local port 8000:

  ssh -p 2222 ${keyopt}-o UserKnownHostsFile=$top/demo/known_hosts -R 0:localhost:8000 $user@127.0.0.1 tcp

Then connect to the tcp://localhost:PORT it prints. Admin:
  src/portholectl -f demo/portholed.conf session list
Dashboard: http://127.0.0.1:8080/ (log in with the key in demo/api-key); API:
  curl -H "Authorization: Bearer \$(cat demo/api-key)" http://127.0.0.1:8080/endpoints
Stop the server with: contrib/quickstart.sh stop
EOF
}

run_tests() {
	# shellcheck disable=SC2086
	install_pkgs $BUILD_PKGS $TEST_PKGS
	[ -f Makefile ] && make -s distclean >/dev/null 2>&1 || true
	build --enable-werror --enable-sanitizers
	status=0
	make -s -j"$(nproc)" check || status=$?
	echo "== test results"
	for log in tests/*.log tests/integration/*.log; do
		[ -f "$log" ] || continue
		case $log in */test-suite.log) continue ;; esac
		# Check's own summary line, or the integration test's verdict.
		grep -hE '^[0-9]+%: Checks:|^(ok|not ok|FAIL|SKIP)' "$log" |
		    sed "s|^|$(basename "$log" .log): |" || true
	done
	grep -h '^# ' tests/test-suite.log 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		cat tests/test-suite.log 2>/dev/null || true
	fi
	# Each parser of untrusted input for 30 s (about 2 minutes in all);
	# one line per harness: runs executed, crash or not.
	echo "== fuzz: make fuzz-run FUZZ_SECONDS=30"
	make -s fuzz-run FUZZ_SECONDS=30 || status=1
	echo "== man pages: mandoc -Tlint -Wwarning"
	mandoc -Tlint -Wwarning man/*.[1-9] || status=1
	echo "== style: clang-format --dry-run --Werror"
	clang-format --dry-run --Werror src/*.c src/*.h src/compat/*.c \
	    sshd/*.c sshd/*.h tests/*.c tests/fuzz/*.c tests/fuzz/*.h ||
	    status=1
	# The release tarball (make dist; its dist-hook fails if a file git
	# tracks is missing from it) built, checked with the unit suites,
	# installed and uninstalled out of tree: make distcheck, whose
	# integration tests would repeat the ones above.
	echo "== release tarball: make distcheck-unit"
	start=$(date +%s)
	if make -s -j"$(nproc)" distcheck-unit >distcheck.log 2>&1; then
		echo "distcheck:" $(sed -n \
		    's/^# \(TOTAL\|PASS\|SKIP\|FAIL\|ERROR\): */\1 /p' \
		    distcheck.log)
		sed -n 's/^\(.* archives ready for distribution\):.*/\1/p' \
		    distcheck.log
	else
		tail -n 40 distcheck.log
		echo "distcheck: FAILED (all of it in distcheck.log)"
		status=1
	fi
	echo "distcheck: $(($(date +%s) - start)) s"
	echo "== layering: src/ must not include libssh"
	if grep -rn 'libssh/' src/; then
		status=1
	fi
	# The Debian package, built apart from this (sanitizer) build,
	# checked by lintian and installed in a fresh bookworm chroot, which
	# serves a tunnel to ssh; SKIP when not root. It leaves the package
	# and the fresh minbase in $pkgdir for the container test.
	pkgdir=$(mktemp -d "${TMPDIR:-/tmp}/porthole-pkg.XXXXXX")
	echo "== package: tests/package/deb.sh"
	pkg=0
	PORTHOLE_DEB_ROOT=$pkgdir/minbase.tar \
	    bash tests/package/deb.sh -o "$pkgdir" || pkg=$?
	case $pkg in 0 | 77) ;; *) status=1 ;; esac
	# The container image (contrib/Containerfile) built on that package
	# and run with podman, serving a tunnel to ssh; SKIP when not root or
	# where podman cannot run a container (no podman is installed for
	# it); without the package and minbase it makes its own.
	echo "== container: tests/package/container.sh"
	ct=0
	PORTHOLE_DEB=$(ls "$pkgdir"/porthole_[0-9]*.deb 2>/dev/null | head -n 1) \
	    PORTHOLE_DEB_ROOT=$pkgdir/minbase.tar \
	    bash tests/package/container.sh || ct=$?
	rm -rf "$pkgdir"
	case $ct in 0 | 77) ;; *) status=1 ;; esac
	[ "$status" -eq 0 ] && echo "quickstart: all tests passed" ||
	    echo "quickstart: FAILED" >&2
	return "$status"
}

case $mode in
demo) demo ;;
test) run_tests ;;
stop) demo_stop ;;
*) echo "usage: contrib/quickstart.sh demo|test|stop" >&2; exit 2 ;;
esac
