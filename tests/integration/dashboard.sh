#!/bin/bash
# The web dashboard in a real browser: Debian's chromium, headless, driven
# by puppeteer-core (tests/browser/dashboard.test.js) against a real
# portholed with ApiListen. The page logs in with an administrator's API
# key and reserves an address; this script starts a real ssh -R on it;
# the page sees the endpoint appear by itself; a connection through it
# shows in the inspector, live; the page's Stop button ends the session
# and ssh exits. The two sides talk by lines (see dashboard.test.js):
# the browser's on $PH_TMP/node.out, ours through a FIFO on its stdin.
# On the way, an IP policy made on the page refuses a client from
# 127.0.0.9, and the inspector shows that connection as denied.
#
# Also the files themselves, with curl: the security policy, the cache
# headers, a 304 for a copy the browser has, 404 for what is not there.
#
# Skipped (77) only without chromium or node. puppeteer-core comes from
# the npm registry, pinned by tests/browser/package-lock.json, installed
# once per build tree (npm ci) in tests/browser/node_modules.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || ph_skip "chromium is not installed ($CHROMIUM)"
ph_require node
ph_require ssh ssh-keygen curl

# --- puppeteer-core, from the lock file ------------------------------------
src_browser=$top_srcdir/tests/browser
browser_dir=$PH_BIN/tests/browser
mkdir -p "$browser_dir" || ph_fail "cannot make $browser_dir"
if ! [ "$src_browser" -ef "$browser_dir" ]; then
	# A VPATH build (make distcheck): install beside the build.
	cmp -s "$src_browser/package-lock.json" \
	    "$browser_dir/package-lock.json" ||
	    rm -rf "$browser_dir/node_modules"
	cp -p "$src_browser/package.json" "$src_browser/package-lock.json" \
	    "$browser_dir/" || ph_fail "cannot copy tests/browser/package*.json"
fi
if ! [ -f "$browser_dir/node_modules/puppeteer-core/package.json" ] ||
    [ "$browser_dir/package-lock.json" -nt \
	"$browser_dir/node_modules/.package-lock.json" ]; then
	command -v npm >/dev/null 2>&1 ||
	    ph_fail "npm is needed to install puppeteer-core (npm ci)"
	(cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error) \
	    >"$PH_TMP/npm.log" 2>&1 ||
	    ph_fail "npm ci in $browser_dir failed$(_ph_tail "$PH_TMP/npm.log")"
fi
ph_pass "puppeteer-core is installed ($browser_dir/node_modules)"

# --- portholed with the API ------------------------------------------------
aport=$("$TNET" freeport) || ph_fail "tnet freeport failed"
cat >"$PH_CONF" <<EOF
ListenAddress 127.0.0.1:0
StateDirectory $PH_TMP/state
TunnelAddress 127.0.0.1
PublicHost 127.0.0.1
ApiListen 127.0.0.1:$aport
LogLevel DEBUG1
EOF
ph_user alice
key=$(ph_ctl api-key create --description "dashboard.sh" 2>/dev/null) ||
    ph_fail "api-key create failed"
case $key in phk_*) ;; *) ph_fail "api-key create printed '$key'" ;; esac
akey=$(ph_ctl api-key create --account alice 2>/dev/null) ||
    ph_fail "api-key create --account alice failed"
ph_start_server
api=http://127.0.0.1:$aport
ph_wait_for "$PH_LOG" "portholed: API on $api/" 30 "$PH_SERVER_PID"

# --- the files, with curl ----------------------------------------------------
# hdr FILE NAME: the value of header NAME in the saved headers FILE.
hdr() {
	tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | head -n 1
}
curl -sS -D "$PH_TMP/index.hdr" -o "$PH_TMP/index.html" "$api/" ||
    ph_fail "GET / failed"
head -n 1 "$PH_TMP/index.hdr" | grep -q ' 200' ||
    ph_fail "GET /: $(head -n 1 "$PH_TMP/index.hdr")"
cmp -s "$PH_TMP/index.html" "$top_srcdir/src/web/index.html" ||
    ph_fail "GET / is not src/web/index.html"
hdr "$PH_TMP/index.hdr" Content-Type | grep -q '^text/html' ||
    ph_fail "GET /: Content-Type $(hdr "$PH_TMP/index.hdr" Content-Type)"
csp=$(hdr "$PH_TMP/index.hdr" Content-Security-Policy)
case $csp in
*"default-src 'self'"*) ;;
*) ph_fail "GET /: Content-Security-Policy '$csp'" ;;
esac
for f in app.js app.css icon.svg; do
	curl -sS -D "$PH_TMP/$f.hdr" -o "$PH_TMP/$f" "$api/assets/$f" ||
	    ph_fail "GET /assets/$f failed"
	cmp -s "$PH_TMP/$f" "$top_srcdir/src/web/$f" ||
	    ph_fail "GET /assets/$f is not src/web/$f"
	[ "$(hdr "$PH_TMP/$f.hdr" Content-Security-Policy)" = "$csp" ] ||
	    ph_fail "GET /assets/$f: no Content-Security-Policy"
	[ "$(hdr "$PH_TMP/$f.hdr" Cache-Control)" = "no-cache" ] ||
	    ph_fail "GET /assets/$f: Cache-Control" \
		"'$(hdr "$PH_TMP/$f.hdr" Cache-Control)'"
	etag=$(hdr "$PH_TMP/$f.hdr" ETag)
	[ -n "$etag" ] || ph_fail "GET /assets/$f: no ETag"
	code=$(curl -sS -o /dev/null -w '%{http_code}' \
	    -H "If-None-Match: $etag" "$api/assets/$f") ||
	    ph_fail "GET /assets/$f (If-None-Match) failed"
	[ "$code" = 304 ] ||
	    ph_fail "GET /assets/$f with If-None-Match $etag: $code, not 304"
done
hdr "$PH_TMP/app.js.hdr" Content-Type | grep -q '^text/javascript' ||
    ph_fail "app.js: Content-Type $(hdr "$PH_TMP/app.js.hdr" Content-Type)"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$api/assets/nope.js")
[ "$code" = 404 ] || ph_fail "GET /assets/nope.js: $code, not 404"
ph_pass "/ and /assets/* are the embedded files, with CSP, ETag and 304"

# --- the browser -------------------------------------------------------------
ph_listen echo echo
backend=$PH_LAST_PORT

mkfifo "$PH_TMP/to-node" || ph_fail "mkfifo failed"
PORTHOLE_URL=$api PORTHOLE_KEY=$key PORTHOLE_ACCOUNT=alice \
    PORTHOLE_ACCOUNT_KEY=$akey \
    CHROMIUM=$CHROMIUM PH_TMP=$PH_TMP \
    NODE_PATH=$browser_dir/node_modules \
    node "$top_srcdir/tests/browser/dashboard.test.js" \
    <"$PH_TMP/to-node" >"$PH_TMP/node.out" 2>"$PH_TMP/node.err" &
node_pid=$!
ph_track "$node_pid"
# The browser's stdin: open until the end (the EXIT trap closes it). If
# the browser test has died, writing to it raises SIGPIPE: fail with
# its output rather than die without cleaning up. (A trapped signal is
# reset in children, so ssh and tnet still get the default.)
trap 'ph_fail "the browser test is gone$(_ph_tail "$PH_TMP/node.err")"' PIPE
exec 3>"$PH_TMP/to-node"

# browser_wait WORD [TIMEOUT]: wait for the browser's line "WORD …"
# (default 60 s); fail with what it said if it exits or times out.
browser_wait() {
	local deadline=$((SECONDS + ${2:-60}))

	until grep -Eq "^$1( |\$)" "$PH_TMP/node.out"; do
		if ! _ph_alive "$node_pid" &&
		    ! grep -Eq "^$1( |\$)" "$PH_TMP/node.out"; then
			ph_fail "the browser test exited before '$1'" \
			    "$(_ph_tail "$PH_TMP/node.err")"
		fi
		[ "$SECONDS" -lt "$deadline" ] ||
		    ph_fail "no '$1' from the browser after ${2:-60} s" \
			"$(_ph_tail "$PH_TMP/node.err")"
		sleep 0.05
	done
}

browser_wait reserved 120
read -r _ addr ra_id < <(grep '^reserved ' "$PH_TMP/node.out")
port=${addr##*:}
ph_ctl address show "$addr" >"$PH_TMP/show.txt" 2>&1 ||
    ph_fail "the page's address $addr is not in the store:" \
	"$(cat "$PH_TMP/show.txt")"
grep -q "(edited)" "$PH_TMP/show.txt" ||
    ph_fail "the page's edit did not reach the store: $(cat "$PH_TMP/show.txt")"
ph_pass "the page reserved $addr ($ra_id) and edited its description"

ph_ssh_bg tun -i "$PH_TMP/alice" -R "$port:127.0.0.1:$backend" \
    alice@127.0.0.1 tcp
ssh_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/tun.out" "^Forwarding  tcp://127\\.0\\.0\\.1:$port\$" 15 \
    "$ssh_pid"
echo ssh-up >&3
browser_wait endpoint
ph_pass "the endpoint tcp://$addr appeared on the page by itself"

got=$("$TNET" echo "127.0.0.1:$port" 1000) || ph_fail "echo via $addr"
[ "$got" = "$("$TNET" sum 1000)" ] || ph_fail "echo via $addr: '$got'"
echo "conn 1000 1000" >&3
browser_wait inspected
ph_pass "the connection shows in the inspector, live, with its bytes"

# The page makes an IP policy that denies 127.0.0.9 and attaches it to
# the address; once the session has re-read its settings, a client from
# there is closed before it reaches the service.
reread=$(grep -c 'settings re-read on request' "$PH_LOG" || :)
browser_wait policy-attached
ph_wait_count "$PH_LOG" 'settings re-read on request' $((reread + 1)) 15
"$TNET" closed -s 127.0.0.9 -t 15 "127.0.0.1:$port" >/dev/null ||
    ph_fail "a client from 127.0.0.9 was not refused by the page's policy"
echo denied >&3
browser_wait inspected-deny
ph_pass "the page's IP policy refuses 127.0.0.9; the inspector says deny"

browser_wait stopped
ph_wait_gone "$ssh_pid"
ph_pass "the page's Stop ended the session: ssh exited ($PH_EXIT_STATUS)"
echo ssh-exited >&3
browser_wait 'done'
_ph_wait_exit "$node_pid" 30 || ph_fail "the browser test did not exit"
[ "$PH_EXIT_STATUS" -eq 0 ] ||
    ph_fail "the browser test failed ($PH_EXIT_STATUS)" \
	"$(_ph_tail "$PH_TMP/node.err")"
exec 3>&-
# What the browser saw, for the log.
sed 's/^/# /' "$PH_TMP/node.err"
if ph_ctl address show "$addr" >/dev/null 2>&1; then
	ph_fail "the page deleted $addr, but the store still has it"
fi
ph_pass "the session and endpoint left the page; the page deleted $addr"
grep -q "an account's key sees no administrator's pages" "$PH_TMP/node.err" ||
    ph_fail "the browser did not log in with alice's key"
ph_pass "alice's key logs in without the administrator's pages"
