#!/bin/bash
# The HTTP API on PostgreSQL: the API process announces its changes on
# the database (store_notify_change) rather than through the monitor,
# so a session stopped with POST /tunnel_sessions/ID/stop ends at once
# (its ssh exits), an account disabled through the API ends its
# sessions, and changing requests from several connections at once
# (not serialised as on SQLite) all succeed.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq curl

ph_pg_start
_ph_conf
echo "Database $PH_PG_URI" >>"$PH_CONF"
ph_user alice
ph_user bob
AK=$(ph_ctl api-key create --account alice 2>/dev/null) ||
    ph_fail "api-key create"
ADMIN=$(ph_ctl api-key create 2>/dev/null) || ph_fail "api-key create"
aport=$("$TNET" freeport)
ph_start_server -o "ApiListen=127.0.0.1:$aport"
ph_wait_for "$PH_LOG" 'API: serving HTTP on 127\.0\.0\.1' 30
BASE=http://127.0.0.1:$aport

# call KEY METHOD PATH [BODY]: ST the status, R the body's file.
call() {
	R=$PH_TMP/resp
	if [ $# -ge 4 ]; then
		ST=$(curl -sS -o "$R" -w '%{http_code}' -X "$2" \
		    -H "Authorization: Bearer $1" --data-binary "$4" \
		    "$BASE$3") || ph_fail "curl $2 $3"
	else
		ST=$(curl -sS -o "$R" -w '%{http_code}' -X "$2" \
		    -H "Authorization: Bearer $1" "$BASE$3") || ph_fail "curl $2 $3"
	fi
}

ph_ssh_bg s1 -i "$PH_TMP/alice" -R 0:localhost:9 alice@127.0.0.1 tcp
s1=$PH_LAST_PID
ph_wait_tunnel s1
call "$AK" GET /tunnel_sessions
[ "$ST" = 200 ] || ph_fail "list sessions: $ST"
SS=$(jq -r '.tunnel_sessions[0].id' "$R")
call "$AK" POST "/tunnel_sessions/$SS/stop"
[ "$ST" = 204 ] || ph_fail "stop: $ST $(cat "$R")"
ph_wait_gone "$s1" 15
grep -q 'change notified: ' "$PH_LOG" ||
    ph_fail "the stop was not announced on the database"
ph_pass "on PostgreSQL, POST /tunnel_sessions/ID/stop makes ssh exit"

ph_ssh_bg s2 -i "$PH_TMP/bob" -R 0:localhost:9 bob@127.0.0.1 tcp
s2=$PH_LAST_PID
ph_wait_tunnel s2
call "$ADMIN" PATCH /accounts/bob '{"disabled":true}'
[ "$ST" = 200 ] || ph_fail "disable bob: $ST $(cat "$R")"
ph_wait_gone "$s2" 15
ph_pass "on PostgreSQL, PATCH /accounts/bob {\"disabled\":true} ends bob's session"

# Traffic limits: stored on PostgreSQL, and a live session re-reads them.
ph_ssh_bg s3 -i "$PH_TMP/alice" -R 0:localhost:9 alice@127.0.0.1 tcp
s3=$PH_LAST_PID
ph_wait_tunnel s3
sid=$(ph_ctl --json session list alice | jq -r .id)
re="session $sid: settings re-read on request"
before=$(grep -c "$re" "$PH_LOG")
call "$ADMIN" PATCH /accounts/alice '{"bandwidth_limit":1048576,
    "transfer_quota":{"bytes":1073741824,"period_s":86400},
    "connection_rate":null,"idle_timeout_s":0}'
[ "$ST" = 200 ] || ph_fail "alice's limits: $ST $(cat "$R")"
[ "$(jq -c '[.bandwidth_limit, .transfer_quota.period_s, .connection_rate,
    .idle_timeout_s]' "$R")" = '[1048576,86400,null,0]' ] ||
    ph_fail "alice's limits as answered: $(cat "$R")"
ph_wait_count "$PH_LOG" "$re" $((before + 1)) 15
kill "$s3"
ph_wait_gone "$s3"
ph_pass "on PostgreSQL, PATCH /accounts/alice sets her traffic limits and her live session re-reads them"

# Twenty reserves on four connections at once.
curl -sS --no-progress-meter --parallel --parallel-immediate --parallel-max 4 -o /dev/null \
    -w '%{http_code}\n' -X POST -H "Authorization: Bearer $AK" \
    -d '{"description":"p"}' "$BASE/reserved_addrs?n=[1-20]" \
    >"$PH_TMP/codes" || ph_fail "parallel reserves"
[ "$(grep -c '^201$' "$PH_TMP/codes")" -eq 20 ] ||
    ph_fail "parallel reserves: $(sort "$PH_TMP/codes" | uniq -c)"
call "$AK" GET "/reserved_addrs?limit=100"
[ "$(jq '.reserved_addrs | length' "$R")" -eq 20 ] ||
    ph_fail "not 20 addresses: $(cat "$R")"
[ "$(jq -r '[.reserved_addrs[].addr] | unique | length' "$R")" -eq 20 ] ||
    ph_fail "an address given twice"
ph_pass "on PostgreSQL, 20 reserves from 4 connections at once, 20 addresses"
