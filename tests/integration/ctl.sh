#!/bin/bash
# portholectl through the real binary: init, accounts, keys, the live
# listings on a fresh store, and the exit statuses of errors (1) and
# usage errors (2). No portholed is started.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup

# ph_ctl runs portholectl on the daemon's configuration, $PH_CONF, which
# holds "StateDirectory $PH_TMP/state": it must find the store there.
state=$PH_TMP/state
out=$PH_TMP/ctl.out
err=$PH_TMP/ctl.err

# run ARG...: portholectl on $PH_CONF; stdout in $out, stderr in $err,
# exit status in $rc.
run() {
	rc=0
	ph_ctl "$@" >"$out" 2>"$err" || rc=$?
}

# expect STATUS ARG...: run and require exit status STATUS. An error
# (status 1 or 2) must say why on stderr, prefixed, and print nothing on
# stdout; status 2 also prints the usage. Success is silent on stderr.
expect() {
	want=$1
	shift
	run "$@"
	[ "$rc" -eq "$want" ] ||
		ph_fail "portholectl $*: exit $rc, want $want; stderr: $(cat "$err")"
	if [ "$want" -eq 0 ] && [ -s "$err" ]; then
		ph_fail "portholectl $*: wrote stderr: $(cat "$err")"
	fi
	if [ "$want" -ne 0 ]; then
		[ -s "$out" ] && ph_fail "portholectl $*: failed but wrote stdout"
		grep -q '^portholectl: ' "$err" ||
			ph_fail "portholectl $*: no 'portholectl:' message on stderr"
	fi
	if [ "$want" -eq 2 ]; then
		grep -q '^usage: portholectl' "$err" ||
			ph_fail "portholectl $*: no usage on stderr"
	fi
	return 0
}

# out_has / out_lacks / err_has PATTERN (grep -E).
out_has() {
	grep -Eq -e "$1" "$out" || ph_fail "stdout lacks /$1/: $(cat "$out")"
}
out_lacks() {
	if grep -Eq -e "$1" "$out"; then
		ph_fail "stdout has /$1/: $(cat "$out")"
	fi
}
err_has() {
	grep -Eq -e "$1" "$err" || ph_fail "stderr lacks /$1/: $(cat "$err")"
}

# out_lines N: stdout has exactly N lines.
out_lines() {
	n=$(wc -l <"$out")
	[ "$n" -eq "$1" ] || ph_fail "stdout has $n lines, want $1: $(cat "$out")"
}

# out_json N: stdout is N lines of JSON objects (JSON Lines).
out_json() {
	out_lines "$1"
	if command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool --json-lines "$out" >/dev/null ||
			ph_fail "stdout is not JSON Lines: $(cat "$out")"
	elif grep -qv '^{".*}$' "$out"; then
		ph_fail "stdout is not JSON Lines: $(cat "$out")"
	fi
}

# re TEXT: TEXT as a grep -E pattern matching just itself (fingerprints
# hold '+' and '/').
re() {
	printf '%s\n' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'
}

# fp FILE.pub: the fingerprint as ssh-keygen prints it.
fp() {
	ssh-keygen -lf "$1" | awk '{ print $2 }'
}

## Nothing works before init, and nothing is created by trying.
expect 1 account list
err_has "run 'portholectl init'"
[ -e "$state" ] && ph_fail "account list created $state"

## init creates the directory (0700) and the database; again, nothing.
expect 0 init
out_has "^created directory $(re "$state")\$"
out_has "^created database $(re "$state/porthole.db") "
[ -d "$state" ] || ph_fail "init did not create $state"
mode=$(stat -c %a "$state")
[ "$mode" = 700 ] || ph_fail "$state has mode $mode, want 700"
[ -f "$state/porthole.db" ] || ph_fail "init did not create the database"
expect 0 init
out_lacks 'created'
out_has "$(re "$state/porthole.db")"
expect 0 --json init
out_json 1
out_has '"database_created": *false'
out_has '"schema_version": *[1-9]'
ph_pass 'init creates the state directory and store, then changes nothing'

## Accounts.
expect 0 account add alice
out_lines 1
out_has 'alice'
alice_id=$(grep -Eo 'ac_[A-Za-z0-9]+' "$out")
[ -n "$alice_id" ] || ph_fail "account add printed no id: $(cat "$out")"
expect 0 account add bob --json
out_json 1
out_has '"name": *"bob"'
out_has '"id": *"ac_[A-Za-z0-9]+"'
out_has '"disabled": *false'
out_has '"created_at": *"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"'
expect 0 --json account add carol
out_json 1
out_has '"name": *"carol"'

expect 1 account add alice
err_has "account 'alice' already exists"
expect 1 account add 'bad name'
err_has 'invalid account name'
expect 1 account add -leading-dash
err_has 'invalid account name'

# A second init keeps what is there.
expect 0 init
expect 0 account list
out_lines 4
out_has '^ID +NAME '
out_has "^$alice_id +alice +0 +active +[0-9]{4}-"
out_has ' bob '
out_has ' carol '
out_lacks 'bad name'
expect 0 account list --json
out_json 3
out_has "\"id\": *\"$alice_id\", *\"name\": *\"alice\""
expect 0 --json account list
out_json 3
ph_pass 'account add and list'

## Keys.
ph_keygen k1
ph_keygen k2
ph_keygen k3
ph_keygen k4
ph_keygen k5
fp1=$(fp "$PH_TMP/k1.pub")
fp2=$(fp "$PH_TMP/k2.pub")
fp3=$(fp "$PH_TMP/k3.pub")
fp4=$(fp "$PH_TMP/k4.pub")
fp5=$(fp "$PH_TMP/k5.pub")
case $fp1 in SHA256:?*) ;; *) ph_fail "ssh-keygen -lf gave '$fp1'" ;; esac

# From key text: exactly the fingerprint ssh-keygen -lf prints.
expect 0 key add alice "$(cat "$PH_TMP/k1.pub")"
out_lines 1
[ "$(cat "$out")" = "$fp1" ] ||
	ph_fail "key add (text) printed $(cat "$out"), want $fp1"

# From a file.
expect 0 key add alice "$PH_TMP/k2.pub"
[ "$(cat "$out")" = "$fp2" ] ||
	ph_fail "key add (file) printed $(cat "$out"), want $fp2"

# From stdin: two keys among comments and blank lines, two fingerprints.
{
	echo '# bob laptop and phone'
	echo
	cat "$PH_TMP/k3.pub"
	echo '   '
	cat "$PH_TMP/k4.pub"
} >"$PH_TMP/two.pub"
rc=0
ph_ctl key add bob - <"$PH_TMP/two.pub" >"$out" 2>"$err" || rc=$?
[ "$rc" -eq 0 ] || ph_fail "key add bob -: exit $rc: $(cat "$err")"
[ "$(cat "$out")" = "$(printf '%s\n%s' "$fp3" "$fp4")" ] ||
	ph_fail "key add (stdin) printed $(cat "$out"), want $fp3 and $fp4"

# A file with a new key and a registered one adds neither.
cat "$PH_TMP/k5.pub" "$PH_TMP/k1.pub" >"$PH_TMP/dup.pub"
expect 1 key add carol "$PH_TMP/dup.pub"
err_has "key $(re "$fp1") is already registered to account alice"
expect 0 key list carol --json
out_lines 0
expect 0 key list
out_lacks "$(re "$fp5")"

expect 0 key list alice
out_lines 3
out_has '^FINGERPRINT +TYPE +ACCOUNT'
out_has "^$(re "$fp1") .* alice "
out_has "^$(re "$fp2") .* alice "
out_lacks "$(re "$fp3")"
expect 0 key list bob --json
out_json 2
out_has "\"fingerprint\": *\"$(re "$fp3")\""
out_has "\"fingerprint\": *\"$(re "$fp4")\""
out_has '"account": *"bob"'
out_lacks '"account": *"alice"'
expect 0 key list "$alice_id"
out_lines 3
expect 0 key list
out_lines 5
for f in "$fp1" "$fp2" "$fp3" "$fp4"; do
	out_has "^$(re "$f") "
done
expect 0 --json key list
out_json 4
expect 0 --json account list
out_has '"name": *"alice",.*"keys": *2'
ph_pass 'key add from text, file and stdin; key list'

# Refusals.
expect 1 key add bob "$PH_TMP/k1.pub"
err_has "key $(re "$fp1") is already registered to account alice"
expect 1 key add bob "$(cat "$PH_TMP/k2.pub")"
err_has "key $(re "$fp2") is already registered to account alice"
expect 1 key add nosuch "$PH_TMP/k5.pub"
err_has "no such account 'nosuch'"
expect 1 key list nosuch
err_has "no such account 'nosuch'"
expect 1 key add carol "$PH_TMP/missing.pub"
err_has 'missing.pub'
expect 1 key add carol 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x'
err_has 'invalid key'
: >"$PH_TMP/empty.pub"
expect 1 key add carol "$PH_TMP/empty.pub"
err_has 'no keys found'
# A private key is refused without echoing any of it.
expect 1 key add carol "$PH_TMP/k5"
err_has 'private key'
secret=$(sed -n 2p "$PH_TMP/k5")
[ -n "$secret" ] || ph_fail "cannot read the private key body"
if grep -qF -e "$secret" "$err"; then
	ph_fail "key add echoed the private key"
fi
expect 0 key list carol
out_lines 1
ph_pass 'key add refuses duplicates, unknown accounts, bad and private keys'

# Delete, then the account's list is empty.
expect 0 key delete "$fp1"
out_has "$(re "$fp1")"
expect 0 key delete "$fp2"
expect 0 key list alice
out_lines 1
out_lacks 'SHA256:'
expect 0 key list alice --json
out_lines 0
expect 1 key delete "$fp1"
err_has "no such key '$(re "$fp1")'"
# The key is free to register again.
expect 0 key add carol "$PH_TMP/k1.pub"
[ "$(cat "$out")" = "$fp1" ] ||
	ph_fail "re-adding $fp1 printed $(cat "$out")"
ph_pass 'key delete'

## Live listings on a fresh store: a header, or no JSON lines.
expect 0 endpoint list
out_lines 1
out_has '^ID +URL +ACCOUNT +SESSION'
expect 0 endpoint list --json
out_lines 0
expect 0 --json endpoint list
out_lines 0
expect 0 session list
out_lines 1
out_has '^ID +ACCOUNT +CLIENT +PID +STARTED'
expect 0 session list --json
out_lines 0
ph_pass 'endpoint list and session list on a fresh store'

## Usage errors exit 2; help does not.
expect 2
expect 2 frobnicate
err_has "unknown command 'frobnicate'"
expect 2 account
expect 2 account frob
expect 2 account add
expect 2 account list extra
expect 2 key
expect 2 key add
expect 2 key add alice
expect 2 key delete
expect 2 key list alice extra
expect 2 endpoint
expect 2 session list extra
expect 2 -Z account list
expect 2 -f
expect 0 help
out_has '^usage: portholectl'
out_has 'key add ACCOUNT'
expect 0 -h
out_has '^usage: portholectl'
ph_pass 'usage errors exit 2, help exits 0'

## Configuration: -o wins over the file; -f must exist.
expect 1 -o "StateDirectory=$PH_TMP/elsewhere" account list
err_has "$PH_TMP/elsewhere/porthole.db does not exist"
rc=0
"$CTL" -f "$PH_TMP/missing.conf" account list >"$out" 2>"$err" || rc=$?
[ "$rc" -eq 1 ] || ph_fail "-f missing.conf: exit $rc, want 1"
grep -q 'missing.conf' "$err" || ph_fail "-f missing.conf: $(cat "$err")"
expect 1 -o 'NoSuchKeyword=1' account list
err_has 'NoSuchKeyword'
ph_pass '-o overrides the configuration file; -f must exist'
