#!/bin/bash
# Webhooks end to end: a real receiver (hookrecv.py) that checks the
# signature of every request, a real portholed and real ssh -R sessions
# whose connections make the events. The receiver goes away for 30 s
# and portholed restarts in the middle of it; the delivery process is
# killed once and comes back. In the end every event the store holds
# since the destination was made has arrived, in the store's order,
# each request signed right; an account's destination gets only its
# account's events of its types; the checker itself rejects a wrong
# secret and a changed body.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen jq /usr/bin/python3

RECV=$top_srcdir/tests/integration/hookrecv.py
OUTAGE=${PH_WEBHOOK_OUTAGE:-30}

ph_user alice
ph_user bob
ph_listen svc echo
svc=$PH_LAST_PORT

# recv_start NAME PORT SECRET_FILE: (re)start receiver NAME on PORT,
# writing into $PH_TMP/hook-NAME/.
recv_start() {
	mkdir -p "$PH_TMP/hook-$1"
	ph_bg "recv-$1" /usr/bin/python3 "$RECV" serve "$2" "$3" \
	    "$PH_TMP/hook-$1"
	eval "recv_pid_$1=\$PH_LAST_PID"
	ph_wait_for "$PH_TMP/recv-$1.out" '^listening' 15 "$PH_LAST_PID"
}

# received NAME: the event ids receiver NAME got, in order, each once.
received() {
	[ -s "$PH_TMP/hook-$1/events.jsonl" ] || return 0
	jq -r '.event.event_id' "$PH_TMP/hook-$1/events.jsonl" | awk '!seen[$0]++'
}

# stored_since FILE [JQ_FILTER]: the ids of the events the store holds
# that FILE (the ids stored before) does not, oldest first.
stored_since() {
	ph_ctl --json events | jq -r "${2:-.} | .event_id" |
	    grep -vxF -f "$1" || true
}

# wait_all NAME BEFORE TIMEOUT [JQ_FILTER]: until receiver NAME has
# every event stored since BEFORE (matching the filter), in order.
wait_all() {
	local n=0

	until [ "$(received "$1")" = "$(stored_since "$2" "${4:-}")" ]; do
		n=$((n + 1))
		[ "$n" -le $(($3 * 5)) ] || ph_fail "$1 got \
$(received "$1" | wc -l) of $(stored_since "$2" "${4:-}" | wc -l) events \
after $3 s"
		sleep 0.2
	done
}

# wait_closed N: until the store holds N tcp_connection_closed.v0 events
# (a session reports its connections in batches).
wait_closed() {
	local n=0

	until [ "$(ph_ctl events --type tcp_connection_closed.v0 | wc -l)" \
	    -ge "$1" ]; do
		n=$((n + 1))
		[ "$n" -le 150 ] || ph_fail "fewer than $1 connections stored"
		sleep 0.2
	done
}

# connections N: N connections through a new alice session, closed.
connections() {
	local port

	ph_ssh_bg "sess$1" -i "$PH_TMP/alice" -R "0:127.0.0.1:$svc" \
	    alice@127.0.0.1 tcp
	ph_wait_for "$PH_TMP/sess$1.out" "^Forwarding" 15 "$PH_LAST_PID"
	port=$(ph_tunnel_port "$PH_TMP/sess$1.out")
	"$TNET" many -t 60 "127.0.0.1:$port" "$2" 16 >"$PH_TMP/many$1.out" ||
	    ph_fail "connections: $(cat "$PH_TMP/many$1.out")"
}

ph_start_server
rport=$("$TNET" freeport)
bport=$("$TNET" freeport)

# --- destinations and subscriptions ------------------------------------------
ph_ctl --json events | jq -r .event_id >"$PH_TMP/before.ids"
ph_ctl destination create "http://127.0.0.1:$rport/hook" \
    --description "all events" >"$PH_TMP/admin.secret" ||
    ph_fail "destination create"
grep -qE '^whsec_[A-Za-z0-9]{40}$' "$PH_TMP/admin.secret" ||
    ph_fail "the secret is not shown: $(cat "$PH_TMP/admin.secret")"
dst=$(ph_ctl --json destination list | jq -r 'select(.account == null) | .id')
[[ $dst == dst_* ]] || ph_fail "no destination id: $dst"
# The secret is shown once: no listing has it.
! ph_ctl --json destination list | grep -qF "$(cat "$PH_TMP/admin.secret")" ||
    ph_fail "destination list shows the secret"
sub=$(ph_ctl subscription create --destination "$dst" --type '*') ||
    ph_fail "subscription create"
[[ $sub == esb_* ]] || ph_fail "no subscription id: $sub"
# bob's own destination, for his closed connections only.
echo "bob-secret-0123456789" >"$PH_TMP/bob.secret"
ph_ctl destination create "http://127.0.0.1:$bport/b" --account bob \
    --secret "$(cat "$PH_TMP/bob.secret")" >/dev/null ||
    ph_fail "destination create --account bob"
bdst=$(ph_ctl --json destination list bob | jq -r .id)
ph_ctl subscription create --account bob --destination "$bdst" \
    --type tcp_connection_closed.v0 >/dev/null || ph_fail "bob's subscription"
# bob cannot subscribe the admin's destination; unknown types are refused.
! ph_ctl subscription create --account bob --destination "$dst" \
    --type '*' 2>"$PH_TMP/err" || ph_fail "bob subscribed the admin's"
grep -q "not of the subscription's owner" "$PH_TMP/err" ||
    ph_fail "wrong refusal: $(cat "$PH_TMP/err")"
! ph_ctl subscription create --destination "$dst" --type nope.v0 \
    2>/dev/null || ph_fail "an unknown type was taken"
ph_pass "destinations and subscriptions"

recv_start admin "$rport" "$PH_TMP/admin.secret"
recv_start bob "$bport" "$PH_TMP/bob.secret"

# --- delivery ----------------------------------------------------------------
connections 1 20
ph_ssh_bg bobsess -i "$PH_TMP/bob" -R "0:127.0.0.1:$svc" bob@127.0.0.1 tcp
ph_wait_for "$PH_TMP/bobsess.out" "^Forwarding" 15 "$PH_LAST_PID"
bobport=$(ph_tunnel_port "$PH_TMP/bobsess.out")
"$TNET" many -t 60 "127.0.0.1:$bobport" 5 16 >/dev/null ||
    ph_fail "bob's connections"
wait_closed 25
wait_all admin "$PH_TMP/before.ids" 30
n1=$(received admin | wc -l)
ph_pass "$n1 events delivered"

# --- the delivery process dies and comes back --------------------------------
wpid=$(pgrep -P "$PH_SERVER_PID" -f 'portholed -W' | head -n 1)
[ -n "$wpid" ] || ph_fail "no delivery process under $PH_SERVER_PID"
kill -KILL "$wpid"
ph_wait_for "$PH_LOG" "webhook delivery \\(process $wpid\\) is gone" 15
n=0
until npid=$(pgrep -P "$PH_SERVER_PID" -f 'portholed -W') &&
    [ -n "$npid" ] && [ "$npid" != "$wpid" ]; do
	n=$((n + 1))
	[ "$n" -le 100 ] || ph_fail "no new delivery process"
	sleep 0.1
done
ph_pass "the delivery process is started again"

# --- a 30 s outage with a restart of portholed in it -------------------------
t0=$(date +%s)
ph_kill "$recv_pid_admin"
connections 2 20
wait_closed 45
ph_wait_for "$PH_LOG" "webhook $dst: .*attempt 1 failed" 30
ph_stop_server
ph_start_server
connections 3 20
wait_closed 65
left=$((OUTAGE - ($(date +%s) - t0)))
[ "$left" -le 0 ] || sleep "$left"
recv_start admin "$rport" "$PH_TMP/admin.secret"
# After 30 s of failures the next attempt is at most 60 s away.
wait_all admin "$PH_TMP/before.ids" 90
grep -qE "webhook $dst: .*attempt [3-9] failed" "$PH_LOG".* "$PH_LOG" ||
    ph_fail "no retries logged"
ph_pass "all $(received admin | wc -l) events after the outage and restart"
ph_ctl metrics >"$PH_TMP/metrics" || ph_fail "metrics"
fails=$(sed -n 's/^porthole_webhook_failures_total //p' "$PH_TMP/metrics")
took=$(sed -n 's/^porthole_webhook_events_delivered_total //p' \
    "$PH_TMP/metrics")
[ "${fails:-0}" -ge 3 ] && [ "${took:-0}" -ge "$(received admin | wc -l)" ] ||
    ph_fail "metrics: failures ${fails:-none}, delivered ${took:-none}"
ph_pass "metrics: $fails failures, $took events delivered"

# --- in order, signed right, scoped ------------------------------------------
received admin >"$PH_TMP/got.ids"
stored_since "$PH_TMP/before.ids" >"$PH_TMP/want.ids"
cmp -s "$PH_TMP/got.ids" "$PH_TMP/want.ids" || ph_fail "order differs"
# Within a batch and across them, the store's order: seq only grows.
[ ! -s "$PH_TMP/hook-admin/bad.log" ] ||
    ph_fail "bad signatures: $(head -n 3 "$PH_TMP/hook-admin/bad.log")"
nreq=$(find "$PH_TMP/hook-admin" -name 'req-*.body' | wc -l)
wait_all bob "$PH_TMP/before.ids" 30 \
    'select(.account_id == "'"$(ph_ctl --json account show bob |
        jq -r .id)"'" and .event_type == "tcp_connection_closed.v0")'
[ "$(received bob | wc -l)" -eq 5 ] ||
    ph_fail "bob got $(received bob | wc -l) events, want 5"
[ ! -s "$PH_TMP/hook-bob/bad.log" ] || ph_fail "bad signatures for bob"
ph_pass "in order, $nreq requests signed right; bob's 5 events only"

# --- the checker checks ------------------------------------------------------
req=$(find "$PH_TMP/hook-admin" -name 'req-*.body' | head -n 1)
/usr/bin/python3 "$RECV" verify "$PH_TMP/admin.secret" "$req" \
    "${req%.body}.sig" || ph_fail "the checker rejects a good request"
echo "whsec_wrongwrongwrongwrongwrongwrongwrongwron" >"$PH_TMP/wrong.secret"
! /usr/bin/python3 "$RECV" verify "$PH_TMP/wrong.secret" "$req" \
    "${req%.body}.sig" || ph_fail "the checker takes a wrong secret"
printf ' ' | cat "$req" - >"$PH_TMP/changed.body"
! /usr/bin/python3 "$RECV" verify "$PH_TMP/admin.secret" \
    "$PH_TMP/changed.body" "${req%.body}.sig" ||
    ph_fail "the checker takes a changed body"
ph_pass "a wrong secret or a changed body fails verification"

# --- delete ------------------------------------------------------------------
ph_ctl destination delete "$dst" >/dev/null || ph_fail "destination delete"
ph_ctl --json subscription list | jq -e --arg s "$sub" \
    'select(.id == $s) | .destination_ids == []' >/dev/null ||
    ph_fail "the subscription still names the deleted destination"
! ph_ctl destination show "$dst" 2>/dev/null || ph_fail "deleted, still shown"
ph_pass "destination deleted"
ph_stop_server
