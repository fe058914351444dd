#!/bin/bash
# portholectl through the real binary: init, accounts, keys, tokens,
# reserved addresses, IP policies and PROXY settings, host keys, the live
# listings on a fresh store, and the exit statuses of errors (1) and
# usage errors (2). No portholed is started: live sessions (session kill,
# disable and delete ending them) are tested through the real ssh client
# in accounts.sh; here, stand-in processes show who gets signalled.

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

## events and metrics on a fresh store.
expect 0 events
out_lines 0
expect 0 --json events
out_lines 0
expect 0 metrics
# The text exposition format, as node_exporter's textfile collector reads
# it: samples "name{labels} value", each family after its HELP and TYPE.
grep -vE '^#' "$out" | grep -vE '^[a-z_]+(\{[^}]*\})? [0-9]+$' &&
	ph_fail "metrics: lines not in the exposition format"
grep -E '^#' "$out" |
	grep -vE '^# (HELP [a-z_]+ [^ ].*|TYPE [a-z_]+ (gauge|counter))$' &&
	ph_fail "metrics: bad HELP or TYPE lines"
awk '
	/^# HELP / { help[$3]++; next }
	/^# TYPE / { if (!($3 in help) || ($3 in type)) bad = bad " " $3
		type[$3] = $4; next }
	{ name = $1; sub(/\{.*/, "", name)
	  if (!(name in type)) bad = bad " " name }
	END { for (n in help) if (help[n] != 1) bad = bad " " n
	      if (bad != "") { print "families:" bad; exit 1 } }' "$out" ||
	ph_fail "metrics: HELP, TYPE and samples out of order: $(cat "$out")"
for g in porthole_sessions porthole_endpoints porthole_connections_open; do
	out_has "^# HELP $g [A-Z]"
	out_has "^# TYPE $g gauge\$"
	out_has "^$g 0\$"
done
for c in porthole_connections_total porthole_bytes_in_total \
	porthole_bytes_out_total porthole_auth_failures_total \
	porthole_sessions_total; do
	out_has "^# TYPE $c counter\$"
	out_has "^$c 0\$"
done
for c in porthole_forwards_refused_total porthole_connections_refused_total; do
	out_has "^# HELP $c [A-Z]"
	out_has "^# TYPE $c counter\$"
	out_lacks "^${c}[ {]"
done
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$out" || ph_fail "promtool check metrics"
fi
nsamples=$(grep -cv '^#' "$out")
expect 0 --json metrics
out_json "$nsamples"
out_has '^\{"name":"porthole_sessions","type":"gauge","labels":\{\},"value":0\}$'
out_has '^\{"name":"porthole_sessions_total","type":"counter","labels":\{\},"value":0\}$'
ph_pass 'events and metrics on a fresh store'

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
out_has '^ID +NAME +STATUS +KEYS +TOKENS +ADDRESSES +SESSIONS +IP-POLICY +CREATED +DESCRIPTION$'
out_has "^$alice_id +alice +active +0 +0 +0 +0 +- +[0-9]{4}-[^ ]+ +-\$"
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
out_has "^deleted key $(re "$fp1") from account alice; ended 0 sessions\$"
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

## account show and update: every field; 0 is the server's default.
expect 0 account show alice
out_lines 17
out_has "^ID +$alice_id\$"
out_has '^Name +alice$'
out_has '^Status +active$'
out_has '^Description +-$'
out_has '^Created +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
out_has '^Max sessions +default \(10\)$'
out_has '^Max endpoints +default \(16\)$'
out_has '^Keys +0$'
out_has '^Tokens +0$'
out_has '^Addresses +0$'
out_has '^Sessions +0$'
out_has '^IP policy +-$'
out_has '^Bandwidth +default \(none\)$'
out_has '^Transfer quota +default \(none\)$'
out_has '^Connection rate +default \(none\)$'
out_has '^Per source +default \(none\)$'
out_has '^Idle timeout +default \(none\)$'
expect 0 account show "$alice_id"
out_has '^Name +alice$'
expect 0 -o MaxSessionsPerAccount=7 -o MaxEndpointsPerSession=3 \
	account show alice
out_has '^Max sessions +default \(7\)$'
out_has '^Max endpoints +default \(3\)$'
expect 0 account show carol
out_has '^Keys +1$'

expect 0 account update alice --description 'CI runners' --max-sessions 3
out_lines 1
out_has '^updated account alice$'
expect 0 account show alice
out_has '^Description +CI runners$'
out_has '^Max sessions +3$'
out_has '^Max endpoints +default \(16\)$'
expect 0 account update alice --max-endpoints=5 --json
out_json 1
out_has '"description": *"CI runners"'
out_has '"max_sessions": *3,'
out_has '"max_endpoints": *5,'
out_has '"max_endpoints_effective": *5,'
expect 0 account update alice --max-sessions 0 --description ''
expect 0 account show alice --json
out_json 1
out_has '"description": *""'
out_has '"max_sessions": *0, *"max_sessions_effective": *10,'
out_has '"max_endpoints": *5,'
out_has '"keys": *0, *"tokens": *0, *"addresses": *0, *"sessions": *0'
out_has '"ip_policy": *null, *"ip_policy_id": *null'
# An option's value is taken as it is, even when it looks like an option.
expect 0 account update alice --description --json
out_has '^updated account alice$'
expect 0 account show alice
out_has '^Description +--json$'
expect 0 account add dave --description 'on call'
out_has '^created account dave \(ac_[A-Za-z0-9]+\)$'
expect 0 account list
out_has ' dave +active .* on call$'

expect 2 account update alice
err_has 'nothing to change'
expect 2 account update alice --max-sessions -1
err_has "--max-sessions: bad value '-1'"
expect 2 account update alice --max-sessions 100001
expect 2 account update alice --max-endpoints many
expect 2 account update alice --max-sessions
err_has '--max-sessions needs a value'
expect 2 account update alice --metadata x
err_has "unexpected '--metadata'"
expect 2 account add erin --description "$(printf '%0256d' 0)"
err_has 'longer than 255 bytes'
expect 2 account add erin --frob
expect 1 account show nosuch
err_has "no such account 'nosuch'"
expect 1 account update nosuch --max-sessions 1
err_has "no such account 'nosuch'"
ph_pass 'account show and update'

## disable and enable (ending live sessions is tested in accounts.sh).
expect 0 account disable bob
out_lines 1
out_has '^disabled account bob; ended 0 sessions$'
expect 0 account list
out_has ' bob +disabled '
expect 0 --json account show bob
out_has '"disabled": *true'
expect 0 account disable bob --json
out_json 1
out_has '"name": *"bob", *"disabled": *true,.*"sessions_ended": *0'
expect 0 account enable bob
out_has '^enabled account bob$'
expect 0 account show bob
out_has '^Status +active$'
expect 1 account disable nosuch
err_has "no such account 'nosuch'"
expect 1 account enable nosuch
ph_pass 'account disable and enable'

## Tokens: shown once on stdout, only a keyed hash kept.
# token_create ACCOUNT [ARG...]: token create; sets $tok (stdout) and
# $tid (from the note on stderr), and checks both.
token_create() {
	run token create "$@"
	[ "$rc" -eq 0 ] || ph_fail "token create $*: exit $rc: $(cat "$err")"
	out_lines 1
	tok=$(cat "$out")
	case $tok in
	ph_????????????????????????????????????????) ;;
	*) ph_fail "token create $* printed '$tok'" ;;
	esac
	[ "$(wc -l <"$err")" -eq 1 ] || ph_fail "token create: $(cat "$err")"
	err_has "^portholectl: token tk_[A-Za-z0-9]+ for account $1: shown once, store it now\$"
	tid=$(grep -Eo 'tk_[A-Za-z0-9]+' "$err")
	if grep -qF -e "$tok" "$err"; then
		ph_fail "token create wrote the token on stderr"
	fi
}
token_create carol --description 'deploy job'
tok1=$tok
tid1=$tid
token_create carol
tok2=$tok
tid2=$tid
[ "$tok1" != "$tok2" ] || ph_fail "two token creates gave the same token"
[ "$tid1" != "$tid2" ] || ph_fail "two token creates gave the same id"
# The token key is made on first use, readable by its owner alone.
[ -f "$state/token.key" ] || ph_fail "no token key in $state"
mode=$(stat -c %a "$state/token.key")
[ "$mode" = 600 ] || ph_fail "token.key has mode $mode, want 600"
# The way a script takes it.
T=$(ph_ctl token create bob 2>/dev/null) || ph_fail "T=\$(token create bob)"
case $T in ph_*) ;; *) ph_fail "T=\$(token create bob) gave '$T'" ;; esac
run --json token create carol --description ci
[ "$rc" -eq 0 ] || ph_fail "--json token create: exit $rc: $(cat "$err")"
out_json 1
out_has '^\{"id": *"tk_[A-Za-z0-9]+", *"token": *"ph_[A-Za-z0-9]{40}", *"account": *"carol",'
out_has '"description": *"ci"'
out_has '"created_at": *"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"'
tok3=$(sed -E 's/.*"token": *"(ph_[A-Za-z0-9]+)".*/\1/' "$out")

expect 0 token list
out_lines 5
out_has '^ID +ACCOUNT +CREATED +LAST-USED +DESCRIPTION$'
out_has "^$tid1 +carol +[0-9]{4}-[^ ]+ +- +deploy job\$"
out_has "^$tid2 +carol +[0-9]{4}-[^ ]+ +- +-\$"
expect 0 token list carol --json
out_json 3
out_has "\"id\": *\"$tid1\", *\"account\": *\"carol\""
out_has '"last_used_at": *null'
expect 0 token list bob
out_lines 2
expect 0 token list alice
out_lines 1
# No listing holds a token, nor does the database.
for t in "$tok1" "$tok2" "$tok3" "$T"; do
	for args in 'token list' '--json token list' 'account list' \
		'--json account list'; do
		# shellcheck disable=SC2086 # the words of a command
		ph_ctl $args >"$out" 2>&1 || ph_fail "$args failed"
		if grep -qF -e "$t" "$out"; then
			ph_fail "$args shows a token"
		fi
		if grep -qF -e "${t#ph_}" "$out"; then
			ph_fail "$args shows the random part of a token"
		fi
	done
	if cat "$state"/porthole.db* | grep -qaF -e "${t#ph_}"; then
		ph_fail "the database holds a token's text"
	fi
done
expect 0 account show carol
out_has '^Tokens +3$'

expect 0 token revoke "$tid1"
out_has "^revoked token $tid1 of account carol; ended 0 sessions\$"
expect 0 token list carol
out_lines 3
out_lacks "$tid1"
expect 1 token revoke "$tid1"
err_has "no such token '$tid1'"
expect 1 token revoke tk_nosuch
err_has "no such token 'tk_nosuch'"
expect 0 --json token revoke "$tid2"
out_json 1
out_has "\"id\": *\"$tid2\""
out_has '"revoked_at": *"[0-9]{4}-'
out_has '"sessions_ended": *0'
expect 1 token create nosuch
err_has "no such account 'nosuch'"
expect 1 token list nosuch
err_has "no such account 'nosuch'"
ph_pass 'token create, list and revoke; no token is ever shown again'

## API keys: an account's or an administrator's, shown once like tokens.
# apikey_create WHO [ARG...]: api-key create ARG...; sets $key (stdout)
# and $kid (from the note on stderr, which names WHO), and checks both.
apikey_create() {
	who=$1
	shift
	run api-key create "$@"
	[ "$rc" -eq 0 ] || ph_fail "api-key create $*: exit $rc: $(cat "$err")"
	out_lines 1
	key=$(cat "$out")
	case $key in
	phk_????????????????????????????????????????) ;;
	*) ph_fail "api-key create $* printed '$key'" ;;
	esac
	[ "$(wc -l <"$err")" -eq 1 ] || ph_fail "api-key create: $(cat "$err")"
	err_has "^portholectl: API key ak_[A-Za-z0-9]+ $who: shown once, store it now\$"
	kid=$(grep -Eo 'ak_[A-Za-z0-9]+' "$err")
	if grep -qF -e "${key#phk_}" "$err"; then
		ph_fail "api-key create wrote the key on stderr"
	fi
}
apikey_create '\(admin\)' --description 'ops dashboard'
key1=$key
kid1=$kid
apikey_create 'for account carol' --account carol
key2=$key
kid2=$kid
[ "$key1" != "$key2" ] || ph_fail "two api-key creates gave the same key"
run --json api-key create --description ci --account bob
[ "$rc" -eq 0 ] || ph_fail "--json api-key create: exit $rc: $(cat "$err")"
out_json 1
out_has '"id": *"ak_[A-Za-z0-9]+"'
out_has '"key": *"phk_[A-Za-z0-9]{40}"'
out_has '"account": *"bob"'
out_has '"admin": *false'
out_has '"description": *"ci"'
key3=$(sed -E 's/.*"key": *"(phk_[A-Za-z0-9]+)".*/\1/' "$out")
kid3=$(sed -E 's/.*"id": *"(ak_[A-Za-z0-9]+)".*/\1/' "$out")
# A key is never taken for an authtoken.
case $key1 in ph_*) ph_fail "API key $key1 looks like a token" ;; esac

expect 0 api-key list
out_lines 4
out_has '^ID +ACCOUNT +DESCRIPTION +CREATED +LAST-USED +REVOKED$'
# The administrators' first, then by account name.
sed -n 2p "$out" | grep -Eq "^$kid1 +\(admin\) +ops dashboard +[0-9]{4}-[^ ]+ +- +-\$" ||
	ph_fail "api-key list: admin key not first: $(cat "$out")"
sed -n 3p "$out" | grep -Eq "^$kid3 +bob +ci " ||
	ph_fail "api-key list: bob's key not second: $(cat "$out")"
out_has "^$kid2 +carol +- +[0-9]{4}-[^ ]+ +- +-\$"
expect 0 api-key list carol
out_lines 2
out_has "^$kid2 "
expect 0 --json api-key list
out_json 3
out_has "\"id\": *\"$kid1\", *\"account\": *null, *\"account_id\": *null, *\"admin\": *true"
out_has '"revoked_at": *null'
# No listing holds a key, nor does the database.
for k in "$key1" "$key2" "$key3"; do
	for args in 'api-key list' '--json api-key list' 'token list' \
		'--json account list'; do
		# shellcheck disable=SC2086 # the words of a command
		ph_ctl $args >"$out" 2>&1 || ph_fail "$args failed"
		if grep -qF -e "${k#phk_}" "$out"; then
			ph_fail "$args shows an API key"
		fi
	done
	if cat "$state"/porthole.db* | grep -qaF -e "${k#phk_}"; then
		ph_fail "the database holds an API key's text"
	fi
done

expect 0 api-key revoke "$kid1"
out_has "^revoked API key $kid1 \(admin\)\$"
expect 0 api-key revoke "$kid2"
out_has "^revoked API key $kid2 of account carol\$"
# A revoked key stays listed, with its time.
expect 0 api-key list
out_lines 4
out_has "^$kid1 +\(admin\) +ops dashboard +[0-9]{4}-[^ ]+ +- +[0-9]{4}-[^ ]+\$"
expect 1 api-key revoke "$kid1"
err_has "API key $kid1: already revoked"
expect 1 api-key revoke ak_nosuch
err_has "no such API key 'ak_nosuch'"
expect 0 --json api-key revoke "$kid3"
out_json 1
out_has "\"id\": *\"$kid3\""
out_has '"revoked_at": *"[0-9]{4}-'
expect 1 api-key create --account nosuch
err_has "no such account 'nosuch'"
expect 1 api-key list nosuch
err_has "no such account 'nosuch'"
expect 2 api-key
expect 2 api-key create carol
expect 2 api-key create --account
expect 2 api-key create --host a.example
expect 2 api-key revoke
expect 2 api-key revoke a b
expect 2 api-key list carol extra
ph_pass 'api-key create, list and revoke; no key is ever shown again'

## Ending sessions signals their portholed processes, and no other.
# Without portholed: session rows are written straight into the store
# for two stand-in processes, a copy of sleep named "portholed" and a
# plain sleep (as if a session's pid had been reused). SIGUSR1 ends a
# sleep, so whether a process was signalled shows in whether it lives.
if command -v sqlite3 >/dev/null 2>&1; then
	cp "$(command -v sleep)" "$PH_TMP/portholed" ||
		ph_fail "cannot copy sleep"
	ph_bg fakeA "$PH_TMP/portholed" 300
	pid_a=$PH_LAST_PID
	ph_bg fakeB sleep 300
	pid_b=$PH_LAST_PID
	sleep 0.2
	_ph_alive "$pid_a" || ph_fail "the stand-in portholed did not start"
	[ "$(cat "/proc/$pid_a/comm")" = portholed ] ||
		ph_fail "stand-in is named $(cat "/proc/$pid_a/comm")"
	expect 0 --json account show carol
	carol_id=$(grep -Eo '"id": *"ac_[A-Za-z0-9]+"' "$out" |
		grep -Eo 'ac_[A-Za-z0-9]+')
	now=$(date +%s%3N)
	# The schema as of version 2 (src/store.c).
	sqlite3 "$state/porthole.db" "
	    INSERT INTO sessions (id, account_id, pid, client_ip, client_port,
	        user, credential, started_ms)
	    VALUES ('ss_standinA', '$carol_id', $pid_a, '127.0.0.1', 40001,
	        'carol', 'key:x', $now),
	        ('ss_standinB', '$carol_id', $pid_b, '::1', 40002, 'carol',
	        'key:x', $now);" || ph_fail "cannot insert session rows"
	expect 0 session list carol
	out_lines 3
	out_has "^ss_standinA +carol +127\\.0\\.0\\.1:40001 +$pid_a "
	out_has "^ss_standinB +carol +\\[::1\\]:40002 +$pid_b "
	expect 0 account show carol
	out_has '^Sessions +2$'

	# Not expect: bash may report the stand-in's death on stderr.
	run session kill ss_standinA
	[ "$rc" -eq 0 ] || ph_fail "session kill: exit $rc: $(cat "$err")"
	if grep -q '^portholectl:' "$err"; then
		ph_fail "session kill: $(cat "$err")"
	fi
	out_has "^killed session ss_standinA of account carol \\(pid $pid_a\\)\$"
	ph_wait_gone "$pid_a" 10
	[ "$PH_EXIT_STATUS" -eq $((128 + 10)) ] ||
		ph_fail "stand-in portholed exited $PH_EXIT_STATUS, not by SIGUSR1"
	expect 1 session kill ss_standinA
	err_has 'session ss_standinA has already ended'
	expect 0 session list
	out_lines 2
	out_lacks 'ss_standinA'

	# Disabling ends the other session; its pid is not a portholed.
	expect 0 account disable carol
	out_has '^disabled account carol; ended 1 session$'
	sleep 0.2
	_ph_alive "$pid_b" || ph_fail "disable signalled a process not portholed"
	expect 0 session list --json
	out_lines 0
	expect 0 account enable carol
	ph_kill "$pid_b"
	ph_pass 'session kill and disable signal portholed, never another process'
else
	echo 'skip - no sqlite3: session kill of a stand-in process'
fi

## Reserved addresses on two PublicHosts.
hosts=(-o PublicHost=a.example -o PublicHost=b.example)
# port_of HOST:PORT
port_of() {
	printf '%s\n' "${1##*:}"
}
expect 0 "${hosts[@]}" address reserve alice
out_lines 1
out_has '^a\.example:[0-9]+$'
a1=$(cat "$out")
expect 0 "${hosts[@]}" address reserve alice --host B.Example \
	--description 'db' --metadata '{"team":"x"}'
out_has '^b\.example:[0-9]+$'
b1=$(cat "$out")
[ "$(port_of "$a1")" != "$(port_of "$b1")" ] ||
	ph_fail "two reservations share port $(port_of "$a1")"
expect 0 "${hosts[@]}" --json address reserve carol --host b.example
out_json 1
out_has '"id": *"ra_[A-Za-z0-9]+", *"hostport": *"b\.example:[0-9]+", *"url": *"tcp://b\.example:[0-9]+", *"host": *"b\.example", *"port": *[0-9]+,'
out_has '"account": *"carol"'
c1_id=$(grep -Eo 'ra_[A-Za-z0-9]+' "$out")
for a in "$a1" "$b1"; do
	p=$(port_of "$a")
	if [ "$p" -lt 10000 ] || [ "$p" -gt 59999 ]; then
		ph_fail "reserved port $p is outside PortRange"
	fi
done
expect 1 "${hosts[@]}" address reserve alice --host c.example
err_has "host 'c\.example' is not a PublicHost of this server; use one of: a\.example, b\.example"
expect 1 address reserve nosuch
err_has "no such account 'nosuch'"
# An IPv6 PublicHost is written in brackets.
expect 0 -o PublicHost=::1 address reserve dave
out_has '^\[::1\]:[0-9]+$'
v6=$(cat "$out")
expect 0 address show "$v6"
out_has "^Address +$(re "$v6")\$"
out_has "^URL +tcp://$(re "$v6")\$"

expect 0 address list
out_lines 5
out_has '^ID +ADDRESS +ACCOUNT +EDGE +ENDPOINT +NODE +REGION +PROXY +POOLING +IP-POLICY +CREATED +DESCRIPTION$'
out_has "^ra_[A-Za-z0-9]+ +$(re "$a1") +alice +- +- +- +- +- +- +- +[0-9]{4}-[^ ]+ +-\$"
out_has "^ra_[A-Za-z0-9]+ +$(re "$b1") +alice +- +- +- +- +- +- +- +[0-9]{4}-[^ ]+ +db\$"
expect 0 address list alice --json
out_json 2
out_has '"metadata": *"\{\\"team\\":\\"x\\"\}"'
out_has '"endpoint_id": *null, *"proxy_proto": *0, *"ip_policy": *null, *"ip_policy_id": *null,'
out_has '"account_id": *"ac_[A-Za-z0-9]+", *"edge_id": *null,'
b1_id=$(grep -F "\"$b1\"" "$out" | grep -Eo '"id": *"ra_[A-Za-z0-9]+"' |
	grep -Eo 'ra_[A-Za-z0-9]+')
[ -n "$b1_id" ] || ph_fail "no id for $b1 in $(cat "$out")"
expect 0 address list carol
out_lines 2
expect 1 address list nosuch
expect 0 account show alice
out_has '^Addresses +2$'

# show by id, by host:port, and with the host in another case.
expect 0 address show "$b1_id"
out_lines 14
out_has "^ID +$b1_id\$"
out_has "^Address +$(re "$b1")\$"
out_has '^Account +alice$'
out_has '^Edge +-$'
out_has '^Description +db$'
out_has '^Metadata +\{"team":"x"\}$'
out_has '^Endpoint +-$'
out_has '^PROXY protocol +none$'
out_has '^IP policy +-$'
expect 0 address show "$b1"
out_has "^ID +$b1_id\$"
expect 0 "${hosts[@]}" address show "B.EXAMPLE:$(port_of "$b1")"
out_has "^ID +$b1_id\$"
expect 0 --json address show "$b1"
out_json 1
out_has "\"id\": *\"$b1_id\""
expect 1 address show "a.example:1"
err_has "no such address 'a\.example:1'"
expect 1 address show garbage
err_has "'garbage' is not an address"
expect 1 address show ra_nosuch
err_has "no such address 'ra_nosuch'"

# update: only what is given changes.
expect 0 address update "$b1" --description 'primary db'
out_has "^updated address $(re "$b1") \\($b1_id\\)\$"
expect 0 address show "$b1_id"
out_has '^Description +primary db$'
out_has '^Metadata +\{"team":"x"\}$'
expect 0 address update "$b1_id" --metadata ''
expect 0 --json address show "$b1_id"
out_has '"description": *"primary db"'
out_has '"metadata": *""'
expect 0 address update "$b1_id" --pooling on
expect 0 address show "$b1_id"
out_has '^Pooling +on$'
expect 0 --json address show "$b1_id"
out_has '"pooling": *true'
expect 0 address update "$b1_id" --pooling off
expect 0 address show "$b1_id"
out_has '^Pooling +off$'
expect 2 address update "$b1_id" --pooling yes
err_has "--pooling: bad value 'yes': want on or off"
expect 2 address update "$b1_id"
err_has 'nothing to change'
expect 2 address update "$b1_id" --host a.example
expect 1 address update a.example:1 --description x

# delete: gone from the listings, and the address is free no more.
expect 0 address delete "$b1"
out_has "^deleted address $(re "$b1") \\($b1_id\\)\$"
expect 1 address show "$b1_id"
expect 1 address delete "$b1_id"
err_has "no such address '$b1_id'"
expect 0 address list alice
out_lines 2
out_lacks "$(re "$b1")"
expect 0 --json address delete "$c1_id"
out_json 1
out_has '"deleted_at": *"[0-9]{4}-'
ph_pass 'address reserve, list, show, update and delete'

## IP policies: create, list, show, rules, attach, detach, delete.
# policy_id: the ip_… id in stdout.
policy_id() {
	grep -Eo 'ip_[A-Za-z0-9]+' "$out" | head -n 1
}
expect 0 ip-policy create office --description 'office nets' \
	--allow 10.0.0.0/8 --allow 192.168.1.7 --deny 10.1.0.0/16 \
	--deny=2001:DB8::/32
out_lines 1
out_has '^created ip-policy office \(ip_[A-Za-z0-9]+\)$'
office_id=$(policy_id)
# Stored in canonical form, in the order given.
expect 0 --json ip-policy show office
out_json 1
out_has "^\\{\"id\": *\"$office_id\", *\"name\": *\"office\", *\"description\": *\"office nets\", *\"created_at\": *\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\","
out_has '"allow": *\["10\.0\.0\.0/8", *"192\.168\.1\.7/32"\], *"deny": *\["10\.1\.0\.0/16", *"2001:db8::/32"\]'
out_has '"accounts": *0, *"addresses": *0, *"edges": *0\}$'
expect 0 ip-policy create empty --json
out_json 1
out_has '"name": *"empty", *"description": *"",'
out_has '"allow": *\[\], *"deny": *\[\]'
expect 0 ip-policy create v6only --allow ::1 --allow 2001:db8:0:0::/64 \
	--deny ::/0
expect 0 ip-policy show v6only --json
out_has '"allow": *\["::1/128", *"2001:db8::/64"\], *"deny": *\["::/0"\]'

# Every CIDR is checked before anything is written: a usage error.
expect 2 ip-policy create bad --allow 10.0.0.300/8
err_has "--allow: invalid CIDR '10\\.0\\.0\\.300/8'"
expect 2 ip-policy create bad --deny nonsense
err_has "--deny: invalid CIDR 'nonsense': ."
expect 2 ip-policy create bad --allow 10.0.0.0/33
err_has "invalid CIDR '10\\.0\\.0\\.0/33'"
expect 2 ip-policy create bad --allow 2001:db8::/129
err_has "invalid CIDR '2001:db8::/129'"
expect 2 ip-policy create bad --allow 10.0.0.0/
expect 2 ip-policy create bad --allow ''
# Host bits set: refused with the network meant.
expect 2 ip-policy create bad --allow 10.0.0.0/8 --deny 10.0.0.1/8
err_has "--deny: invalid CIDR '10\\.0\\.0\\.1/8': .*10\\.0\\.0\\.0/8"
expect 2 ip-policy create bad --allow 2001:db8::1/32
err_has "invalid CIDR '2001:db8::1/32': .*2001:db8::/32"
# The same rule twice (in any spelling) creates nothing.
expect 1 ip-policy create bad --allow 2001:db8::/32 --allow 2001:DB8:0::/32
err_has '--allow 2001:db8::/32 given twice'
expect 2 ip-policy create bad --allow 10.0.0.0/8 --allow 10.0.0.0/08
expect 1 ip-policy create bad --deny 192.0.2.1 --deny 192.0.2.1/32
err_has '--deny 192\.0\.2\.1/32 given twice'
expect 1 ip-policy show bad
err_has "no such ip-policy 'bad'"
# An address both allowed and denied is allowed to say so: deny wins.
expect 0 ip-policy create both --allow 192.0.2.0/24 --deny 192.0.2.0/24
expect 0 ip-policy delete both
expect 1 ip-policy create office
err_has "ip-policy 'office' already exists"
expect 1 ip-policy create 'bad name'
err_has "invalid ip-policy name 'bad name'"
expect 1 ip-policy create -x
err_has 'invalid ip-policy name'
expect 1 ip-policy create none
err_has "invalid ip-policy name 'none'"
expect 2 ip-policy create bad --description "$(printf '%0256d' 0)"
err_has 'longer than 255 bytes'
expect 0 ip-policy list --json
out_json 3
out_lacks '"name": *"(bad|both)"'
ph_pass 'ip-policy create: canonical rules, all or nothing'

expect 0 ip-policy list
out_lines 4
out_has '^ID +NAME +ALLOW +DENY +ACCOUNTS +ADDRESSES +CREATED +DESCRIPTION$'
# By name.
sed -n 2p "$out" | grep -Eq ' empty ' || ph_fail "list order: $(cat "$out")"
sed -n 4p "$out" | grep -Eq ' v6only ' || ph_fail "list order: $(cat "$out")"
out_has "^$office_id +office +2 +2 +0 +0 +[0-9]{4}-[^ ]+ +office nets\$"
out_has '^ip_[A-Za-z0-9]+ +empty +0 +0 +0 +0 +[0-9]{4}-[^ ]+ +-$'
expect 0 --json ip-policy list
out_json 3

expect 0 ip-policy show office
out_lines 11
out_has "^ID +$office_id\$"
out_has '^Name +office$'
out_has '^Description +office nets$'
out_has '^Created +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
out_has '^Allow +10\.0\.0\.0/8$'
out_has '^ +192\.168\.1\.7/32$'
out_has '^Deny +10\.1\.0\.0/16$'
out_has '^ +2001:db8::/32$'
out_has '^Accounts +-$'
out_has '^Addresses +-$'
out_has '^Edges +0$'
expect 0 ip-policy show "$office_id"
out_has '^Name +office$'
expect 0 ip-policy show empty
out_lines 9
out_has '^Allow +-$'
out_has '^Deny +-$'
expect 1 ip-policy show nosuch
err_has "no such ip-policy 'nosuch'"
ph_pass 'ip-policy list and show'

## Rules.
expect 0 ip-policy rule add office allow 172.16.0.0/12
out_lines 1
out_has '^added rule allow 172\.16\.0\.0/12 to ip-policy office$'
expect 0 ip-policy rule add "$office_id" deny 10.1.2.3
out_has '^added rule deny 10\.1\.2\.3/32 to ip-policy office$'
expect 0 --json ip-policy rule add office deny 2001:DB8:1::/48
out_json 1
out_has '"allow": *\["10\.0\.0\.0/8", *"192\.168\.1\.7/32", *"172\.16\.0\.0/12"\]'
out_has '"deny": *\["10\.1\.0\.0/16", *"2001:db8::/32", *"10\.1\.2\.3/32", *"2001:db8:1::/48"\]'
# The same rule again, as written or in another spelling.
expect 1 ip-policy rule add office allow 172.16.0.0/12
err_has 'ip-policy office already has the rule allow 172\.16\.0\.0/12'
expect 1 ip-policy rule add office allow 192.168.1.7/32
err_has 'already has the rule allow 192\.168\.1\.7/32'
expect 1 ip-policy rule add office deny 2001:db8:1:0::/48
err_has 'already has the rule deny 2001:db8:1::/48'
# Allow and deny are separate rules.
expect 0 ip-policy rule add office allow 10.1.2.3/32
expect 2 ip-policy rule add office allow 172.16.0.1/12
err_has "invalid CIDR '172\\.16\\.0\\.1/12': .*172\\.16\\.0\\.0/12"
expect 2 ip-policy rule add office allow 300.1.1.1
err_has "invalid CIDR '300\\.1\\.1\\.1'"
expect 2 ip-policy rule delete office allow not-an-address
err_has "invalid CIDR 'not-an-address'"
expect 1 ip-policy rule add nosuch allow 10.0.0.0/8
err_has "no such ip-policy 'nosuch'"
expect 1 ip-policy rule delete nosuch allow 10.0.0.0/8

expect 0 ip-policy rule delete office allow 10.1.2.3
out_lines 1
out_has '^deleted rule allow 10\.1\.2\.3/32 from ip-policy office$'
expect 0 ip-policy rule delete office deny 2001:db8:1::/48 --json
out_json 1
out_has '"deny": *\["10\.1\.0\.0/16", *"2001:db8::/32", *"10\.1\.2\.3/32"\]'
expect 1 ip-policy rule delete office deny 2001:db8:1::/48
err_has 'ip-policy office has no rule deny 2001:db8:1::/48'
# Deleting an allow rule that exists only as a deny rule.
expect 1 ip-policy rule delete office allow 10.1.0.0/16
err_has 'ip-policy office has no rule allow 10\.1\.0\.0/16'
expect 1 ip-policy rule delete empty deny 0.0.0.0/0
err_has 'ip-policy empty has no rule deny 0\.0\.0\.0/0'
expect 0 ip-policy show office
out_has '^Deny +10\.1\.0\.0/16$'
out_has '^ +10\.1\.2\.3/32$'
out_lacks '2001:db8:1::'
ph_pass 'ip-policy rule add and delete'

## Attaching: accounts and reserved addresses.
expect 0 account update alice --ip-policy office
out_lines 1
out_has '^updated account alice$'
expect 0 account show alice
out_lines 17
out_has '^IP policy +office$'
expect 0 account list
out_has "^$alice_id +alice +active +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +office +[0-9]{4}-"
out_has ' bob +active +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +- +[0-9]{4}-'
expect 0 --json account show alice
out_has "\"ip_policy\": *\"office\", *\"ip_policy_id\": *\"$office_id\""
expect 0 account list --json
out_has "\"name\": *\"alice\",.*\"ip_policy\": *\"office\""
out_has '"name": *"bob",.*"ip_policy": *null, *"ip_policy_id": *null'

# With the other update options, and by id.
expect 0 address update "$a1" --ip-policy "$office_id" --proxy-proto 2 \
	--description 'office only'
out_has "^updated address $(re "$a1") \\(ra_[A-Za-z0-9]+\\)\$"
a1_id=$(grep -Eo 'ra_[A-Za-z0-9]+' "$out")
expect 0 address show "$a1"
out_lines 14
out_has '^PROXY protocol +v2$'
out_has '^IP policy +office$'
out_has '^Description +office only$'
expect 0 address list alice
out_has "^$a1_id +$(re "$a1") +alice +- +- +- +- +v2 +- +office +[0-9]{4}-[^ ]+ +office only\$"
expect 0 --json address show "$a1_id"
out_json 1
out_has "\"proxy_proto\": *2, *\"ip_policy\": *\"office\", *\"ip_policy_id\": *\"$office_id\""
expect 0 address update "$a1" --proxy-proto=1 --json
out_json 1
out_has '"proxy_proto": *1,'
out_has '"ip_policy": *"office"'
out_has '"description": *"office only"'
expect 0 address show "$a1"
out_has '^PROXY protocol +v1$'
expect 0 address update "$a1" --proxy-proto 0
expect 0 address show "$a1"
out_has '^PROXY protocol +none$'
expect 0 address list
out_has "^$a1_id +$(re "$a1") +alice +- +- +- +- +- +- +office "
expect 0 address update "$a1" --proxy-proto 2
expect 0 ip-policy show office
out_has '^Accounts +alice$'
out_has "^Addresses +$(re "$a1")\$"
expect 0 ip-policy list --json
out_has '"name": *"office",.*"accounts": *1, *"addresses": *1, *"edges": *0\}'
expect 0 ip-policy list
out_has "^$office_id +office +3 +3 +1 +1 "

# Refusals change nothing, not even the other options given.
expect 1 account update alice --ip-policy nosuch --description changed
err_has "no such ip-policy 'nosuch'"
expect 1 address update "$a1" --ip-policy nosuch --proxy-proto 0
err_has "no such ip-policy 'nosuch'"
expect 0 account show alice
out_has '^IP policy +office$'
out_lacks 'changed'
expect 0 address show "$a1"
out_has '^PROXY protocol +v2$'
out_has '^IP policy +office$'
expect 2 address update "$a1" --proxy-proto 3
err_has "--proxy-proto: bad value '3': want 0 \\(none\\), 1 or 2"
expect 2 address update "$a1" --proxy-proto -1
expect 2 address update "$a1" --proxy-proto v2
expect 2 address update "$a1" --proxy-proto
err_has '--proxy-proto needs a value'
expect 2 address update "$a1" --ip-policy
err_has '--ip-policy needs a value'
expect 2 account update alice --ip-policy
expect 2 account update alice --proxy-proto 1
err_has "unexpected '--proxy-proto'"
expect 1 address update a.example:1 --ip-policy office
err_has "no such address 'a\\.example:1'"
expect 1 account update nosuch --ip-policy office
err_has "no such account 'nosuch'"
expect 0 address show "$a1"
out_has '^PROXY protocol +v2$'
ph_pass 'account and address update --ip-policy and --proxy-proto'

## Deleting a policy: refused while attached, saying to what.
expect 1 ip-policy delete office
err_has "ip-policy office is attached to account alice and address $(re "$a1");"
err_has '--ip-policy none'
expect 0 ip-policy show office
expect 0 account update alice --ip-policy none
expect 0 account show alice
out_has '^IP policy +-$'
expect 0 --json account show alice
out_has '"ip_policy": *null, *"ip_policy_id": *null'
expect 1 ip-policy delete "$office_id"
err_has "ip-policy office is attached to address $(re "$a1");"
err_lacks() {
	if grep -Eq -e "$1" "$err"; then
		ph_fail "stderr has /$1/: $(cat "$err")"
	fi
}
err_lacks 'account alice'
expect 0 address update "$a1_id" --ip-policy none
expect 0 address show "$a1"
out_has '^IP policy +-$'
out_has '^PROXY protocol +v2$'
expect 0 ip-policy show office
out_has '^Accounts +-$'
out_has '^Addresses +-$'
expect 0 ip-policy delete office
out_lines 1
out_has "^deleted ip-policy office \\($office_id\\)\$"
expect 1 ip-policy show office
err_has "no such ip-policy 'office'"
expect 1 ip-policy delete office
err_has "no such ip-policy 'office'"
expect 1 account update alice --ip-policy office
err_has "no such ip-policy 'office'"
expect 0 --json ip-policy delete empty
out_json 1
out_has '"name": *"empty"'
expect 0 ip-policy list
out_lines 2
out_has ' v6only '
# The name is free again.
expect 0 ip-policy create office
ph_pass 'ip-policy delete is refused while attached, then works'

## Traffic policy changes signal every live session process; nothing else.
# As above: stand-in portholed processes (a sleep, which SIGUSR1 ends)
# with session rows written straight into the store.
if command -v sqlite3 >/dev/null 2>&1; then
	[ -x "$PH_TMP/portholed" ] || cp "$(command -v sleep)" "$PH_TMP/portholed" ||
		ph_fail "cannot copy sleep"
	nstandin=0
	# standin ACCOUNT_ID: start a stand-in portholed with a live session
	# row of that account; $standin_pid and $standin_id.
	standin() {
		nstandin=$((nstandin + 1))
		standin_id=ss_policy$nstandin
		ph_bg "standin$nstandin" "$PH_TMP/portholed" 300
		standin_pid=$PH_LAST_PID
		sqlite3 "$state/porthole.db" "
		    INSERT INTO sessions (id, account_id, pid, client_ip,
		        client_port, user, credential, started_ms)
		    VALUES ('$standin_id', '$1', $standin_pid, '127.0.0.1',
		        40100, 'x', 'key:x', $(date +%s%3N));" ||
			ph_fail "cannot insert a session row"
		# Until it runs as "portholed", a signal would be withheld.
		for _ in $(seq 100); do
			[ "$(cat "/proc/$standin_pid/comm" 2>/dev/null)" = portholed ] &&
				break
			sleep 0.05
		done
	}
	# quiet_ok ARG...: run; exit 0 and no message (bash may report the
	# stand-in's death on stderr, which is not ours).
	quiet_ok() {
		run "$@"
		[ "$rc" -eq 0 ] || ph_fail "portholectl $*: exit $rc: $(cat "$err")"
		if grep -q '^portholectl:' "$err"; then
			ph_fail "portholectl $*: $(cat "$err")"
		fi
	}
	# signalled / not_signalled: whether $standin_pid got SIGUSR1; then
	# its session row is ended.
	signalled() {
		ph_wait_gone "$standin_pid" 10
		[ "$PH_EXIT_STATUS" -eq $((128 + 10)) ] ||
			ph_fail "stand-in exited $PH_EXIT_STATUS, not by SIGUSR1 ($1)"
		quiet_ok session kill "$standin_id"
	}
	not_signalled() {
		sleep 0.3
		_ph_alive "$standin_pid" || ph_fail "$1 signalled a session"
		quiet_ok session kill "$standin_id"
		ph_wait_gone "$standin_pid" 10
	}
	expect 0 --json account show bob
	bob_id=$(grep -Eo '"id": *"ac_[A-Za-z0-9]+"' "$out" |
		grep -Eo 'ac_[A-Za-z0-9]+')
	expect 0 ip-policy create sig

	# A session of another account is told too: every live session.
	standin "$bob_id"
	quiet_ok account update alice --ip-policy sig
	out_lines 1
	out_has '^updated account alice$'
	signalled 'account update --ip-policy'
	standin "$bob_id"
	quiet_ok ip-policy rule add sig allow 10.9.0.0/16
	out_lines 1
	out_has '^added rule allow 10\.9\.0\.0/16 to ip-policy sig$'
	signalled 'rule add'
	standin "$bob_id"
	quiet_ok ip-policy rule delete sig allow 10.9.0.0/16
	out_has '^deleted rule allow 10\.9\.0\.0/16 from ip-policy sig$'
	signalled 'rule delete'
	standin "$bob_id"
	quiet_ok address update "$a1" --proxy-proto 1
	out_lines 1
	signalled 'address update --proxy-proto'
	standin "$bob_id"
	quiet_ok address update "$a1" --ip-policy sig
	signalled 'address update --ip-policy'
	standin "$bob_id"
	quiet_ok account update alice --ip-policy none
	signalled 'account update --ip-policy none'
	standin "$bob_id"
	quiet_ok address update "$a1" --ip-policy none --proxy-proto 0
	signalled 'address update --ip-policy none'

	# No policy change, or a policy attached to nothing: no signal.
	standin "$bob_id"
	quiet_ok account update alice --max-sessions 0 --description ''
	not_signalled 'account update --max-sessions'
	standin "$bob_id"
	quiet_ok address update "$a1" --description 'office only'
	not_signalled 'address update --description'
	standin "$bob_id"
	quiet_ok ip-policy rule add sig deny 10.9.9.0/24
	quiet_ok ip-policy rule delete sig deny 10.9.9.0/24
	quiet_ok ip-policy create sig2 --allow 10.0.0.0/8
	quiet_ok ip-policy delete sig2
	not_signalled 'a rule change of a policy attached to nothing'
	# A refused change tells no one, even with the policy attached.
	quiet_ok ip-policy rule add sig allow 10.9.0.0/16
	quiet_ok account update alice --ip-policy sig
	standin "$bob_id"
	expect 1 ip-policy rule add sig allow 10.9.0.0/16
	expect 1 ip-policy rule delete sig deny 10.9.0.0/16
	expect 2 ip-policy rule add sig allow 10.9.0.1/16
	expect 1 account update alice --ip-policy nosuch
	expect 2 address update "$a1" --proxy-proto 3
	expect 1 ip-policy delete sig
	not_signalled 'a refused change'
	quiet_ok account update alice --ip-policy none
	expect 0 ip-policy delete sig
	expect 0 session list
	out_lines 1
	ph_pass 'traffic policy changes signal every live session, and only they'
else
	echo 'skip - no sqlite3: policy changes signal live sessions'
fi

## A tiny PortRange: exhaustion, and deleted ports are never handed out.
small=(-o PortRange=30000-30004)
# reserve_all ACCOUNT: reserve until it fails; the ports in $got.
reserve_all() {
	got=
	while :; do
		run "${small[@]}" address reserve "$1"
		[ "$rc" -eq 0 ] || break
		got="$got $(port_of "$(cat "$out")")"
		[ "$(wc -w <<<"$got")" -le 5 ] ||
			ph_fail "more than 5 reservations in 30000-30004:$got"
	done
	[ "$rc" -eq 1 ] || ph_fail "reserve when full: exit $rc: $(cat "$err")"
	[ -s "$out" ] && ph_fail "reserve when full wrote stdout"
	err_has '^portholectl: no port left to reserve in PortRange 30000-30004'
}
ph_keygen k6
expect 0 key add dave "$PH_TMP/k6.pub"
expect 0 "${small[@]}" address reserve dave
d1=$(port_of "$(cat "$out")")
expect 0 "${small[@]}" address reserve dave
d2=$(port_of "$(cat "$out")")
[ "$d1" != "$d2" ] || ph_fail "port $d1 reserved twice"
for p in $d1 $d2; do
	if [ "$p" -lt 30000 ] || [ "$p" -gt 30004 ]; then
		ph_fail "port $p is outside PortRange 30000-30004"
	fi
done
token_create dave
expect 0 account show dave
out_has '^Keys +1$'
out_has '^Addresses +3$'

# A policy attached to the account and its address goes free with them.
expect 0 ip-policy create lab --allow 192.0.2.0/24
expect 0 account update dave --ip-policy lab
expect 0 address update "$v6" --ip-policy lab
expect 1 ip-policy delete lab
err_has "ip-policy lab is attached to account dave and address $(re "$v6");"

expect 0 account delete dave
out_lines 1
out_has '^deleted account dave \(1 key, 1 token, 3 reserved addresses\); ended 0 sessions$'
expect 1 account show dave
expect 0 key list
out_lacks "$(re "$(fp "$PH_TMP/k6.pub")")"
expect 0 address list
out_lacks ":$d1 "
out_lacks ":$d2 "
out_lacks "$(re "$v6")"
out_lacks ' dave '
expect 0 token list
out_lacks ' dave '
expect 1 account delete dave
err_has "no such account 'dave'"
expect 0 ip-policy show lab
out_has '^Accounts +-$'
out_has '^Addresses +-$'
expect 0 ip-policy delete lab
# The key is free to register again; the addresses are not.
expect 0 key add carol "$PH_TMP/k6.pub"

reserve_all carol
first=$got
for p in $first; do
	case " $d1 $d2 " in
	*" $p "*) ph_fail "deleted port $p was reserved again" ;;
	esac
done
[ "$(wc -w <<<"$first")" -le 3 ] ||
	ph_fail "more ports than 30000-30004 minus 2 deleted:$first"
# Give one back: it stays spent too.
read -ra firsts <<<"$first"
if [ "${#firsts[@]}" -gt 0 ]; then
	expect 0 "${small[@]}" address delete "127.0.0.1:${firsts[0]}"
	reserve_all carol
	[ -z "$got" ] || ph_fail "a deleted port was reserved again:$got"
fi
ph_pass "PortRange exhaustion; deleted ports are never reserved again"

## hostkey: known_hosts lines to pin.
hk=$state/ssh_host_ed25519_key
# The test's ListenAddress has port 0: the real port is not known.
expect 1 hostkey
err_has 'port is not known'
expect 1 -o ListenAddress=127.0.0.1:2222 hostkey
err_has "$(re "$hk.pub"): no host key yet: start portholed once \\(it generates HostKey\\)"
ssh-keygen -t ed25519 -N '' -q -C 'root@server' -f "$hk" </dev/null ||
	ph_fail "ssh-keygen host key"
blob=$(awk '{ print $2 }' "$hk.pub")
listen=(-o ListenAddress=127.0.0.1:2222 -o 'ListenAddress=[::1]:2222'
	-o ListenAddress=127.0.0.1:22 -o ListenAddress=127.0.0.1:0)
expect 0 "${hosts[@]}" "${listen[@]}" hostkey
printf '%s\n' "[a.example]:2222 ssh-ed25519 $blob" \
	"a.example ssh-ed25519 $blob" \
	"[b.example]:2222 ssh-ed25519 $blob" \
	"b.example ssh-ed25519 $blob" >"$PH_TMP/want_known_hosts"
cmp -s "$out" "$PH_TMP/want_known_hosts" ||
	ph_fail "hostkey printed: $(cat "$out")"
# OpenSSH reads them as it would its own known_hosts lines.
ssh-keygen -F '[b.example]:2222' -f "$out" | grep -q 'ssh-ed25519' ||
	ph_fail "ssh-keygen -F does not find [b.example]:2222"
ssh-keygen -F 'a.example' -f "$out" | grep -q 'ssh-ed25519' ||
	ph_fail "ssh-keygen -F does not find a.example"
expect 0 -o ListenAddress=127.0.0.1:2222 hostkey
out_lines 1
[ "$(cat "$out")" = "[127.0.0.1]:2222 ssh-ed25519 $blob" ] ||
	ph_fail "hostkey printed: $(cat "$out")"
expect 0 -o ListenAddress=127.0.0.1:2222 -o PublicHost=::1 hostkey --json
out_json 1
out_has "^\\{\"host\": *\"::1\", *\"port\": *2222, *\"type\": *\"ssh-ed25519\", *\"key\": *\"$(re "$blob")\", *\"known_hosts\": *\"\\[::1\\]:2222 ssh-ed25519 $(re "$blob")\"\\}\$"
ph_pass 'hostkey prints known_hosts lines'

## session list and kill without portholed.
expect 0 session list alice
out_lines 1
expect 1 session list nosuch
err_has "no such account 'nosuch'"
expect 1 session kill ss_nosuch
err_has "no such session 'ss_nosuch'"
ph_pass 'session list ACCOUNT; session kill of an unknown session'

## Live listings on a fresh store: a header, or no JSON lines.
expect 0 endpoint list
out_lines 1
out_has '^ID +URL +ACCOUNT +SESSION +SINCE +ADDRESS +EDGE +POOLED +METADATA +NODE +REGION$'
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

## Events: address changes, stored and written to EventLog.
# ev_is FILE N PATH JSON: event line N of FILE has the compact JSON value
# JSON at jq PATH (.object.port); without jq, the line has "KEY":JSON
# for the last KEY of PATH.
ev_is() {
	local line got

	line=$(sed -n "$2p" "$1")
	if command -v jq >/dev/null 2>&1; then
		got=$(printf '%s\n' "$line" | jq -c "$3") ||
			ph_fail "event $2 is not JSON: $line"
		[ "$got" = "$4" ] ||
			ph_fail "event $2: $3 is $got, want $4: $line"
	else
		printf '%s\n' "$line" | grep -qF -e "\"${3##*.}\":$4" ||
			ph_fail "event $2: no $3 = $4: $line"
	fi
}
evlog=$PH_TMP/events.log
elog=(-o "EventLog=$evlog")
expect 0 events
out_json "$(wc -l <"$out")"
before=$(wc -l <"$out")
[ "$before" -gt 0 ] || ph_fail "the address commands above left no events"
expect 0 account add evan
evan_id=$(grep -Eo 'ac_[A-Za-z0-9]+' "$out")
expect 0 "${elog[@]}" address reserve evan --description web --metadata m1
eaddr=$(cat "$out")
eport=$(port_of "$eaddr")
expect 0 --json address show "$eaddr"
eid=$(grep -Eo '"id": *"ra_[A-Za-z0-9]+"' "$out" | grep -Eo 'ra_[A-Za-z0-9]+')
# Nothing changes: no event.
expect 0 "${elog[@]}" address update "$eaddr" --description web
expect 0 "${elog[@]}" address update "$eaddr" --metadata m1 --proxy-proto 0
expect 0 "${elog[@]}" address update "$eaddr" --description 'web 2' \
	--proxy-proto 2
expect 0 "${elog[@]}" address delete "$eaddr"
expect 0 events
out_lines $((before + 3))
tail -n 3 "$out" >"$PH_TMP/ev3"
n=1
for t in created updated deleted; do
	ev_is "$PH_TMP/ev3" $n .event_type "\"tcp_address_$t.v0\""
	ev_is "$PH_TMP/ev3" $n .account_id "\"$evan_id\""
	ev_is "$PH_TMP/ev3" $n .object.id "\"$eid\""
	ev_is "$PH_TMP/ev3" $n .object.url "\"tcp://127.0.0.1:$eport\""
	ev_is "$PH_TMP/ev3" $n .object.host '"127.0.0.1"'
	ev_is "$PH_TMP/ev3" $n .object.port "$eport"
	ev_is "$PH_TMP/ev3" $n .object.metadata '"m1"'
	ev_is "$PH_TMP/ev3" $n .object.ip_policy null
	n=$((n + 1))
done
ev_is "$PH_TMP/ev3" 1 .object.description '"web"'
ev_is "$PH_TMP/ev3" 1 .object.proxy_proto 0
ev_is "$PH_TMP/ev3" 2 .object.description '"web 2"'
ev_is "$PH_TMP/ev3" 2 .object.proxy_proto 2
ev_is "$PH_TMP/ev3" 3 .object.description '"web 2"'
ev_is "$PH_TMP/ev3" 3 .object.proxy_proto 2
grep -Evq '^\{"event_id":"ev_[A-Za-z0-9]+","event_type":"[a-z_]+\.v0","event_timestamp":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z",' \
	"$PH_TMP/ev3" && ph_fail "events not in the envelope: $(cat "$PH_TMP/ev3")"
if command -v jq >/dev/null 2>&1; then
	[ "$(jq -r '.object | keys_unsorted | join(",")' "$PH_TMP/ev3" |
		sort -u)" = id,url,host,port,description,metadata,proxy_proto,ip_policy,ip_policy_id,pooling ] ||
		ph_fail "address event objects: $(cat "$PH_TMP/ev3")"
fi
# EventLog has the same lines, and only those (-o EventLog was given to
# these commands alone).
cmp -s "$evlog" "$PH_TMP/ev3" ||
	ph_fail "EventLog differs from the store: $(cat "$evlog")"
# An attached policy is named in the event.
expect 0 ip-policy create evpol --allow 10.0.0.0/8
expect 0 "${elog[@]}" address reserve evan
eaddr2=$(cat "$out")
expect 0 "${elog[@]}" address update "$eaddr2" --ip-policy evpol
expect 0 events --limit 1
ev_is "$out" 1 .event_type '"tcp_address_updated.v0"'
ev_is "$out" 1 .object.ip_policy '"evpol"'
[ "$(wc -l <"$evlog")" -eq 5 ] || ph_fail "EventLog: $(cat "$evlog")"
ph_pass 'address reserve, update and delete record one event each'

# --limit, --type, --since; --json changes nothing.
expect 0 events --limit 5
out_lines 5
head -n 3 "$out" | cmp -s - "$PH_TMP/ev3" || ph_fail "--limit 5: $(cat "$out")"
expect 0 --json events --limit 5
head -n 3 "$out" | cmp -s - "$PH_TMP/ev3" || ph_fail "--json: $(cat "$out")"
expect 0 events --limit 0
out_lines 0
expect 0 events --type tcp_address_deleted.v0
[ "$(wc -l <"$out")" -ge 2 ] || ph_fail "--type deleted: $(cat "$out")"
out_lacks '"event_type":"tcp_address_(created|updated)'
tail -n 1 "$out" | cmp -s - <(sed -n 3p "$PH_TMP/ev3") ||
	ph_fail "--type deleted: $(cat "$out")"
expect 0 events --type tcp_address_updated.v0 --limit=2
out_lines 2
head -n 1 "$out" | cmp -s - <(sed -n 2p "$PH_TMP/ev3") ||
	ph_fail "--type updated --limit 2: $(cat "$out")"
expect 0 events --type tcp_connection_closed.v0
out_lines 0
expect 0 events --since 2099-01-01T00:00:00Z
out_lines 0
expect 0 events --since 1h
out_lines $((before + 5))
expect 0 events --since 1970-01-01T00:00:00Z --limit 1 --type \
	tcp_address_created.v0
ev_is "$out" 1 .object.host '"127.0.0.1"'
expect 2 events --type bogus
err_has "unknown event type 'bogus'"
err_has 'tcp_address_created\.v0'
expect 2 events --type tcp_address_created
expect 2 events --type
expect 2 events --since yesterday
err_has "bad time 'yesterday'"
expect 2 events --since 2026-13-01T00:00:00Z
expect 2 events --limit -1
expect 2 events --limit x
expect 2 events --follow=yes
expect 2 events extra
expect 2 events --description x
expect 2 metrics extra
expect 2 metrics --limit 1
ph_pass 'events --type, --since, --limit'

# --follow: what is stored from then on, until a signal, which exits 0.
ph_bg follow "$CTL" -f "$PH_CONF" events --follow --limit 1
fpid=$PH_LAST_PID
ph_wait_count "$PH_TMP/follow.out" '^\{' 1 15 "$fpid"
expect 0 address reserve evan --description followed
eaddr3=$(cat "$out")
ph_wait_for "$PH_TMP/follow.out" \
	"\"tcp_address_created.v0\".*\"port\":$(port_of "$eaddr3")," 15 "$fpid"
expect 0 address update "$eaddr3" --metadata x
ph_wait_for "$PH_TMP/follow.out" '"tcp_address_updated.v0".*"metadata":"x"' \
	15 "$fpid"
ph_kill "$fpid" TERM
[ "$PH_EXIT_STATUS" -eq 0 ] ||
	ph_fail "events --follow: exit $PH_EXIT_STATUS after SIGTERM"
[ -s "$PH_TMP/follow.err" ] &&
	ph_fail "events --follow: $(cat "$PH_TMP/follow.err")"
[ "$(wc -l <"$PH_TMP/follow.out")" -eq 3 ] ||
	ph_fail "events --follow printed: $(cat "$PH_TMP/follow.out")"
expect 0 events --limit 3
cmp -s "$out" "$PH_TMP/follow.out" ||
	ph_fail "events --follow differs from events: $(cat "$PH_TMP/follow.out")"
# With --type, only that type; SIGINT ends it as well.
ph_bg follow2 "$CTL" -f "$PH_CONF" events --follow --type \
	tcp_address_deleted.v0 --limit 1
fpid=$PH_LAST_PID
ph_wait_count "$PH_TMP/follow2.out" '^\{' 1 15 "$fpid"
expect 0 address update "$eaddr3" --metadata y
expect 0 address delete "$eaddr3"
ph_wait_count "$PH_TMP/follow2.out" '"tcp_address_deleted.v0"' 2 15 "$fpid"
ph_kill "$fpid" INT
[ "$PH_EXIT_STATUS" -eq 0 ] ||
	ph_fail "events --follow: exit $PH_EXIT_STATUS after SIGINT"
[ -s "$PH_TMP/follow2.err" ] &&
	ph_fail "events --follow: $(cat "$PH_TMP/follow2.err")"
[ "$(wc -l <"$PH_TMP/follow2.out")" -eq 2 ] ||
	ph_fail "events --follow --type printed: $(cat "$PH_TMP/follow2.out")"
# A reader that goes away ends it too, with status 0 (not SIGPIPE).
# shellcheck disable=SC2016 # expanded by the inner bash
ph_bg epipe bash -c \
	'"$1" -f "$2" events --follow | head -n 1; echo "status ${PIPESTATUS[0]}"' \
	_ "$CTL" "$PH_CONF"
ph_wait_for "$PH_TMP/epipe.out" '^status ' 15 "$PH_LAST_PID"
grep -q '^status 0$' "$PH_TMP/epipe.out" ||
	ph_fail "events --follow | head: $(cat "$PH_TMP/epipe.out" "$PH_TMP/epipe.err")"
[ -s "$PH_TMP/epipe.err" ] &&
	ph_fail "events --follow | head: $(cat "$PH_TMP/epipe.err")"
[ "$(wc -l <"$PH_TMP/epipe.out")" -eq 2 ] ||
	ph_fail "events --follow | head: $(cat "$PH_TMP/epipe.out")"
ph_wait_gone "$PH_LAST_PID"
ph_pass 'events --follow prints new events; SIGTERM, SIGINT, EPIPE end it'

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
expect 2 session list alice extra
expect 2 session kill
expect 2 session kill a b
expect 2 account show
expect 2 account show alice extra
expect 2 account disable
expect 2 account enable
expect 2 account delete
expect 2 account update
expect 2 token
expect 2 token create
expect 2 token create carol --host a.example
expect 2 token create carol --description
expect 2 token revoke
expect 2 token list carol extra
expect 2 address
expect 2 address reserve
expect 2 address reserve alice --host
expect 2 address reserve alice --metadata "$(printf '%04097d' 0)"
err_has 'longer than 4096 bytes'
expect 2 address show
expect 2 address delete
expect 2 address update
expect 2 address list alice extra
expect 2 edge
expect 2 edge frob
err_has "edge: unexpected 'frob', expected create \\| list \\| show \\| delete \\| address \\| backend \\| update"
expect 2 edge create extra
expect 2 edge create --address
err_has '--address needs a value'
expect 2 edge create --host a.example
err_has "unexpected '--host'"
expect 2 edge create --description "$(printf '%0256d' 0)"
err_has 'longer than 255 bytes'
expect 2 edge list extra
expect 2 edge show
expect 2 edge show ed_x extra
expect 2 edge delete
expect 2 edge address
expect 2 edge address add
expect 2 edge address add ed_x
err_has 'edge address add EDGE: missing ADDR'
expect 2 edge address delete ed_x 127.0.0.1:1
err_has "unexpected 'delete', expected add \\| remove"
expect 2 edge address remove ed_x 127.0.0.1:1 extra
expect 2 edge backend
expect 2 edge backend add ed_x
err_has 'edge backend add EDGE: missing ACCOUNT'
expect 2 edge backend remove ed_x alice extra
expect 2 edge update
expect 2 edge update ed_x
err_has 'edge update: nothing to change: give --description, --ip-policy or --proxy-proto'
expect 2 edge update ed_x --metadata x
err_has "unexpected '--metadata'"
expect 2 edge update ed_x --proxy-proto 3
err_has "--proxy-proto: bad value '3': want 0 \\(none\\), 1 or 2"
expect 2 edge update ed_x --ip-policy
expect 2 hostkey extra
expect 2 ip-policy
expect 2 ip-policy frob
err_has "ip-policy: unexpected 'frob', expected create \\| list \\| show \\| delete \\| rule"
expect 2 ip-policy create
expect 2 ip-policy create x --allow
err_has '--allow needs a value'
expect 2 ip-policy create x --deny
expect 2 ip-policy create x --host a.example
err_has "unexpected '--host'"
expect 2 ip-policy create x extra
expect 2 ip-policy list extra
expect 2 ip-policy list --allow 10.0.0.0/8
expect 2 ip-policy show
expect 2 ip-policy show x extra
expect 2 ip-policy delete
expect 2 ip-policy delete x extra
expect 2 ip-policy rule
expect 2 ip-policy rule frob
expect 2 ip-policy rule add
expect 2 ip-policy rule add x
err_has 'missing allow \| deny'
expect 2 ip-policy rule add x permit 10.0.0.0/8
err_has "unexpected 'permit', expected allow \\| deny"
expect 2 ip-policy rule add x allow
err_has 'missing CIDR'
expect 2 ip-policy rule delete x deny
expect 2 ip-policy rule add x allow 10.0.0.0/8 extra
expect 2 ip-policy rule add x allow --description y
expect 2 address update "$a1" --max-sessions 1
expect 2 address reserve alice --ip-policy office
expect 2 account add erin --ip-policy office
expect 2 -Z account list
expect 2 -f
expect 0 help
out_has '^usage: portholectl'
out_has 'key add ACCOUNT'
out_has '^    events \[--follow\] \[--type TYPE\] \[--since TIME\] \[--limit N\]$'
out_has '^    metrics$'
for c in 'account update NAME' 'account disable' 'token create ACCOUNT' \
	'token revoke ID' 'address reserve ACCOUNT' 'address show' \
	'session kill ID' 'hostkey' 'ip-policy create NAME' 'ip-policy list' \
	'ip-policy show \| delete NAME' 'ip-policy rule add \| delete NAME' \
	'\[--ip-policy POLICY \| none\]' '--proxy-proto 0 \| 1 \| 2' \
	'--allow CIDR' '--deny CIDR' \
	'edge create \[--description TEXT\] \[--address ADDR\]\.\.\.' \
	'edge list' 'edge show \| delete EDGE' \
	'edge address add \| remove EDGE ADDR' \
	'edge backend add \| remove EDGE ACCOUNT' 'edge update EDGE' \
	'api-key create \[--account ACCOUNT\] \[--description TEXT\]' \
	'api-key list \[ACCOUNT\]' 'api-key revoke ID'; do
	out_has "$c"
done
expect 0 account show alice --help
out_has '^usage: portholectl'
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

# Deleting an account retires its addresses: each gets its
# tcp_address_deleted.v0 event.
expect 0 account add goner
expect 0 address reserve goner
gone_addr=$(cat "$out")
before=$(ph_ctl events --type tcp_address_deleted.v0 | wc -l)
expect 0 account delete goner
after=$(ph_ctl events --type tcp_address_deleted.v0 | wc -l)
[ "$after" -eq $((before + 1)) ] ||
    ph_fail "account delete: $((after - before)) address events, want 1"
ph_ctl events --type tcp_address_deleted.v0 --limit 1 |
    grep -q "\"url\":\"tcp://$gone_addr\"" ||
    ph_fail "the deleted event does not name $gone_addr"
ph_pass 'account delete announces its addresses as deleted'

## Edges: reserved addresses served by the sessions of backend accounts.
# id_in PREFIX: the first PREFIX_… id in stdout.
id_in() {
	grep -Eo "${1}_[A-Za-z0-9]+" "$out" | head -n 1
}
# ncreated / ndeleted: how many address events of that type are stored.
ncreated() {
	ph_ctl events --type tcp_address_created.v0 | wc -l
}
ndeleted() {
	ph_ctl events --type tcp_address_deleted.v0 | wc -l
}
expect 0 account add web1
web1_id=$(id_in ac)
expect 0 account add web2
web2_id=$(id_in ac)
expect 0 edge list
out_lines 1
out_has '^ID +ADDRESSES +BACKENDS +MEMBERS +IP-POLICY +PROXY +CREATED +DESCRIPTION$'
expect 0 edge list --json
out_lines 0

# No --address: a new address for it, owned by no account, announced.
c0=$(ncreated)
expect 0 edge create --description 'web tier'
out_lines 1
out_has '^created edge ed_[A-Za-z0-9]+ tcp://127\.0\.0\.1:[0-9]+$'
ed1=$(id_in ed)
ed1_addr=$(grep -Eo '127\.0\.0\.1:[0-9]+' "$out")
[ "$(ncreated)" -eq $((c0 + 1)) ] || ph_fail "edge create: no created event"
expect 0 events --type tcp_address_created.v0 --limit 1
ev_is "$out" 1 .account_id null
ev_is "$out" 1 .object.url "\"tcp://$ed1_addr\""
expect 0 address show "$ed1_addr"
out_lines 14
out_has '^Account +-$'
out_has "^Edge +$ed1\$"
ed1_aid=$(id_in ra)
expect 0 --json address show "$ed1_aid"
out_has "\"account\": *null, *\"account_id\": *null, *\"edge_id\": *\"$ed1\","
expect 0 address list
out_has "^$ed1_aid +$(re "$ed1_addr") +- +$ed1 +- +- +- +- +- +- +[0-9]{4}-[^ ]+ +-\$"
# Owned by no account: no account lists it.
expect 0 address list web1
out_lines 1
expect 0 edge show "$ed1"
out_lines 8
out_has "^ID +$ed1\$"
out_has '^Description +web tier$'
out_has "^Addresses +tcp://$(re "$ed1_addr") \\($ed1_aid\\)\$"
out_has '^Backends +-$'
out_has '^IP policy +-$'
out_has '^PROXY protocol +none$'
out_has '^Created +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
out_has '^Members +0$'
expect 0 edge list
out_lines 2
out_has "^$ed1 +$(re "$ed1_addr") +- +0 +- +- +[0-9]{4}-[^ ]+ +web tier\$"

# With --address: existing addresses, by HOST:PORT or id, in that order.
expect 0 address reserve web1
w1a=$(cat "$out")
expect 0 --json address reserve web2
w2a_id=$(id_in ra)
w2a=$(grep -Eo '"hostport": *"[^"]+"' "$out" | grep -Eo '127[^"]+')
c0=$(ncreated)
expect 0 --json edge create --address "$w1a" --address "$w2a_id" \
	--description two
out_json 1
out_has "^\\{\"id\": *\"ed_[A-Za-z0-9]+\", *\"description\": *\"two\", *\"addresses\": *\\[\\{\"id\": *\"ra_[A-Za-z0-9]+\", *\"url\": *\"tcp://$(re "$w1a")\"\\}, *\\{\"id\": *\"$w2a_id\", *\"url\": *\"tcp://$(re "$w2a")\"\\}\\], *\"backends\": *\\[\\], *\"members\": *\\[\\], *\"ip_policy\": *null, *\"ip_policy_id\": *null, *\"proxy_proto\": *0, *\"created_at\": *\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\"\\}\$"
ed2=$(id_in ed)
[ "$(ncreated)" -eq "$c0" ] || ph_fail "edge create --address reserved an address"
expect 0 address show "$w1a"
out_has '^Account +web1$'
out_has "^Edge +$ed2\$"
w1a_id=$(id_in ra)
expect 1 edge create --address "$w1a_id"
err_has "address $(re "$w1a") is already on edge $ed2"
expect 0 address reserve web1
w3a=$(cat "$out")
# All or nothing: a good address with a taken one, or given twice.
expect 1 edge create --address "$w3a" --address "$w2a"
err_has "address $(re "$w2a") is already on edge $ed2"
expect 1 edge create --address "$w3a" --address ra_nosuch
err_has "no such address 'ra_nosuch'"
expect 1 edge create --address "$w3a" --address 127.0.0.1:1
err_has "no such address '127\\.0\\.0\\.1:1'"
expect 1 edge create --address garbage
err_has "'garbage' is not an address"
expect 0 --json address show "$w3a"
w3a_id=$(id_in ra)
expect 1 edge create --address "$w3a" --address "$w3a_id"
err_has "--address $(re "$w3a") given twice"
expect 0 address show "$w3a"
out_has '^Edge +-$'
expect 0 edge list --json
out_json 2
ph_pass 'edge create: a new unowned address, or existing ones, all or nothing'

## Addresses and backends.
expect 0 edge backend add "$ed2" web1
out_lines 1
out_has "^added backend web1 to edge $ed2\$"
expect 0 --json edge backend add "$ed2" "$web2_id"
out_json 1
out_has '"backends": *\["web1", *"web2"\]'
expect 1 edge backend add "$ed2" web1
err_has "account web1 is already a backend of edge $ed2"
expect 1 edge backend add "$ed2" nosuch
err_has "no such account 'nosuch'"
expect 1 edge backend add ed_nosuch web1
err_has "no such edge 'ed_nosuch'"
expect 1 edge backend remove "$ed1" web1
err_has "account web1 is not a backend of edge $ed1"
expect 1 edge backend remove ed_nosuch web1
err_has "no such edge 'ed_nosuch'"
# One account may back several edges.
expect 0 edge backend add "$ed1" web1
expect 0 edge backend remove "$ed1" "$web1_id"
out_has "^removed backend web1 from edge $ed1\$"
expect 0 edge show "$ed1"
out_has '^Backends +-$'

expect 0 edge address add "$ed1" "$w3a"
out_lines 1
out_has "^added address $(re "$w3a") \\($w3a_id\\) to edge $ed1\$"
expect 1 edge address add "$ed1" "$w3a_id"
err_has "address $(re "$w3a") is already on edge $ed1"
expect 1 edge address add "$ed2" "$w3a"
err_has "address $(re "$w3a") is already on edge $ed1"
expect 1 edge address add "$ed1" 127.0.0.1:1
err_has "no such address '127\\.0\\.0\\.1:1'"
expect 1 edge address add ed_nosuch "$w3a"
err_has "no such edge 'ed_nosuch'"
expect 1 edge address remove "$ed2" "$w3a"
err_has "address $(re "$w3a") is not on edge $ed2"
expect 1 edge address remove ed_nosuch "$w3a"
err_has "no such edge 'ed_nosuch'"
expect 0 edge show "$ed1"
out_lines 9
out_has "^Addresses +tcp://$(re "$ed1_addr") \\($ed1_aid\\)\$"
out_has "^ +tcp://$(re "$w3a") \\($w3a_id\\)\$"
expect 0 edge show "$ed2"
out_lines 10
out_has '^Backends +web1$'
out_has '^ +web2$'
expect 0 edge list
out_has "^$ed1 +$(re "$ed1_addr"),$(re "$w3a") +- +0 "
out_has "^$ed2 +$(re "$w1a"),$(re "$w2a") +web1,web2 +0 +- +- +[0-9]{4}-[^ ]+ +two\$"
# Taken off: an owned address goes back to its account.
expect 0 edge address remove "$ed1" "$w3a_id"
out_lines 1
out_has "^removed address $(re "$w3a") \\($w3a_id\\) from edge $ed1; back to account web1\$"
expect 0 address show "$w3a"
out_has '^Account +web1$'
out_has '^Edge +-$'
# An address of no account may move to another edge.
expect 0 edge address remove "$ed1" "$ed1_addr"
out_has "^removed address $(re "$ed1_addr") \\($ed1_aid\\) from edge $ed1; it has no account"
expect 0 edge show "$ed1"
out_has '^Addresses +-$'
expect 0 address list
out_has "^$ed1_aid +$(re "$ed1_addr") +- +- "
expect 0 --json edge address add "$ed2" "$ed1_aid"
out_json 1
out_has "\"addresses\": *\\[\\{\"id\": *\"$w1a_id\",.*\\}, *\\{\"id\": *\"$w2a_id\",.*\\}, *\\{\"id\": *\"$ed1_aid\", *\"url\": *\"tcp://$(re "$ed1_addr")\"\\}\\]"
expect 1 edge address add "$ed1" "$ed1_addr"
err_has "address $(re "$ed1_addr") is already on edge $ed2"
expect 0 edge address remove "$ed2" "$ed1_addr"
expect 0 edge address add "$ed1" "$ed1_addr"
ph_pass 'edge address add and remove, edge backend add and remove'

## update: only what is given changes.
expect 0 ip-policy create edgepol --allow 198.51.100.0/24
edgepol_id=$(id_in ip)
expect 0 edge update "$ed2" --ip-policy edgepol --proxy-proto 2 \
	--description 'two tier'
out_lines 1
out_has "^updated edge $ed2\$"
expect 0 edge show "$ed2"
out_has '^Description +two tier$'
out_has '^IP policy +edgepol$'
out_has '^PROXY protocol +v2$'
expect 0 edge list
out_has "^$ed2 +[^ ]+ +web1,web2 +0 +edgepol +v2 +[0-9]{4}-[^ ]+ +two tier\$"
expect 0 --json edge update "$ed2" --proxy-proto=1
out_json 1
out_has "\"ip_policy\": *\"edgepol\", *\"ip_policy_id\": *\"$edgepol_id\", *\"proxy_proto\": *1,"
out_has '"description": *"two tier"'
# The addresses keep their own settings.
expect 0 address show "$w1a"
out_has '^PROXY protocol +none$'
out_has '^IP policy +-$'
# Refusals change nothing, not even the other options given.
expect 1 edge update "$ed2" --ip-policy nosuch --description changed
err_has "no such ip-policy 'nosuch'"
expect 1 edge update ed_nosuch --proxy-proto 1
err_has "no such edge 'ed_nosuch'"
expect 2 edge update "$ed2" --proxy-proto 3
err_has "--proxy-proto: bad value '3'"
expect 2 edge update "$ed2"
err_has 'nothing to change'
expect 0 edge show "$ed2"
out_has '^Description +two tier$'
out_has '^PROXY protocol +v1$'
# A policy an edge has is not deleted.
expect 1 ip-policy delete edgepol
err_has 'attached'
expect 0 edge update "$ed2" --ip-policy none --description ''
expect 0 --json edge show "$ed2"
out_has '"description": *"", *"addresses"'
out_has '"ip_policy": *null, *"ip_policy_id": *null, *"proxy_proto": *1,'
expect 0 ip-policy delete edgepol
expect 1 edge show ed_nosuch
err_has "no such edge 'ed_nosuch'"
ph_pass 'edge update --description, --ip-policy and --proxy-proto'

## Live members, as a session records them: stand-in rows.
if command -v sqlite3 >/dev/null 2>&1; then
	now=$(date +%s%3N)
	w1p=$(port_of "$w1a")
	w2p=$(port_of "$w2a")
	# pid 1 is never signalled.
	sqlite3 "$state/porthole.db" "
	    INSERT INTO sessions (id, account_id, pid, client_ip, client_port,
	        user, credential, started_ms)
	    VALUES ('ss_member1', '$web1_id', 1, '127.0.0.1', 40201, 'web1',
	        'key:x', $now),
	        ('ss_member2', '$web2_id', 1, '127.0.0.1', 40202, 'web2',
	        'key:x', $now);
	    INSERT INTO endpoints (id, session_id, account_id, host, port,
	        bind_address, started_ms, address_id, edge_id, conns_open,
	        conns_total, bytes_in, bytes_out)
	    VALUES ('ep_member1', 'ss_member1', '$web1_id', '127.0.0.1', $w1p,
	        '127.0.0.1', $now, '$w1a_id', '$ed2', 2, 7, 1234, 5678),
	        ('ep_member2', 'ss_member2', '$web2_id', '127.0.0.1', $w2p,
	        '127.0.0.1', $((now + 1)), '$w2a_id', '$ed2', 0, 3, 10, 20);" ||
		ph_fail "cannot insert member rows"
	expect 0 edge show "$ed2"
	out_has '^Members +2$'
	out_has '^ENDPOINT +SESSION +ACCOUNT +OPEN +TOTAL +BYTES-IN +BYTES-OUT$'
	out_has '^ep_member1 +ss_member1 +web1 +2 +7 +1234 +5678$'
	out_has '^ep_member2 +ss_member2 +web2 +0 +3 +10 +20$'
	expect 0 --json edge show "$ed2"
	out_json 1
	out_has '"members": *\[\{"endpoint_id": *"ep_member1", *"session_id": *"ss_member1", *"account": *"web1", *"connections_open": *2, *"connections_total": *7, *"bytes_in": *1234, *"bytes_out": *5678\}, *\{"endpoint_id": *"ep_member2",'
	expect 0 edge list
	out_has "^$ed2 +[^ ]+ +web1,web2 +2 "
	out_has "^$ed1 +[^ ]+ +- +0 "
	expect 0 endpoint list
	out_has "^ep_member1 +tcp://$(re "$w1a") +web1 +ss_member1 +[0-9]{4}-[^ ]+ +$w1a_id +$ed2 +- +- +- +-\$"
	expect 0 --json endpoint list
	out_has "\"id\": *\"ep_member2\",.*\"address_id\": *\"$w2a_id\", *\"edge_id\": *\"$ed2\","
	if command -v jq >/dev/null 2>&1; then
		expect 0 --json edge show "$ed2"
		[ "$(jq -r 'keys_unsorted | join(",")' "$out")" = \
			id,description,addresses,backends,members,ip_policy,ip_policy_id,proxy_proto,created_at ] ||
			ph_fail "edge object keys: $(cat "$out")"
	fi
	expect 0 session kill ss_member1
	expect 0 session kill ss_member2
	expect 0 edge show "$ed2"
	out_has '^Members +0$'
	out_lacks '^ENDPOINT'
	ph_pass 'edge show and list: live members with their counters; endpoint list EDGE'
else
	echo 'skip - no sqlite3: edge members'
fi

## delete: addresses of no account are retired for good, others go back.
# A tiny PortRange of its own: what edge create reserves there is never
# handed out again once its edge is deleted.
etiny=(-o PortRange=31000-31002)
expect 0 "${etiny[@]}" edge create
edt=$(id_in ed)
xport=$(port_of "$(grep -Eo '127\.0\.0\.1:[0-9]+' "$out")")
if [ "$xport" -lt 31000 ] || [ "$xport" -gt 31002 ]; then
	ph_fail "edge create reserved port $xport outside 31000-31002"
fi
expect 0 --json address show "127.0.0.1:$xport"
x_id=$(id_in ra)
expect 0 edge address add "$edt" "$w3a"
expect 0 edge backend add "$edt" web2
d0=$(ndeleted)
expect 0 edge delete "$edt"
out_lines 3
out_has "^deleted edge $edt\$"
out_has "^retired address 127\\.0\\.0\\.1:$xport \\($x_id\\) for good\$"
out_has "^returned address $(re "$w3a") \\($w3a_id\\) to account web1\$"
[ "$(ndeleted)" -eq $((d0 + 1)) ] || ph_fail "edge delete: no deleted event"
expect 0 events --type tcp_address_deleted.v0 --limit 1
ev_is "$out" 1 .object.id "\"$x_id\""
ev_is "$out" 1 .account_id null
expect 1 address show "127.0.0.1:$xport"
expect 0 address show "$w3a"
out_has '^Account +web1$'
out_has '^Edge +-$'
expect 1 edge show "$edt"
err_has "no such edge '$edt'"
expect 1 edge delete "$edt"
err_has "no such edge '$edt'"
# Fill the rest of the range: the retired port never comes back, nor
# does an edge create that finds no port leave an edge behind.
got=
while :; do
	run "${etiny[@]}" address reserve web1
	[ "$rc" -eq 0 ] || break
	got="$got $(port_of "$(cat "$out")")"
	[ "$(wc -w <<<"$got")" -le 3 ] ||
		ph_fail "more than 3 reservations in 31000-31002:$got"
done
err_has '^portholectl: no port left to reserve in PortRange 31000-31002'
case " $got " in
*" $xport "*) ph_fail "retired port $xport was reserved again" ;;
esac
expect 0 --json edge list
nedges=$(wc -l <"$out")
c0=$(ncreated)
expect 1 "${etiny[@]}" edge create --description leak
err_has 'no port left to reserve in PortRange 31000-31002'
expect 0 --json edge list
out_lines "$nedges"
out_lacks '"leak"'
[ "$(ncreated)" -eq "$c0" ] || ph_fail "a failed edge create announced an address"

expect 0 --json edge delete "$ed1"
out_json 1
out_has "^\\{\"id\": *\"$ed1\", *\"description\": *\"web tier\","
out_has '"deleted_at": *"[0-9]{4}-'
out_has "\"retired\": *\\[\\{\"id\": *\"$ed1_aid\", *\"url\": *\"tcp://$(re "$ed1_addr")\"\\}\\], *\"returned\": *\\[\\]\\}\$"
expect 1 address show "$ed1_aid"
ph_pass 'edge delete retires addresses of no account for good, returns the others'

## Deleting a backend account: it leaves the edge, as its addresses do.
expect 0 account add web3
expect 0 address reserve web3
w4a=$(cat "$out")
expect 0 edge address add "$ed2" "$w4a"
expect 0 edge backend add "$ed2" web3
expect 0 account delete web3
expect 0 edge show "$ed2"
out_lacks 'web3'
out_lacks "$(re "$w4a")"
out_has '^Backends +web1$'
ph_pass 'account delete takes its account and addresses off edges'

## Changes to an edge signal every live session process; the rest not.
if command -v sqlite3 >/dev/null 2>&1; then
	standin "$bob_id"
	quiet_ok edge create --description sig
	es=$(id_in ed)
	quiet_ok edge list
	quiet_ok --json edge list
	quiet_ok edge show "$es"
	not_signalled 'edge create, list and show'
	standin "$bob_id"
	quiet_ok edge backend add "$es" web1
	signalled 'edge backend add'
	standin "$bob_id"
	quiet_ok edge backend remove "$es" web1
	signalled 'edge backend remove'
	standin "$bob_id"
	quiet_ok edge address add "$es" "$w3a"
	signalled 'edge address add'
	standin "$bob_id"
	quiet_ok edge address remove "$es" "$w3a"
	signalled 'edge address remove'
	standin "$bob_id"
	quiet_ok edge update "$es" --proxy-proto 2
	signalled 'edge update --proxy-proto'
	expect 0 ip-policy create edgesig
	standin "$bob_id"
	quiet_ok edge update "$es" --ip-policy edgesig
	signalled 'edge update --ip-policy'
	standin "$bob_id"
	quiet_ok edge update "$es" --ip-policy none
	signalled 'edge update --ip-policy none'
	standin "$bob_id"
	quiet_ok edge update "$es" --description quiet
	not_signalled 'edge update --description'
	# An account's address taken onto an edge leaves its sessions.
	standin "$bob_id"
	quiet_ok edge create --address "$w3a"
	ew=$(id_in ed)
	signalled 'edge create --address'
	# Refusals tell no one.
	standin "$bob_id"
	expect 1 edge backend add "$ed2" web1
	expect 1 edge backend remove "$es" web2
	expect 1 edge address add "$es" "$w3a"
	expect 1 edge address remove "$es" "$w3a"
	expect 1 edge update "$es" --ip-policy nosuch
	expect 2 edge update "$es" --proxy-proto 3
	expect 1 edge delete ed_nosuch
	not_signalled 'a refused edge change'
	# An edge's address deleted: every member may have served it.
	standin "$bob_id"
	quiet_ok address delete "$w3a"
	signalled 'address delete of an edge address'
	standin "$bob_id"
	quiet_ok edge delete "$ew"
	signalled 'edge delete'
	quiet_ok edge delete "$es"
	expect 0 ip-policy delete edgesig
	expect 0 session list
	out_lines 1
	ph_pass 'edge changes signal every live session, and only they'
else
	echo 'skip - no sqlite3: edge changes signal live sessions'
fi

## Control characters (C0, DEL and C1) in free text: refused on the way
## in, escaped on the way out, whatever an older store may hold.
# out_fixed TEXT: stdout holds TEXT as it is.
out_fixed() {
	grep -Fq -e "$1" "$out" || ph_fail "stdout lacks '$1': $(cat "$out")"
}
# out_printable: every byte on stdout is printable ASCII or a newline,
# so nothing in it can drive a terminal (nor a locale misread it).
out_printable() {
	if LC_ALL=C grep -n '[^ -~]' "$out" >"$PH_TMP/ctl.bad"; then
		ph_fail "$1: stdout has raw control bytes: $(od -c "$PH_TMP/ctl.bad" | head -n 5)"
	fi
}
# U+009B, CSI, in UTF-8 (C2 9B) and as the raw byte 0x9B; and ESC.
csi_utf8=$(printf 'x\302\23331my')
csi_raw=$(printf 'x\23331my')
esc=$(printf 'x\033[2Jy')
expect 0 account add ctrl
ctrl_id=$(id_in ac)
expect 0 "${hosts[@]}" address reserve ctrl --description plain \
	--metadata plain
ctrl_addr=$(cat "$out")
expect 0 ip-policy create ctrlpol --description plain
# refused ARG... TEXT: exit 1, a message naming the character, no change.
refused() {
	expect 1 "$@"
	err_has '^portholectl: --(description|metadata) must not contain control characters: '
}
for t in "$csi_utf8" "$csi_raw" "$esc"; do
	refused account add ctrl2 --description "$t"
	refused account update ctrl --description "$t"
	refused token create ctrl --description "$t"
	refused "${hosts[@]}" address reserve ctrl --description "$t"
	refused "${hosts[@]}" address reserve ctrl --metadata "$t"
	refused address update "$ctrl_addr" --description "$t"
	refused address update "$ctrl_addr" --metadata "$t"
	refused edge create --description "$t"
	refused edge update "$ed2" --description "$t"
	refused ip-policy create ctrlpol2 --description "$t"
done
refused account update ctrl --description "$csi_utf8"
err_has 'control characters: C1 control U\+009B at offset 1$'
refused address update "$ctrl_addr" --metadata "$csi_raw"
err_has 'control characters: C1 control byte 0x9B \(not UTF-8\) at offset 1$'
refused edge create --description "$esc"
err_has 'control characters: C0 control U\+001B at offset 1$'
refused account update ctrl --description "$(printf 'del\177')"
err_has 'DEL \(U\+007F\) at offset 3$'
# Key comments are free text too.
ssh-keygen -q -t ed25519 -N '' -C "$csi_utf8" -f "$PH_TMP/c1key"
expect 1 key add ctrl "$PH_TMP/c1key.pub"
err_has 'invalid key: key line contains a control character: C1 control U\+009B'
# Nothing of it was kept.
expect 0 --json account show ctrl
out_has '"description": *""'
expect 0 --json address show "$ctrl_addr"
out_has '"description": *"plain", *"metadata": *"plain"'
expect 0 --json edge show "$ed2"
out_has '"description": *"", *"addresses"'
expect 1 account show ctrl2
expect 1 ip-policy show ctrlpol2
expect 0 token list ctrl
out_lines 1
expect 0 key list ctrl
out_lines 1
# Text that is not a control passes: U+00A0 just past C1, and 0x9B
# inside U+96C0.
expect 0 account update ctrl --description "$(printf '\302\240\351\233\200')"
expect 0 --json account show ctrl
out_fixed "$(printf '"description":"\302\240\351\233\200"')"
ph_pass 'C0, DEL and C1 controls in descriptions, metadata and key comments are refused'

if command -v sqlite3 >/dev/null 2>&1; then
	token_create ctrl --description plain
	expect 0 edge create --description plain
	ctrl_edge=$(id_in ed)
	# x, U+009B 31m, raw 9B 2J, ESC [0m, DEL, tab, y: as a store
	# written before these checks (or by hand) may hold them.
	bad="CAST(X'78C29B33316D9B324A1B5B306D7F0979' AS TEXT)"
	sqlite3 "$state/porthole.db" "
		UPDATE accounts SET description = $bad,
		    name = 'ctrl' || $bad WHERE id = '$ctrl_id';
		UPDATE addresses SET description = $bad, metadata = $bad
		    WHERE account_id = '$ctrl_id';
		UPDATE tokens SET description = $bad
		    WHERE account_id = '$ctrl_id';
		UPDATE edges SET description = $bad WHERE id = '$ctrl_edge';
		UPDATE ip_policies SET description = $bad
		    WHERE name = 'ctrlpol';
		INSERT INTO events (id, type, timestamp_ms, account_id, json)
		    VALUES ('ev_planted', 'tcp_address_updated.v0',
		    CAST(strftime('%s', 'now') AS INTEGER) * 1000, NULL,
		    '{\"event_id\":\"ev_planted\",\"description\":\"' ||
		    $bad || '\"}');
		INSERT INTO counters (name, labels, value)
		    VALUES ('porthole_planted_total',
		    'reason=\"' || $bad || '\"', 1);" ||
		ph_fail 'sqlite3 could not plant the rows'
	# Tables and plain lines: each byte as \ooo, as the log writes it.
	tab='x\302\23331m\2332J\033[0m\177\011y'
	# JSON: C1 as \u009b, a byte that is not UTF-8 as \ufffd.
	json='x\u009b31m\ufffd2J\u001b[0m\u007f\ty'
	for cmd in 'account list' "account show $ctrl_id" \
		"address list $ctrl_id" "address show $ctrl_addr" \
		"token list $ctrl_id" 'edge list' "edge show $ctrl_edge" \
		'ip-policy list' 'ip-policy show ctrlpol'; do
		# shellcheck disable=SC2086
		expect 0 $cmd
		out_fixed "$tab"
		out_printable "$cmd"
		# shellcheck disable=SC2086
		expect 0 --json $cmd
		out_fixed "$json"
		out_printable "--json $cmd"
	done
	expect 0 --json address show "$ctrl_addr"
	out_fixed "\"description\":\"$json\",\"metadata\":\"$json\""
	expect 0 account show "$ctrl_id"
	out_fixed "ctrl$tab"
	# Stored events are printed with the escapes json_str writes now.
	expect 0 events --type tcp_address_updated.v0
	grep -F ev_planted "$out" >"$PH_TMP/ctl.ev" ||
		ph_fail "events: the planted event is missing: $(cat "$out")"
	mv "$PH_TMP/ctl.ev" "$out"
	out_fixed "{\"event_id\":\"ev_planted\",\"description\":\"$json\"}"
	out_printable 'events'
	out_json 1
	# A counter whose labels hold controls is left out, with a word.
	run metrics
	[ "$rc" -eq 0 ] || ph_fail "metrics: exit $rc: $(cat "$err")"
	out_lacks 'planted'
	out_printable 'metrics'
	err_has "counter 'porthole_planted_total\{reason=.*' is not valid in the exposition format; left out"
	# Plain lines quote the store's names escaped too.
	expect 0 account update "$ctrl_id" --max-sessions 1
	out_fixed "updated account ctrl$tab"
	out_printable 'account update'
	expect 0 edge delete "$ctrl_edge"
	expect 0 account delete "$ctrl_id"
	out_fixed "deleted account ctrl$tab ("
	out_printable 'account delete'
	expect 0 ip-policy delete ctrlpol
	ph_pass 'C1, C0 and DEL held by the store are escaped in tables, plain lines, JSON and events'
else
	echo 'skip - no sqlite3: control characters held by the store'
fi
