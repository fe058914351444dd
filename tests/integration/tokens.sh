#!/bin/bash
# Authtokens through the real ssh client: as the user name (CI jobs with
# no key), as the password, as the keyboard-interactive answer; revoked
# and wrong tokens refused; the token never appears in logs or listings;
# a CI-style login with the host key pinned from `portholectl hostkey`;
# `token revoke` and `key delete` end the live sessions that used them.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen

ph_user ci
ph_start_server
ph_listen echo echo
backend=$PH_LAST_PORT

token=$(ph_ctl token create ci --description "pipeline") ||
    ph_fail "token create failed"
case $token in ph_*) ;; *) ph_fail "token create printed '$token'" ;; esac

# No key at all: only the token.
PH_SSH_OPTS=(-o PubkeyAuthentication=no)

# expect_login NAME SSH-ARGS...: a session with one forward that echoes.
expect_login() {
	local name=$1

	shift
	ph_ssh_bg "$name" -R "0:127.0.0.1:$backend" "$@" tcp
	ph_wait_for "$PH_TMP/$name.out" "^Forwarding  tcp://" 15 "$PH_LAST_PID"
	grep -q "^Account     ci\$" "$PH_TMP/$name.out" ||
	    ph_fail "$name: not logged in as ci"
	got=$("$TNET" echo "127.0.0.1:$(ph_tunnel_port "$PH_TMP/$name.out")" \
	    1000) || ph_fail "$name: echo failed"
	kill "$PH_LAST_PID"
	ph_wait_gone "$PH_LAST_PID"
}

# --- the token as the user name ------------------------------------------------
ph_ssh_bg asuser -R "0:127.0.0.1:$backend" "$token@127.0.0.1" tcp
asuser_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/asuser.out" "^Forwarding  tcp://" 15 "$asuser_pid"
grep -q "^Account     ci\$" "$PH_TMP/asuser.out" || ph_fail "not account ci"
ph_ctl --json session list >"$PH_TMP/sessions.json"
grep -q '"user":"ph_\[REDACTED\]"' "$PH_TMP/sessions.json" ||
    ph_fail "the user name is not redacted: $(cat "$PH_TMP/sessions.json")"
kill "$asuser_pid"
ph_wait_gone "$asuser_pid"
ph_pass "token as the SSH user name logs in; listings show it redacted"

# --- the token as the password and as the keyboard-interactive answer ----------
printf '#!/bin/sh\nprintf "%%s\\n" "%s"\n' "$token" >"$PH_TMP/askpass"
chmod 700 "$PH_TMP/askpass"
export SSH_ASKPASS="$PH_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none
PH_SSH_OPTS=(-o PubkeyAuthentication=no -o BatchMode=no
    -o PreferredAuthentications=password)
expect_login password ci@127.0.0.1
ph_pass "token as the password logs in"
PH_SSH_OPTS=(-o PubkeyAuthentication=no -o BatchMode=no
    -o PreferredAuthentications=keyboard-interactive)
expect_login kbdint ci@127.0.0.1
ph_pass "token as the keyboard-interactive answer logs in"

# --- wrong and revoked tokens ---------------------------------------------------
printf '#!/bin/sh\necho ph_0000000000000000000000000000000000000000\n' \
    >"$PH_TMP/askpass"
PH_SSH_OPTS=(-o PubkeyAuthentication=no -o BatchMode=no
    -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1)
rc=0
ph_ssh -N ci@127.0.0.1 </dev/null 2>"$PH_TMP/wrong.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a wrong token logged in ($rc)"
grep -q "Permission denied" "$PH_TMP/wrong.err" ||
    ph_fail "wrong token: $(cat "$PH_TMP/wrong.err")"

id=$(ph_ctl --json token list ci | sed -n 's/.*"id":"\(tk_[^"]*\)".*/\1/p')
[ -n "$id" ] || ph_fail "token list has no id"
ph_ctl --json token list | grep -q '"last_used_at":"2' ||
    ph_fail "token list does not show the last use"
ph_ctl token revoke "$id" >/dev/null || ph_fail "token revoke"
PH_SSH_OPTS=(-o PubkeyAuthentication=no)
rc=0
ph_ssh -N "$token@127.0.0.1" </dev/null 2>"$PH_TMP/revoked.err" || rc=$?
[ "$rc" -eq 255 ] || ph_fail "a revoked token logged in ($rc)"
ph_pass "wrong and revoked tokens are refused"

# --- the token is never written down ---------------------------------------------
if grep -rqF "$token" "$PH_LOG" "$PH_TMP/state"; then
	ph_fail "the token appears in the log or the state directory"
fi
if ph_ctl --json token list | grep -qF "$token"; then
	ph_fail "token list shows the token"
fi
ph_pass "the token is in no log, listing or file of the server"

# --- CI: a fresh token as the user name, host key pinned -----------------------
token2=$(ph_ctl token create ci) || ph_fail "second token"
# What a CI job is given: known_hosts lines for the server.
ph_stop_server
ph_start_server -o "ListenAddress=127.0.0.1:$PH_PORT"
ph_ctl -o "ListenAddress=127.0.0.1:$PH_PORT" hostkey >"$PH_TMP/pinned" ||
    ph_fail "portholectl hostkey"
grep -q "^\[127\.0\.0\.1\]:$PH_PORT ssh-ed25519 " "$PH_TMP/pinned" ||
    ph_fail "hostkey printed: $(cat "$PH_TMP/pinned")"
PH_SSH_OPTS=(-o PubkeyAuthentication=no -o StrictHostKeyChecking=yes
    -o "UserKnownHostsFile=$PH_TMP/pinned")
ph_ssh_bg ci -N -o ExitOnForwardFailure=yes -R "0:127.0.0.1:$backend" \
    "$token2@127.0.0.1"
ph_wait_tunnel ci
got=$("$TNET" echo "127.0.0.1:$PH_TUNNEL_PORT" 1000) || ph_fail "CI echo"
ph_pass "CI login: token as user name, host key pinned with hostkey"

# --- token revoke and key delete end the sessions that logged in with them ------
# has_endpoint PORT: portholectl endpoint list shows a live endpoint on PORT.
has_endpoint() {
	ph_ctl --json endpoint list | grep -Eq "\"port\": *$1[,}]"
}

# ends NAME PID PORT REASON: the client was told REASON and exited 1; its
# endpoint is gone from the listing and its port closed.
ends() {
	ph_wait_gone "$2"
	[ "$PH_EXIT_STATUS" -eq 1 ] || ph_fail "$1: exit $PH_EXIT_STATUS, want 1"
	grep -q "porthole: session ended by the server's administrator: $4" \
	    "$PH_TMP/$1.err" || ph_fail "$1 not told: $(cat "$PH_TMP/$1.err")"
	if has_endpoint "$3"; then
		ph_fail "$1: endpoint on port $3 still listed"
	fi
	"$TNET" refused "127.0.0.1:$3" || ph_fail "$1: port $3 still open"
}

read -r ci_pid <"$PH_TMP/ci.pid"
token3=$(ph_ctl token create ci --description "live") || ph_fail "token 3"
tid3=$(ph_ctl --json token list ci |
    sed -n 's/.*"id":"\(tk_[^"]*\)".*"description":"live".*/\1/p')
[ -n "$tid3" ] || ph_fail "no id for token 3"
PH_SSH_OPTS=(-o PubkeyAuthentication=no)
ph_ssh_bg bytoken -R "0:127.0.0.1:$backend" "$token3@127.0.0.1" tcp
tok_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/bytoken.out" "^Forwarding  tcp://" 15 "$tok_pid"
tok_port=$(ph_tunnel_port "$PH_TMP/bytoken.out")
PH_SSH_OPTS=()
ph_ssh_bg bykey -i "$PH_TMP/ci" -R "0:127.0.0.1:$backend" ci@127.0.0.1 tcp
key_pid=$PH_LAST_PID
ph_wait_for "$PH_TMP/bykey.out" "^Forwarding  tcp://" 15 "$key_pid"
key_port=$(ph_tunnel_port "$PH_TMP/bykey.out")
has_endpoint "$tok_port" || ph_fail "no endpoint listed on port $tok_port"
has_endpoint "$key_port" || ph_fail "no endpoint listed on port $key_port"

ph_ctl token revoke "$tid3" >"$PH_TMP/revoke.out" || ph_fail "token revoke"
grep -q "^revoked token $tid3 of account ci; ended 1 session\$" \
    "$PH_TMP/revoke.out" || ph_fail "revoke said: $(cat "$PH_TMP/revoke.out")"
ends bytoken "$tok_pid" "$tok_port" "token revoked"
# The account's sessions by key and by another token go on.
_ph_alive "$key_pid" || ph_fail "the key's session ended with the token"
_ph_alive "$ci_pid" || ph_fail "another token's session ended with it"
has_endpoint "$key_port" || ph_fail "the key's endpoint went with the token"
"$TNET" echo "127.0.0.1:$key_port" 1000 >/dev/null ||
    ph_fail "the key's session no longer relays"
ph_pass "token revoke ends the live session that logged in with the token"

fp=$(ssh-keygen -l -E sha256 -f "$PH_TMP/ci.pub" | awk '{ print $2 }')
ph_ctl key delete "$fp" >"$PH_TMP/keydel.out" || ph_fail "key delete"
grep -q "^deleted key $fp from account ci; ended 1 session\$" \
    "$PH_TMP/keydel.out" || ph_fail "key delete said: $(cat "$PH_TMP/keydel.out")"
ends bykey "$key_pid" "$key_port" "key deleted"
ph_pass "key delete ends the live session that logged in with the key"
