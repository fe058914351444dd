#!/bin/bash
# The HTTP API (ApiListen) with real curl against a real portholed, and
# real ssh -R sessions for it to show and stop: every resource, an
# account's key confined to its account (by id and by list), an
# administrator's routes refused to account keys with the reason, bad
# JSON, an oversized body and oversized headers answered (or the
# connection closed) while the server keeps serving, failed logins
# counted in /metrics and penalised, a stopped session's ssh exiting,
# live events (Server-Sent Events, resumed with Last-Event-ID), the API
# process restarted after it dies, and HTTPS with ApiCertificate. Every
# answer is checked against the schema /openapi.json gives for its
# route and status (apicheck.py, with python3-jsonschema).

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup
ph_require ssh ssh-keygen curl jq openssl
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
    ph_skip "python3-jsonschema is not installed"

ph_user alice
ph_user bob
ph_ctl account add carol >/dev/null || ph_fail "account add carol"
ph_keygen spare
aport=$("$TNET" freeport)
mport=$("$TNET" freeport)
ADMIN=$(ph_ctl api-key create --description admin 2>/dev/null) ||
    ph_fail "api-key create"
AK=$(ph_ctl api-key create --account alice 2>/dev/null) ||
    ph_fail "api-key create --account alice"
BK=$(ph_ctl api-key create --account bob 2>/dev/null) ||
    ph_fail "api-key create --account bob"
ph_start_server -o "ApiListen=127.0.0.1:$aport" \
    -o "MetricsListen=127.0.0.1:$mport" -o ApiMaxBodySize=4096 \
    -o "EventLog=$PH_TMP/events.log" \
    -o ApiMaxHeaderSize=8192 -o BandwidthLimit=2M
ph_wait_for "$PH_LOG" 'API: serving HTTP on 127\.0\.0\.1' 30
BASE=http://127.0.0.1:$aport
REC=$PH_TMP/records
: >"$REC"
n=0

# api KEY METHOD PATH [BODY]: one request; ST is its status, R the file
# with its body. Recorded for apicheck.py. An empty KEY sends none.
api() {
	local key=$1 method=$2 path=$3 data=${4-}
	local args

	n=$((n + 1))
	R=$PH_TMP/resp.$n
	args=(-sS -o "$R" -w '%{http_code}' -X "$method" --max-time 20)
	if [ -n "$key" ]; then
		args+=(-H "Authorization: Bearer $key")
	fi
	if [ $# -ge 4 ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$data")
	fi
	ST=$(curl "${args[@]}" "$BASE$path") ||
	    ph_fail "curl $method $path failed"
	printf '%s %s %s %s\n' "$method" "${path%%\?*}" "$ST" "$R" >>"$REC"
}

# expect STATUS WHAT: the last answer had STATUS.
expect() {
	[ "$ST" = "$1" ] ||
	    ph_fail "$2: status $ST, not $1: $(head -c 600 "$R")"
}

# j FILTER: jq -r on the last answer.
j() {
	jq -r "$1" "$R"
}

# --- the description, without a key ---------------------------------------
api "" GET /openapi.json
expect 200 "GET /openapi.json"
cp "$R" "$PH_TMP/openapi.json"
[ "$(j .openapi)" = 3.1.0 ] || ph_fail "/openapi.json is not OpenAPI 3.1"
ph_pass "/openapi.json served without a key"

# --- authentication ---------------------------------------------------------
api "" GET /reserved_addrs
expect 401 "no key"
[ "$(j .error_code)" = PORTHOLE_UNAUTHORIZED ] ||
    ph_fail "no key: error_code $(j .error_code)"
# A key of the right form that is not one (its last character changed).
case $AK in
*x) WRONG=${AK%?}y ;;
*) WRONG=${AK%?}x ;;
esac
api "$WRONG" GET /reserved_addrs
expect 401 "a wrong key"
j .msg | grep -q 'unknown or revoked' || ph_fail "wrong key: $(j .msg)"
ph_pass "401 JSON without a key and with a wrong one"

# --- reserved addresses, and an account's confinement ----------------------
api "$ADMIN" POST /reserved_addrs '{"account":"alice","description":"a1"}'
expect 201 "admin reserves for alice"
RA1=$(j .id)
[ "$(j .account.name)" = alice ] || ph_fail "RA1 not alice's"
api "$ADMIN" POST /reserved_addrs '{"description":"none"}'
expect 400 "admin reserves for no account"
api "$AK" POST /reserved_addrs '{"description":"mine","metadata":"m"}'
expect 201 "alice reserves her own"
RA2=$(j .id)
RA2ADDR=$(j .addr)
api "$BK" POST /reserved_addrs '{"description":"bobs"}'
expect 201 "bob reserves"
RAB=$(j .id)
api "$AK" GET "/reserved_addrs/$RA1"
expect 200 "alice gets RA1"
api "$AK" PATCH "/reserved_addrs/$RA1" \
    '{"description":"new","metadata":"{\"k\":1}","proxy_proto":1}'
expect 200 "alice updates RA1"
[ "$(j .description)/$(j .proxy_proto)" = new/1 ] ||
    ph_fail "update not applied: $(cat "$R")"
[ "$(j .pooling)" = false ] || ph_fail "pooling not false: $(cat "$R")"
api "$AK" PATCH "/reserved_addrs/$RA1" '{"pooling":true}'
expect 200 "alice pools RA1"
[ "$(j .pooling)" = true ] || ph_fail "pooling not applied: $(cat "$R")"
api "$AK" PATCH "/reserved_addrs/$RA1" '{"pooling":"on"}'
expect 400 "pooling must be a boolean"
api "$AK" PATCH "/reserved_addrs/$RA1" '{"pooling":false}'
expect 200 "alice stops pooling RA1"
[ "$(j .pooling)" = false ] || ph_fail "pooling not cleared: $(cat "$R")"
api "$AK" GET /reserved_addrs
expect 200 "alice lists"
[ "$(j '[.reserved_addrs[].account.name] | unique | join(",")')" = alice ] ||
    ph_fail "alice's list holds others': $(cat "$R")"
[ "$(j '.reserved_addrs | length')" -eq 2 ] || ph_fail "alice sees not 2"
api "$BK" GET "/reserved_addrs/$RA1"
expect 404 "bob gets alice's address"
api "$BK" PATCH "/reserved_addrs/$RA1" '{"description":"x"}'
expect 404 "bob updates alice's address"
api "$BK" DELETE "/reserved_addrs/$RA1"
expect 404 "bob deletes alice's address"
api "$BK" GET /reserved_addrs
expect 200 "bob lists"
j '.reserved_addrs[].id' | grep -qx "$RA1" && ph_fail "bob lists RA1"
api "$BK" GET "/reserved_addrs?account=alice"
[ "$ST" = 404 ] || [ "$(j '.reserved_addrs | length')" = 0 ] ||
    ph_fail "bob lists alice's by ?account=alice"
api "$ADMIN" GET /reserved_addrs
expect 200 "admin lists"
[ "$(j '.reserved_addrs | length')" -eq 3 ] || ph_fail "admin sees not 3"
grep -q "tcp_address_updated.v0.*$RA1" "$PH_TMP/events.log" ||
    ph_fail "the API's change is not in EventLog"
api "$AK" DELETE "/reserved_addrs/$RA1"
expect 204 "alice deletes RA1"
api "$AK" GET "/reserved_addrs/$RA1"
expect 404 "RA1 after delete"
ph_pass "reserved_addrs: create, get, update, list, delete; bob sees none of alice's"

# --- administrators' routes -------------------------------------------------
api "$AK" POST /accounts '{"name":"mallory"}'
expect 403 "alice adds an account"
j .msg | grep -q "administrator" || ph_fail "403 without reason: $(j .msg)"
api "$AK" POST /ip_policies '{"name":"p"}'
expect 403 "alice makes an IP policy"
api "$AK" POST /edges/tcp '{}'
expect 403 "alice makes an edge"
api "$AK" PATCH "/accounts/alice" '{"max_sessions":100}'
expect 403 "alice raises her limits"
api "$AK" POST /api_keys '{"account":"bob"}'
[ "$ST" = 403 ] || [ "$ST" = 404 ] || ph_fail "alice makes bob's key: $ST"
ph_pass "administrators' actions refused to an account key, saying why"

# --- accounts ---------------------------------------------------------------
api "$ADMIN" GET /accounts
expect 200 "admin lists accounts"
[ "$(j '.accounts | length')" -eq 3 ] || ph_fail "not 3 accounts"
BOBID=$(j '.accounts[] | select(.name=="bob") | .id')
api "$AK" GET /accounts
expect 200 "alice lists accounts"
[ "$(j '[.accounts[].name] | join(",")')" = alice ] ||
    ph_fail "alice lists others"
api "$AK" GET "/accounts/$BOBID"
expect 404 "alice gets bob's account"
api "$AK" PATCH /accounts/alice '{"description":"Alice"}'
expect 200 "alice describes herself"
api "$ADMIN" POST /accounts '{"name":"dave","description":"d"}'
expect 201 "admin adds dave"
DAVE=$(j .id)
api "$ADMIN" PATCH "/accounts/$DAVE" '{"disabled":true,"max_sessions":2}'
expect 200 "admin disables dave"
[ "$(j .disabled)/$(j .max_sessions)" = true/2 ] ||
    ph_fail "dave: $(cat "$R")"
api "$ADMIN" PATCH "/accounts/$DAVE" '{"disabled":false}'
expect 200 "admin enables dave"
api "$ADMIN" POST /accounts '{"name":"dave"}'
expect 409 "dave again"
api "$ADMIN" DELETE "/accounts/$DAVE"
expect 204 "admin deletes dave"
ph_pass "accounts: list, get, update, disable, enable, delete; 409 for a taken name"

# --- traffic limits of an account -------------------------------------------
api "$ADMIN" GET /accounts/bob
expect 200 "bob's limits as they start"
[ "$(j '[.bandwidth_limit, .bandwidth_limit_effective, .transfer_quota,
    .transfer_quota_effective, .idle_timeout_s_effective] | tojson')" = \
    '[null,2097152,null,0,0]' ] ||
    ph_fail "bob's default limits: $(cat "$R")"
api "$ADMIN" PATCH /accounts/bob '{"bandwidth_limit":1048576,
    "transfer_quota":{"bytes":10737418240,"period_s":2592000},
    "connection_rate":30,"connections_per_source":0,"idle_timeout_s":300}'
expect 200 "admin sets bob's limits"
[ "$(j '[.bandwidth_limit, .bandwidth_limit_effective,
    .transfer_quota.bytes, .transfer_quota_effective.period_s,
    .connection_rate, .connections_per_source,
    .connections_per_source_effective, .idle_timeout_s] | tojson')" = \
    '[1048576,1048576,10737418240,2592000,30,0,0,300]' ] ||
    ph_fail "bob's limits not applied: $(cat "$R")"
ph_ctl --json account show bob >"$PH_TMP/bob.json" ||
    ph_fail "account show bob"
[ "$(jq -c '[.bandwidth_limit, .transfer_quota.bytes, .idle_timeout_s]' \
    "$PH_TMP/bob.json")" = '[1048576,10737418240,300]' ] ||
    ph_fail "portholectl sees other limits: $(cat "$PH_TMP/bob.json")"
api "$ADMIN" PATCH /accounts/bob '{"bandwidth_limit":null,"transfer_quota":0}'
expect 200 "admin returns bob to the default bandwidth, no quota"
[ "$(j '[.bandwidth_limit, .bandwidth_limit_effective, .transfer_quota,
    .transfer_quota_effective, .connection_rate] | tojson')" = \
    '[null,2097152,0,0,30]' ] ||
    ph_fail "bob's limits after null/0: $(cat "$R")"
api "$ADMIN" PATCH /accounts/bob '{"transfer_quota":{"bytes":1,"period_s":60}}'
expect 400 "a quota period under an hour"
j .msg | grep -q "transfer quota" || ph_fail "400 without reason: $(j .msg)"
api "$ADMIN" PATCH /accounts/bob '{"transfer_quota":"10G/30d"}'
expect 400 "a quota as text"
api "$ADMIN" PATCH /accounts/bob '{"bandwidth_limit":-1}'
expect 400 "a negative bandwidth limit"
api "$ADMIN" PATCH /accounts/bob '{"connection_rate":1000001}'
expect 400 "a connection rate over the bound"
api "$AK" PATCH /accounts/alice '{"bandwidth_limit":0}'
expect 403 "alice lifts her own bandwidth limit"
j .msg | grep -q "administrator" || ph_fail "403 without reason: $(j .msg)"
api "$AK" GET /accounts/alice
expect 200 "alice reads her limits"
[ "$(j .bandwidth_limit_effective)" = 2097152 ] ||
    ph_fail "alice's limit changed: $(cat "$R")"
ph_pass "account limits: set, shown as set and effective, null/0, bounds, not by the account itself"

# --- SSH keys, authtokens, API keys ----------------------------------------
spare=$(cat "$PH_TMP/spare.pub")
api "$AK" POST /ssh_credentials \
    "$(jq -nc --arg k "$spare" '{public_key:$k,description:"laptop"}')"
expect 201 "alice adds a key"
SK=$(j .id)
[ "$(j .owner_id)" != null ] || ph_fail "key without owner"
api "$AK" POST /ssh_credentials \
    "$(jq -nc --arg k "$spare" '{public_key:$k}')"
expect 409 "the same key again"
api "$AK" GET /ssh_credentials
expect 200 "alice lists keys"
[ "$(j '.ssh_credentials | length')" -eq 2 ] || ph_fail "alice has not 2 keys"
api "$BK" GET "/ssh_credentials/$SK"
expect 404 "bob gets alice's key"
api "$AK" PATCH "/ssh_credentials/$SK" '{"description":"old laptop"}'
expect 200 "alice describes her key"
api "$AK" GET "/ssh_credentials/$SK"
expect 200 "alice gets her key"
api "$AK" POST /ssh_credentials '{"public_key":"-----BEGIN OPENSSH PRIVATE KEY-----"}'
expect 400 "a private key"
api "$AK" DELETE "/ssh_credentials/$SK"
expect 204 "alice deletes her key"

api "$AK" POST /credentials '{"description":"ci","metadata":"job 1"}'
expect 201 "alice makes a token"
TK=$(j .id)
TOKEN=$(j .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || ph_fail "no token shown"
api "$AK" GET "/credentials/$TK"
expect 200 "alice gets her token"
[ "$(j .token)" = null ] || ph_fail "the token is shown again"
api "$AK" PATCH "/credentials/$TK" '{"description":"ci2"}'
expect 200 "alice describes her token"
api "$AK" GET /credentials
expect 200 "alice lists tokens"
api "$BK" DELETE "/credentials/$TK"
expect 404 "bob revokes alice's token"
api "$AK" DELETE "/credentials/$TK"
expect 204 "alice revokes her token"

api "$ADMIN" POST /api_keys '{"account":"bob","description":"bob2"}'
expect 201 "admin makes bob a key"
KID=$(j .id)
BK2=$(j .token)
api "$BK2" GET /api_keys
expect 200 "bob's new key lists keys"
j '.keys[].owner_id' | sort -u | grep -vqx "$BOBID" &&
    ph_fail "bob lists others' keys"
api "$AK" GET "/api_keys/$KID"
expect 404 "alice gets bob's key"
api "$ADMIN" GET "/api_keys/$KID"
expect 200 "admin gets bob's key"
api "$ADMIN" DELETE "/api_keys/$KID"
expect 204 "admin revokes it"
api "$BK2" GET /api_keys
expect 401 "a revoked key"
ph_pass "ssh_credentials, credentials and api_keys: the secret shown once, confined to the account"

# --- IP policies and rules -------------------------------------------------
api "$ADMIN" POST /ip_policies '{"name":"office","description":"o"}'
expect 201 "admin makes a policy"
IP=$(j .id)
api "$ADMIN" POST /ip_policy_rules \
    "{\"ip_policy_id\":\"$IP\",\"cidr\":\"10.0.0.0/8\",\"action\":\"allow\",\"description\":\"lan\"}"
expect 201 "admin adds a rule"
IPR=$(j .id)
api "$ADMIN" POST /ip_policy_rules \
    "{\"ip_policy_id\":\"$IP\",\"cidr\":\"10.0.0.300/8\",\"action\":\"allow\"}"
expect 400 "a bad CIDR"
api "$ADMIN" GET "/ip_policy_rules?ip_policy_id=$IP"
expect 200 "rules of the policy"
[ "$(j '.ip_policy_rules | length')" -eq 1 ] || ph_fail "not 1 rule"
api "$ADMIN" PATCH "/ip_policy_rules/$IPR" '{"description":"LAN"}'
expect 200 "describe the rule"
api "$ADMIN" GET "/ip_policy_rules/$IPR"
expect 200 "get the rule"
api "$AK" GET "/ip_policies/$IP"
expect 200 "alice reads the policy"
api "$ADMIN" PATCH "/reserved_addrs/$RA2" "{\"ip_policy_id\":\"$IP\"}"
expect 200 "attach it to RA2"
[ "$(j .ip_policy.id)" = "$IP" ] || ph_fail "not attached"
api "$ADMIN" DELETE "/ip_policies/$IP"
expect 409 "delete an attached policy"
api "$ADMIN" PATCH "/reserved_addrs/$RA2" '{"ip_policy_id":null}'
expect 200 "detach it"
[ "$(j .ip_policy)" = null ] || ph_fail "not detached"
api "$ADMIN" PATCH "/ip_policies/$IP" '{"metadata":"m"}'
expect 200 "update the policy"
api "$ADMIN" GET /ip_policies
expect 200 "list policies"
api "$ADMIN" DELETE "/ip_policy_rules/$IPR"
expect 204 "delete the rule"
api "$ADMIN" DELETE "/ip_policies/$IP"
expect 204 "delete the policy"
ph_pass "ip_policies and ip_policy_rules"

# --- TCP edges ---------------------------------------------------------------
api "$ADMIN" POST /edges/tcp '{"description":"e1","backend_accounts":["alice"],"proxy_proto":2}'
expect 201 "admin makes an edge"
ED=$(j .id)
[ "$(j '.hostports | length')/$(j .backend.accounts[0].name)/$(j .proxy_proto)" = 1/alice/2 ] ||
    ph_fail "edge: $(cat "$R")"
api "$ADMIN" GET "/edges/tcp/$ED"
expect 200 "get the edge"
api "$ADMIN" PATCH "/edges/tcp/$ED" '{"description":"e2","proxy_proto":0}'
expect 200 "update the edge"
api "$ADMIN" GET /edges/tcp
expect 200 "list edges"
api "$ADMIN" POST "/edges/tcp/$ED/backend_accounts" '{"account":"bob"}'
expect 200 "add bob to the edge"
[ "$(j '.backend.accounts | length')" -eq 2 ] || ph_fail "not 2 backends"
api "$ADMIN" DELETE "/edges/tcp/$ED/backend_accounts/bob"
expect 200 "take bob out of the edge"
api "$ADMIN" POST /reserved_addrs '{"account":"bob","description":"for the edge"}'
expect 201 "an address for the edge"
EDADDR=$(j .addr)
api "$ADMIN" POST "/edges/tcp/$ED/hostports" "{\"addr\":\"$EDADDR\"}"
expect 200 "add an address to the edge"
[ "$(j '.hostports | length')" -eq 2 ] || ph_fail "not 2 hostports: $(cat "$R")"
api "$ADMIN" DELETE "/edges/tcp/$ED/hostports/$EDADDR"
expect 200 "take the address out"
api "$AK" POST "/edges/tcp/$ED/backend_accounts" '{"account":"alice"}'
[ "$ST" = 403 ] || [ "$ST" = 404 ] || ph_fail "alice changes an edge: $ST"
api "$AK" GET "/edges/tcp/$ED"
[ "$ST" = 403 ] || [ "$ST" = 404 ] || ph_fail "alice reads an edge: $ST"
api "$ADMIN" DELETE "/edges/tcp/$ED"
expect 204 "delete the edge"
ph_pass "edges/tcp"

# --- webhooks: destinations and subscriptions --------------------------------
api "$AK" POST /event_destinations \
    '{"description":"mine","target":{"http":{"url":"http://127.0.0.1:9/hook"}}}'
expect 201 "alice adds a destination"
DST=$(j .id)
[ "$(j .secret)" != null ] && [ -n "$(j .secret)" ] ||
    ph_fail "no secret shown at creation"
api "$AK" GET "/event_destinations/$DST"
expect 200 "alice gets her destination"
[ "$(j .secret)" = null ] || ph_fail "the secret is shown again"
api "$AK" POST /event_destinations '{"target":{"http":{"url":"gopher://x"}}}'
expect 400 "a destination that is not http(s)"
api "$AK" POST /event_destinations '{"target":"http://x"}'
expect 400 "a malformed target"
api "$AK" POST /event_subscriptions \
    "{\"sources\":[{\"type\":\"tcp_connection_closed.v0\"}],\"destination_ids\":[\"$DST\"]}"
expect 201 "alice subscribes"
ESB=$(j .id)
[ "$(j .destinations[0].id)" = "$DST" ] || ph_fail "subscription: $(cat "$R")"
api "$AK" PATCH "/event_subscriptions/$ESB" '{"description":"closed conns"}'
expect 200 "alice describes her subscription"
api "$AK" GET /event_subscriptions
expect 200 "alice lists subscriptions"
api "$BK" GET "/event_subscriptions/$ESB"
expect 404 "bob gets alice's subscription"
api "$BK" GET /event_destinations
expect 200 "bob lists destinations"
[ "$(j '.event_destinations | length')" -eq 0 ] ||
    ph_fail "bob lists alice's destinations"
api "$BK" POST /event_subscriptions \
    "{\"sources\":[{\"type\":\"*\"}],\"destination_ids\":[\"$DST\"]}"
[ "$ST" = 404 ] || [ "$ST" = 400 ] || [ "$ST" = 403 ] ||
    ph_fail "bob subscribes alice's destination: $ST"
api "$AK" PATCH "/event_destinations/$DST" '{"metadata":"m"}'
expect 200 "alice updates her destination"
api "$ADMIN" GET /event_destinations
expect 200 "admin lists destinations"
api "$AK" DELETE "/event_subscriptions/$ESB"
expect 204 "alice unsubscribes"
api "$AK" DELETE "/event_destinations/$DST"
expect 204 "alice deletes her destination"
ph_pass "event_destinations and event_subscriptions: the secret shown once, confined to the account"

# --- paging -----------------------------------------------------------------
for i in 1 2 3 4; do
	api "$ADMIN" POST /reserved_addrs "{\"account\":\"carol\",\"description\":\"p$i\"}"
	expect 201 "reserve p$i"
done
api "$ADMIN" GET "/reserved_addrs?account=carol&limit=3"
expect 200 "page 1"
[ "$(j '.reserved_addrs | length')" -eq 3 ] || ph_fail "page 1 not 3"
[ "$(j '[.reserved_addrs[].description] | join(",")')" = p4,p3,p2 ] ||
    ph_fail "page 1 not newest first: $(cat "$R")"
next=$(j .next_page_uri)
[ "$next" != null ] || ph_fail "no next_page_uri"
api "$ADMIN" GET "${next#"$BASE"}"
expect 200 "page 2"
[ "$(j '[.reserved_addrs[].description] | join(",")')" = p1 ] ||
    ph_fail "page 2: $(cat "$R")"
[ "$(j .next_page_uri)" = null ] || ph_fail "a page after the last"
api "$ADMIN" GET "/reserved_addrs?limit=0"
expect 400 "limit 0"
api "$ADMIN" GET "/reserved_addrs?limit=101"
expect 400 "limit 101"
ph_pass "lists page newest first with limit, before_id and next_page_uri"

# --- bad requests; the server keeps serving --------------------------------
api "$ADMIN" POST /reserved_addrs '{"account":"alice",'
expect 400 "bad JSON"
[ "$(j .error_code)" = PORTHOLE_INVALID_JSON ] || ph_fail "bad JSON: $(j .error_code)"
j .msg | grep -q 'line 1' || ph_fail "bad JSON without where: $(j .msg)"
api "$ADMIN" POST /reserved_addrs '[1,2]'
expect 400 "a JSON array"
api "$ADMIN" POST /reserved_addrs '{"account":"alice","colour":"red"}'
expect 400 "an unknown field"
j .msg | grep -q colour || ph_fail "unknown field not named"
api "$ADMIN" POST /reserved_addrs '{"account":7}'
expect 400 "a number for a string"
big=$(head -c 6000 /dev/zero | tr '\0' a)
api "$ADMIN" POST /reserved_addrs "{\"account\":\"alice\",\"description\":\"$big\"}"
expect 413 "a body over ApiMaxBodySize"
[ "$(j .error_code)" = PORTHOLE_BODY_TOO_LARGE ] || ph_fail "413: $(cat "$R")"
# The same without a Content-Length (chunked): read, dropped, then 413;
# and one that goes on far past the limit: the connection is closed.
printf '{"description":"%s"}' "$big" >"$PH_TMP/big.json"
st=$(curl -sS -o "$PH_TMP/chunked.out" -w '%{http_code}' --max-time 10 \
    -H 'Transfer-Encoding: chunked' -H "Authorization: Bearer $ADMIN" \
    --data-binary @"$PH_TMP/big.json" "$BASE/reserved_addrs") ||
    ph_fail "a chunked body over the limit: curl failed"
[ "$st" = 413 ] || ph_fail "a chunked body over the limit: $st"
head -c 300000 /dev/zero | tr '\0' c >"$PH_TMP/huge.json"
st=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    -H 'Transfer-Encoding: chunked' -H "Authorization: Bearer $ADMIN" \
    --data-binary @"$PH_TMP/huge.json" "$BASE/reserved_addrs" 2>/dev/null) ||
    st=closed
case $st in
closed | 000 | 413) ;;
*) ph_fail "a chunked body far over the limit: $st" ;;
esac
api "$ADMIN" PUT /reserved_addrs '{}'
expect 405 "PUT"
api "$ADMIN" GET /no/such/thing
expect 404 "an unknown path"
hdr=$(head -c 20000 /dev/zero | tr '\0' b)
st=$(curl -sS -o "$PH_TMP/bighdr" -w '%{http_code}' --max-time 10 \
    -H "X-Big: $hdr" -H "Authorization: Bearer $ADMIN" \
    "$BASE/reserved_addrs" 2>/dev/null) || st=closed
case $st in
431 | 413 | closed | 000) ;;
*) ph_fail "headers over ApiMaxHeaderSize: status $st" ;;
esac
api "$ADMIN" GET /reserved_addrs
expect 200 "still serving"
ph_pass "bad JSON, unknown fields, wrong types, 413, 405, 404, headers too large ($st); still serving"

# --- live sessions and endpoints; events live -----------------------------
ph_listen svc echo
svc=$PH_LAST_PORT
curl -sS -N --max-time 60 "$BASE/events/stream?access_token=$AK&event_type=tcp_connection_closed.v0" \
    >"$PH_TMP/sse.out" 2>"$PH_TMP/sse.err" &
ssepid=$!
ph_track "$ssepid"
curl -sS -N --max-time 60 -H "Authorization: Bearer $BK" "$BASE/events/stream" \
    >"$PH_TMP/sse-bob.out" 2>&1 &
ph_track "$!"
ph_wait_for "$PH_TMP/sse.out" '^retry:' 15
ph_ssh_bg s1 -i "$PH_TMP/alice" -R "0:localhost:$svc" alice@127.0.0.1 tcp
s1pid=$PH_LAST_PID
ph_wait_tunnel s1
api "$AK" GET /tunnel_sessions
expect 200 "alice lists sessions"
[ "$(j '.tunnel_sessions | length')" -eq 1 ] || ph_fail "alice has not 1 session"
SS=$(j '.tunnel_sessions[0].id')
[ "$(j '.tunnel_sessions[0].transport')" = ssh ] || ph_fail "transport"
api "$AK" GET "/tunnel_sessions/$SS"
expect 200 "alice gets her session"
api "$BK" GET /tunnel_sessions
expect 200 "bob lists sessions"
[ "$(j '.tunnel_sessions | length')" -eq 0 ] || ph_fail "bob sees alice's session"
api "$BK" GET "/tunnel_sessions/$SS"
expect 404 "bob gets alice's session"
api "$BK" POST "/tunnel_sessions/$SS/stop"
expect 404 "bob stops alice's session"
api "$AK" GET /endpoints
expect 200 "alice lists endpoints"
EP=$(j '.endpoints[0].id')
[ "$(j '.endpoints[0].public_url')" = "tcp://127.0.0.1:$PH_TUNNEL_PORT" ] ||
    ph_fail "endpoint url: $(cat "$R")"
api "$AK" GET "/endpoints/$EP"
expect 200 "alice gets her endpoint"
[ "$(j .type)/$(j .tunnel_session.id)" = "ephemeral/$SS" ] ||
    ph_fail "endpoint: $(cat "$R")"
api "$BK" GET "/endpoints/$EP"
expect 404 "bob gets alice's endpoint"
"$TNET" echo -t 15 "127.0.0.1:$PH_TUNNEL_PORT" 1000 >/dev/null ||
    ph_fail "no echo through the tunnel"
ph_wait_for "$PH_TMP/sse.out" '^event: tcp_connection_closed\.v0' 30
id1=$(sed -n 's/^id: //p' "$PH_TMP/sse.out" | head -n 1)
grep '^data: ' "$PH_TMP/sse.out" | head -n 1 | sed 's/^data: //' |
    jq -e ".object.conn.bytes_in == 1000" >/dev/null ||
    ph_fail "the event's data: $(cat "$PH_TMP/sse.out")"
"$TNET" echo -t 15 "127.0.0.1:$PH_TUNNEL_PORT" 10 >/dev/null ||
    ph_fail "no second echo"
ph_wait_count "$PH_TMP/sse.out" '^event: tcp_connection_closed\.v0' 2 30
curl -sS -N --max-time 3 -H "Last-Event-ID: $id1" \
    "$BASE/events/stream?access_token=$AK&event_type=tcp_connection_closed.v0" \
    >"$PH_TMP/sse2.out" 2>/dev/null || :
id2=$(sed -n 's/^id: //p' "$PH_TMP/sse.out" | sed -n 2p)
[ "$(sed -n 's/^id: //p' "$PH_TMP/sse2.out" | head -n 1)" = "$id2" ] ||
    ph_fail "Last-Event-ID $id1 did not resume at $id2: $(cat "$PH_TMP/sse2.out")"
ph_pass "events/stream with ?access_token: live events, id = sequence, Last-Event-ID resumes"
api "$AK" GET "/events?event_type=tcp_connection_closed.v0&limit=1"
expect 200 "alice lists events"
[ "$(j '.events | length')" -eq 1 ] && [ "$(j .next_page_uri)" != null ] ||
    ph_fail "events page: $(cat "$R")"
api "$AK" GET "/events"
expect 200 "alice lists all her events"
api "$BK" GET "/events?event_type=tcp_connection_closed.v0"
expect 200 "bob lists events"
[ "$(j '.events | length')" -eq 0 ] || ph_fail "bob sees alice's events"
api "$AK" GET "/events?event_type=nonsense"
expect 400 "an unknown event type"
api "$AK" GET "/events?since=1h&event_type=tcp_connection_closed.v0"
expect 200 "events of the last hour"
[ "$(j '.events | length')" -ge 2 ] || ph_fail "since=1h: $(cat "$R")"
api "$AK" GET "/events?since=2030-01-01T00:00:00Z"
expect 200 "events from the future"
[ "$(j '.events | length')" -eq 0 ] || ph_fail "events after 2030"
api "$AK" GET "/events?since=yesterday"
expect 400 "a bad since"
grep -q 'tcp_connection_closed' "$PH_TMP/sse-bob.out" &&
    ph_fail "bob's stream carries alice's events"
# Usage: the two echoes (1000 and 10 bytes each way), alice's alone.
deadline=$((SECONDS + 15))
until api "$AK" GET /usage && [ "$ST" = 200 ] &&
    [ "$(j '[.usage[].bytes_out] | add')" = 1010 ]; do
	[ "$SECONDS" -lt "$deadline" ] || ph_fail "GET /usage: $(cat "$R")"
	sleep 0.2
done
[ "$(j '.usage | length')/$(j '.usage[0].account')/$(j '.usage[0].endpoint')" = \
    "1/alice/127.0.0.1:$PH_TUNNEL_PORT" ] || ph_fail "GET /usage: $(cat "$R")"
[ "$(j '.usage[0].connections')/$(j '.usage[0].bytes_in')" = 2/1010 ] ||
    ph_fail "GET /usage figures: $(cat "$R")"
api "$BK" GET /usage
expect 200 "bob's usage"
[ "$(j '.usage | length')" -eq 0 ] || ph_fail "bob sees usage: $(cat "$R")"
api "$BK" GET "/usage?account=alice"
expect 404 "bob asks for alice's usage"
api "$ADMIN" GET "/usage?account=alice&by=hour&since=1h"
expect 200 "alice's usage by hour"
[ "$(j '.usage | length')/$(j '.usage[0].connections')" = 1/2 ] ||
    ph_fail "usage by hour: $(cat "$R")"
api "$ADMIN" GET "/usage?by=day&since=2030-01-01T00:00:00Z"
expect 200 "usage from the future"
[ "$(j '.usage | length')" -eq 0 ] || ph_fail "usage after 2030: $(cat "$R")"
api "$ADMIN" GET "/usage?by=week"
expect 400 "usage by week"
api "$ADMIN" GET "/usage?since=yesterday"
expect 400 "usage since yesterday"
ph_pass "GET /usage: an account's bytes and connections, by hour or day, confined to it"
api "$AK" POST "/tunnel_sessions/$SS/stop"
expect 204 "alice stops her session"
ph_wait_gone "$s1pid" 15
api "$AK" GET "/tunnel_sessions/$SS"
expect 200 "the stopped session"
[ "$(j .ended_at)" != null ] || ph_fail "stopped session not ended"
ph_pass "tunnel_sessions and endpoints confined to the account; stop makes ssh exit"

# --- failed authentication: logged, counted, penalised ------------------------
grep -F -- "$AK" "$PH_LOG" && ph_fail "an API key in the log"
# Each failure earns authfail (2 s) while the penalty wears off with
# time: on a loaded machine a request can take a second, so go on until
# the 429 (at least 12, at most 60), not for a fixed count.
pen429=
for i in $(seq 1 60); do
	c=$(curl -sS -o "$PH_TMP/pen.$i" -w '%{http_code}' --interface 127.0.0.2 \
	    -H "Authorization: Bearer $WRONG" "$BASE/reserved_addrs" \
	    2>/dev/null) || :
	printf '%s ' "$c" >>"$PH_TMP/pen.codes"
	if [ "$c" = 429 ]; then
		pen429=$PH_TMP/pen.$i
		printf 'GET /reserved_addrs 429 %s\n' "$pen429" >>"$REC"
	fi
	[ -n "$pen429" ] && [ "$i" -ge 12 ] && break
done
[ -n "$pen429" ] ||
    ph_fail "no 429 after 60 failures: $(cat "$PH_TMP/pen.codes")"
jq -e '.error_code == "PORTHOLE_PENALIZED"' "$pen429" >/dev/null ||
    ph_fail "429 body: $(cat "$pen429")"
api "$ADMIN" GET /reserved_addrs
expect 200 "another source is not penalised"
grep -q 'API: authentication failed from 127.0.0.2' "$PH_LOG" ||
    ph_fail "failures not logged"
# Every 401 above is counted (a 429 is refused before any key is read).
n401=$(grep -o 401 "$PH_TMP/pen.codes" | wc -l)
deadline=$((SECONDS + 15))
until fails=$(curl -sS "http://127.0.0.1:$mport/metrics" |
    sed -n 's/^porthole_api_auth_failures_total \([0-9]*\)$/\1/p') &&
    [ "${fails:-0}" -ge "$n401" ]; do
	[ "$SECONDS" -lt "$deadline" ] ||
	    ph_fail "porthole_api_auth_failures_total ${fails:-missing}, not >= $n401"
	sleep 0.2
done
ph_pass "failed API logins logged, counted ($fails) in /metrics, the source refused (429)"

# --- the API process is restarted when it dies ------------------------
apipid=$(sed -n 's/.*API: serving HTTP on .* (process \([0-9]*\)).*/\1/p' \
    "$PH_LOG" | tail -n 1)
[ -n "$apipid" ] || ph_fail "no API process pid in the log"
kill -9 "$apipid"
ph_wait_count "$PH_LOG" 'API: serving HTTP on' 2 30
api "$ADMIN" GET /accounts
expect 200 "after the restart"
ph_pass "the API process (pid $apipid) killed, a new one serves"

/usr/bin/python3 "$top_srcdir/tests/integration/apicheck.py" \
    "$PH_TMP/openapi.json" "$REC" >"$PH_TMP/apicheck.out" ||
    ph_fail "answers that do not match /openapi.json:
$(cat "$PH_TMP/apicheck.out")"
ph_pass "$(tail -n 1 "$PH_TMP/apicheck.out")"

# --- HTTPS --------------------------------------------------------------------
ph_stop_server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PH_TMP/api.key" -out "$PH_TMP/api.crt" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    >/dev/null 2>&1 || ph_fail "openssl req failed"
ph_start_server -o "ApiListen=127.0.0.1:$aport" \
    -o "ApiCertificate=$PH_TMP/api.crt" -o "ApiPrivateKey=$PH_TMP/api.key" \
    -o ApiMaxConnections=3 -o ApiMaxConnectionsPerSource=2 \
    -o ApiRequestTimeout=3s
ph_wait_for "$PH_LOG" 'API: serving HTTPS on 127\.0\.0\.1' 30
st=$(curl -sS -o "$PH_TMP/tls.out" -w '%{http_code}' --max-time 10 \
    --cacert "$PH_TMP/api.crt" -H "Authorization: Bearer $ADMIN" \
    "https://127.0.0.1:$aport/reserved_addrs") || ph_fail "HTTPS failed"
[ "$st" = 200 ] || ph_fail "HTTPS status $st"
jq -e '.uri | startswith("https://")' "$PH_TMP/tls.out" >/dev/null ||
    ph_fail "uri not https: $(cat "$PH_TMP/tls.out")"
curl -sS -o /dev/null --max-time 5 "http://127.0.0.1:$aport/reserved_addrs" \
    2>/dev/null && ph_fail "plain HTTP answered on the HTTPS port"
ph_pass "HTTPS with ApiCertificate and ApiPrivateKey, checked with curl --cacert"

# --- slow clients hold up only themselves ---------------------------------
# Two connections from 127.0.0.1 that never send a byte take all that
# ApiMaxConnectionsPerSource gives it: a third from there is refused,
# one from 127.0.0.2 is served, SSH logins go on, and
# ApiRequestTimeout frees the slots.
for i in 1 2; do
	ph_bg "idle$i" "$TNET" line -t 30 "127.0.0.1:$aport"
done
sleep 0.5
curl -sS -o /dev/null --max-time 2 --cacert "$PH_TMP/api.crt" \
    -H "Authorization: Bearer $ADMIN" "https://127.0.0.1:$aport/accounts" \
    2>/dev/null && ph_fail "a third connection from 127.0.0.1 served"
st=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
    --interface 127.0.0.2 --cacert "$PH_TMP/api.crt" \
    -H "Authorization: Bearer $ADMIN" "https://127.0.0.1:$aport/accounts") ||
    ph_fail "127.0.0.2 not served while 127.0.0.1 holds its slots"
[ "$st" = 200 ] || ph_fail "127.0.0.2: status $st"
ph_ssh_bg s2 -i "$PH_TMP/bob" -N -R "0:localhost:9" bob@127.0.0.1
ph_wait_tunnel s2
ph_kill "$PH_LAST_PID"
deadline=$((SECONDS + 20))
until st=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 3 \
    --cacert "$PH_TMP/api.crt" -H "Authorization: Bearer $ADMIN" \
    "https://127.0.0.1:$aport/accounts" 2>/dev/null) && [ "$st" = 200 ]; do
	[ "$SECONDS" -lt "$deadline" ] ||
	    ph_fail "the API does not serve again after ApiRequestTimeout"
	sleep 0.5
done
ph_pass "idle clients: ApiMaxConnectionsPerSource refuses a third from one source, another source is served, SSH unaffected, ApiRequestTimeout frees them"
