#!/bin/bash
# The bash completion, contrib/completion/portholectl, driven as bash
# drives it: COMP_WORDS and COMP_CWORD set, the function called, then
# COMPREPLY read. Commands, subcommands, options and their values, and
# the live names of a real store (accounts, addresses, edges, IP
# policies); a store that is missing offers nothing and says nothing.
# The commands of `portholectl help` must all be offered, so a command
# the grammar gains and the completion misses fails here.

set -u
: "${top_srcdir:?}"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$top_srcdir/tests/integration/lib.sh"
ph_setup

completion=$top_srcdir/contrib/completion/portholectl
[ -f "$completion" ] || ph_fail "$completion is missing"
# shellcheck source=../../contrib/completion/portholectl
. "$completion" || ph_fail "sourcing $completion failed"
declare -F _portholectl >/dev/null || ph_fail "no _portholectl function"
complete -p portholectl >/dev/null 2>&1 ||
    ph_fail "$completion does not register a completion for portholectl"

# bash's own default: the completion must cope with = and : splitting
# words.
COMP_WORDBREAKS=$' \t\n"'"'"'><=;|&(:'

# comp WORD...: complete the last WORD of "portholectl -f CONF WORD..."
# (give "" to complete an empty word), as bash splits the line: a WORD
# of "=" or ":" stands for bash's split at that character. Sets $reply
# to the answers, sorted, one space between each; $cerr holds what the
# completion wrote on stderr.
comp() {
	local errf=$PH_TMP/comp.err

	COMP_WORDS=("$CTL" -f "$PH_CONF" "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_portholectl portholectl "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}" 2>"$errf"
	reply=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | LC_ALL=C sort |
	    tr '\n' ' ')
	reply=${reply% }
	cerr=$(cat "$errf")
}

# expect WANT WORD...: comp WORD..., and its answers must be WANT.
expect() {
	local want=$1

	shift
	comp "$@"
	[ "$reply" = "$want" ] ||
		ph_fail "complete '$*': got '$reply', want '$want'"
	[ -z "$cerr" ] || ph_fail "complete '$*': wrote stderr: $cerr"
}

# has WANT WORD...: comp WORD..., and each word of WANT must be offered.
has() {
	local want=$1 w

	shift
	comp "$@"
	for w in $want; do
		case " $reply " in
		*" $w "*) ;;
		*) ph_fail "complete '$*': no '$w' in '$reply'" ;;
		esac
	done
	[ -z "$cerr" ] || ph_fail "complete '$*': wrote stderr: $cerr"
}

# The store does not exist yet: commands still complete, names do not.
ph_ctl init >/dev/null 2>&1 && rm -rf "$PH_TMP/state"
expect "" account show ""
expect "" address show ""
ph_pass "no store: no names, nothing on stderr"

# Every command `portholectl help` lists, and nothing else.
cmds=$("$CTL" help | sed -n 's/^    \([a-z][a-z-]*\).*/\1/p' | LC_ALL=C sort -u |
    tr '\n' ' ')
cmds=${cmds% }
[ -n "$cmds" ] || ph_fail "no commands in portholectl help"
expect "$cmds" ""
ph_pass "the commands of portholectl help: $cmds"
expect "account address api-key" a
expect "ip-policy" ip
# portholectl's own options, before the command.
expect "--help --json" --
expect "--help --json -f -o" -
expect "add delete disable enable list show update" account ""
expect "add remove" edge address ""
expect "allow deny" ip-policy rule add office ""
ph_pass "commands and subcommands"

# A command's options: offered after its words, as the word starts with
# -- or when nothing else can come; and not where a value goes.
has "--description --max-sessions --ip-policy --bandwidth --idle-timeout" \
    account update alice --
has "--description --max-sessions" account update alice ""
has "--description --address" edge create ""
expect "--follow --limit --since --type" events --
expect "" account update alice --description ""
expect "--by --since" usage alice --
ph_pass "options"

# Fixed values of an option, "--opt VALUE" and "--opt=VALUE" (which bash
# splits at the =).
expect "off on" address update ra_x --pooling ""
expect "0 1 2" edge update ed_x --proxy-proto ""
expect "day hour" usage --by ""
has "tcp_address_created.v0" events --type ""
expect "off on" address update ra_x --pooling = ""
expect "off" address update ra_x --pooling = of
expect "default none" account update alice --bandwidth ""
ph_pass "option values"

# Now a real store with names in it.
ph_ctl init >/dev/null || ph_fail "portholectl init"
for a in alice bob carol; do
	ph_ctl account add "$a" >/dev/null || ph_fail "account add $a"
done
ph_ctl ip-policy create office --allow 10.0.0.0/8 >/dev/null ||
    ph_fail "ip-policy create"
ph_ctl ip-policy create lab --deny 192.0.2.0/24 >/dev/null ||
    ph_fail "ip-policy create"
addr_json=$(ph_ctl --json address reserve alice) ||
    ph_fail "address reserve"
addr_id=$(printf '%s\n' "$addr_json" | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
addr_port=$(printf '%s\n' "$addr_json" | sed -n 's/.*"port":\([0-9]*\).*/\1/p')
addr_host=$(printf '%s\n' "$addr_json" |
    sed -n 's/.*"host":"\([^"]*\)".*/\1/p')
[ -n "$addr_id" ] && [ -n "$addr_port" ] && [ -n "$addr_host" ] ||
    ph_fail "address reserve --json: no id, host or port in: $addr_json"
edge_json=$(ph_ctl --json edge create --description web) ||
    ph_fail "edge create"
edge_id=$(printf '%s\n' "$edge_json" | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
[ -n "$edge_id" ] || ph_fail "edge create --json: no id in: $edge_json"

expect "alice bob carol" account show ""
expect "alice" account show a
expect "bob" key add b
expect "alice bob carol" edge backend add "$edge_id" ""
has "alice bob carol" usage ""
expect "alice bob carol" api-key create --account ""
ph_pass "live account names"

# An address is its id or HOST:PORT; edges reserve one of their own.
has "$addr_id $addr_host:$addr_port" address show ""
expect "$addr_id" address show "${addr_id%?}"
has "$addr_id" edge address add "$edge_id" ""
has "$addr_id" edge create --address ""
# "HOST:PORT" as bash splits it: only what follows the ':' is replaced.
expect "$addr_port" address show "$addr_host" : "$addr_port"
ph_pass "live addresses: $addr_id, $addr_host:$addr_port"

expect "$edge_id" edge show ""
expect "$edge_id" edge update "${edge_id%?}"
ph_pass "live edges: $edge_id"

expect "lab office" ip-policy show ""
expect "office" ip-policy rule add o
expect "lab none office" account update alice --ip-policy ""
expect "lab none office" address update "$addr_id" --ip-policy = ""
expect "office" edge update "$edge_id" --ip-policy = of
ph_pass "live IP policy names"

# The names come from the store the line names with -f.
sed "s|$PH_TMP/state|$PH_TMP/nostate|" "$PH_CONF" >"$PH_TMP/other.conf"
COMP_WORDS=("$CTL" -f "$PH_TMP/other.conf" account show "")
COMP_CWORD=5
COMPREPLY=()
_portholectl portholectl "" show 2>"$PH_TMP/comp.err"
[ "${#COMPREPLY[@]}" -eq 0 ] ||
    ph_fail "-f other.conf (no store): offered ${COMPREPLY[*]}"
[ -s "$PH_TMP/comp.err" ] && ph_fail "-f other.conf: wrote stderr"
ph_pass "-f on the line: another configuration's (missing) store"

# After a word the grammar does not take, nothing.
expect "" nosuch ""
expect "" account list ""
ph_pass "nothing after an unknown word or a complete command"
