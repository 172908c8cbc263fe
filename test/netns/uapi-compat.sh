#!/usr/bin/env bash
# `wg` sees wgts as it sees wireguard-go: the same configuration given to wgts (ns1) and to a
# wireguard-go binary ($1, in ns2; separate namespaces so both can hold the same listen port) must
# read back identically through `wg showconf` and `wg show`. Then refused settings: `wg set` with bad
# values fails and leaves the configuration as it was, and raw UAPI errors come back as errno lines.
#
# Usage: uapi-compat.sh PATH-TO-WIREGUARD-GO
source "$(dirname "$0")/lib.sh"

GO_IMPL=${1:?usage: uapi-compat.sh PATH-TO-WIREGUARD-GO}
echo "# wg's view of wgts ($IF1) vs $GO_IMPL ($IF2)"

setup_pair
make_keys
start_wgts "$NS1" "$IF1"
start_peer "$NS2" "$IF2" "$GO_IMPL"

# Four peers (a PSK, IPv4, IPv6 and IPv4-mapped IPv6 endpoints, several allowed IPs, a keepalive), an
# fwmark. The keepalive goes on the peer without an endpoint: elsewhere it would send handshakes, and
# the transfer counters `wg show` prints would depend on timing.
cat >"$TMP/conf" <<EOF
[Interface]
PrivateKey = $(cat "$TMP/priv1")
ListenPort = 41414
FwMark = 0x1234

[Peer]
PublicKey = $(cat "$TMP/pub2")
PresharedKey = $(cat "$TMP/psk")
AllowedIPs = 10.10.0.0/16, 2001:db8:10::/48, 198.51.100.7/32
Endpoint = 192.0.2.99:51820

[Peer]
PublicKey = $(wg genkey | wg pubkey)
AllowedIPs = 10.20.0.1/32
Endpoint = [2001:db8::99]:1234

[Peer]
PublicKey = $(wg genkey | wg pubkey)
AllowedIPs = 10.30.0.1/32
Endpoint = [::ffff:192.0.2.98]:51820

[Peer]
PublicKey = $(wg genkey | wg pubkey)
PersistentKeepalive = 25
EOF
n1 wg setconf "$IF1" "$TMP/conf"
n2 wg setconf "$IF2" "$TMP/conf"
ip -n "$NS1" link set "$IF1" up
ip -n "$NS2" link set "$IF2" up

# Peers come back in each implementation's own order (wireguard-go's is a Go map's), and so may the
# allowed IPs of one peer: sort both; the interface name is the only other expected difference.
normalize() {
  python3 -c '
import re, sys
text = sys.stdin.read().replace(sys.argv[1], "IFNAME").strip()
def sort_ips(line):
    m = re.match(r"^(\s*(?:AllowedIPs = |allowed ips: ))(.*)$", line)
    return m.group(1) + ", ".join(sorted(m.group(2).split(", "))) if m else line
blocks = ["\n".join(sort_ips(l) for l in b.splitlines()) for b in re.split(r"\n+(?=\[Peer\]|peer: )", text)]
print("\n\n".join(blocks[:1] + sorted(blocks[1:])))
' "$1"
}

n1 wg showconf "$IF1" | normalize "$IF1" >"$TMP/showconf.wgts"
n2 wg showconf "$IF2" | normalize "$IF2" >"$TMP/showconf.go"
check "wg showconf: wgts equals wireguard-go" diff -u "$TMP/showconf.go" "$TMP/showconf.wgts"

# `wg show` hides private and preshared keys: the human-readable form must match too.
n1 wg show "$IF1" | normalize "$IF1" >"$TMP/show.wgts"
n2 wg show "$IF2" | normalize "$IF2" >"$TMP/show.go"
check "wg show: wgts equals wireguard-go" diff -u "$TMP/show.go" "$TMP/show.wgts"
check "wg show dump has as many lines" test "$(n1 wg show "$IF1" dump | wc -l)" = "$(n2 wg show "$IF2" dump | wc -l)"

# --- refused settings change nothing ---
before=$(n1 wg showconf "$IF1")
check "wg set listen-port abc is refused" bash -c "! ip netns exec $NS1 wg set $IF1 listen-port abc 2>/dev/null"
check "wg set bad allowed-ips is refused" \
  bash -c "! ip netns exec $NS1 wg set $IF1 peer $(cat "$TMP/pub2") allowed-ips 10.0.0.300/32 2>/dev/null"

# A port held by another socket: the daemon itself refuses (EADDRINUSE) and keeps its old port.
ip netns exec "$NS1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 41515))
t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); t.bind(("::", 41515))
open(sys.argv[1], "w").close()
time.sleep(60)' "$TMP/holder-ready" &
holder=$!
wait_for 200 test -e "$TMP/holder-ready" || die "the port holder did not start"
out=$(n1 wg set "$IF1" listen-port 41515 private-key "$TMP/priv2" 2>&1) && rc=0 || rc=$?
check "wg set listen-port to a port in use fails" test "$rc" -ne 0
check "  ... with 'Address already in use'" grep -q "Address already in use" <<<"$out"
check "  ... and changes nothing (port, key)" test "$(n1 wg showconf "$IF1")" = "$before"
check "  ... and the old port still receives" bash -c "ip netns exec $NS1 ss -lun | grep -q ':41414 '"
kill "$holder" 2>/dev/null || true

# Raw protocol: errno replies as wireguard-go gives them; a bad line anywhere in a set changes nothing.
check "raw set with a bad listen_port answers errno=-22" test "$(uapi "$IF1" 'set=1\nlisten_port=70000\n\n')" = $'errno=-22'
check "raw set with an unknown key answers errno=-22" test "$(uapi "$IF1" 'set=1\nbogus=1\n\n')" = $'errno=-22'
check "raw set valid then invalid line: errno=-22" \
  test "$(uapi "$IF1" "set=1\nlisten_port=41999\nprivate_key=$(wg genkey | base64 -d | od -An -tx1 | tr -d ' \n')\nlisten_port=x\n\n")" = $'errno=-22'
check "  ... and nothing of it applied (transactional)" test "$(n1 wg showconf "$IF1")" = "$before"
get=$(uapi "$IF1" 'get=1\n\n')
check "raw get ends with errno=0" test "${get##*$'\n'}" = "errno=0"
check "raw get carries protocol_version=1" grep -q '^protocol_version=1$' <<<"$get"
check "same for wireguard-go: bad listen_port errno=-22" test "$(uapi "$IF2" 'set=1\nlisten_port=70000\n\n')" = $'errno=-22'

finish
