#!/usr/bin/env bash
# wgts against a peer (wgts, or a wireguard-go binary given as $1) over veth (topology in lib.sh),
# for what the other scripts do not cover:
#
#   configuration files: wg setconf, wg addconf (a second peer appears), wg syncconf (it goes again,
#                        the live session survives), wg showconf read back
#   iperf3 UDP both ways
#   a large MTU (34000) on both tunnel interfaces and the veth: big pings and TCP
#   roaming: the peer moves to a new outer address, then wgts does; each side follows the other
#
# Usage: features.sh PEER   (PEER: wgts | /usr/bin/wireguard-go | ~/go/bin/wireguard | ...)
source "$(dirname "$0")/lib.sh"

PEER_IMPL=${1:?usage: features.sh wgts|PATH-TO-WIREGUARD-GO}
echo "# features: wgts ($IF1 in $NS1) <-> $PEER_IMPL ($IF2 in $NS2)"

setup_pair
make_keys
start_wgts "$NS1" "$IF1"
start_peer "$NS2" "$IF2" "$PEER_IMPL"

# --- configuration files ---
extra_priv=$(wg genkey)
extra_pub=$(wg pubkey <<<"$extra_priv")
cat >"$TMP/wgts.conf" <<CONF
[Interface]
PrivateKey = $(cat "$TMP/priv1")
ListenPort = 51820

[Peer]
PublicKey = $(cat "$TMP/pub2")
PresharedKey = $(cat "$TMP/psk")
AllowedIPs = $IN2/32, $IN62/128
Endpoint = $OUT2:51821
CONF
cat >"$TMP/extra.conf" <<CONF
[Peer]
PublicKey = $extra_pub
AllowedIPs = 10.99.0.0/16
CONF
cat >"$TMP/peer.conf" <<CONF
[Interface]
PrivateKey = $(cat "$TMP/priv2")
ListenPort = 51821

[Peer]
PublicKey = $(cat "$TMP/pub1")
PresharedKey = $(cat "$TMP/psk")
AllowedIPs = $IN1/32, $IN61/128
CONF
n1 wg setconf "$IF1" "$TMP/wgts.conf"
n2 wg setconf "$IF2" "$TMP/peer.conf"
address "$NS1" "$IF1" "$IN1" "$IN61"
address "$NS2" "$IF2" "$IN2" "$IN62"
check "setconf: wgts -> peer ping" ping_ok "$NS1" "$IN2"
check "setconf: showconf reads the file back" bash -c "ip netns exec $NS1 wg showconf $IF1 | grep -q 'Endpoint = $OUT2:51821'"
n1 wg addconf "$IF1" "$TMP/extra.conf"
check "addconf: a second peer appears" test "$(n1 wg show "$IF1" peers | wc -l)" = 2
check "addconf: the first peer keeps its session" ping_ok "$NS1" "$IN2"
n1 wg syncconf "$IF1" "$TMP/wgts.conf"
check "syncconf: the second peer is gone again" test "$(n1 wg show "$IF1" peers | wc -l)" = 1
check "syncconf: traffic still flows" ping_ok "$NS1" "$IN2"

# --- iperf3 UDP both ways ---
if command -v iperf3 >/dev/null; then
  n2 iperf3 -s -D -B "$IN2" --logfile "$TMP/iperf.log" >/dev/null 2>&1
  wait_for 50 n2 bash -c "ss -ltn | grep -q ':5201 '"
  check "iperf3 UDP $IF1 -> peer" iperf_once 2 -u -b 200M
  check "iperf3 UDP peer -> $IF1 (reverse)" iperf_once 2 -u -b 200M -R
else
  skip_check "iperf3 UDP" "not installed"
fi

# --- a large MTU ---
for pair in "$NS1 veth1 $IF1" "$NS2 veth2 $IF2"; do
  set -- $pair
  ip -n "$1" link set "$2" mtu 65535
  ip -n "$1" link set "$3" mtu 34000
done
big_ping() { ip netns exec "$1" ping -n -q -c 3 -i 0.2 -W 3 -s 30000 "$2" >/dev/null 2>&1; }
check "MTU 34000: 30000-byte pings wgts -> peer" big_ping "$NS1" "$IN2"
check "MTU 34000: 30000-byte pings peer -> wgts" big_ping "$NS2" "$IN1"
check "MTU 34000: 30000-byte IPv6 pings wgts -> peer" big_ping "$NS1" "$IN62"
if command -v iperf3 >/dev/null; then
  check "MTU 34000: iperf3 TCP wgts -> peer" iperf_once 2
  check "MTU 34000: iperf3 TCP peer -> wgts" iperf_once 2 -R
fi
for pair in "$NS1 $IF1" "$NS2 $IF2"; do
  set -- $pair
  ip -n "$1" link set "$2" mtu 1420
done

# --- roaming ---
# The peer moves: its old outer address goes away, a new one comes; it pings, wgts follows. (Deleted
# first: deleting a primary address takes the secondaries of its subnet with it.)
ip -n "$NS2" addr del "$OUT2/24" dev veth2
ip -n "$NS2" addr add 192.0.2.22/24 dev veth2
# Debian's wireguard-go keeps its stale sticky source and fails with "network is unreachable" until
# its own 15 s retry handshake clears it: give the peer that long.
ping_patient() {
  local i
  for i in $(seq 15); do
    ip netns exec "$1" ping -n -q -c 1 -W 2 "$2" >/dev/null 2>&1 && return 0
  done
  return 1
}
check "peer roamed: peer -> wgts ping from its new address" ping_patient "$NS2" "$IN1"
check "wgts follows the peer to 192.0.2.22" bash -c "ip netns exec $NS1 wg show $IF1 endpoints | grep -q '192.0.2.22:51821'"
check "wgts -> peer ping at its new address" ping_ok "$NS1" "$IN2"
# Now wgts moves: its replies must leave from the new address (the sticky source is dropped).
ip -n "$NS1" addr del "$OUT1/24" dev veth1
ip -n "$NS1" addr add 192.0.2.11/24 dev veth1
check "wgts roamed: wgts -> peer ping from its new address" ping_ok "$NS1" "$IN2"
check "the peer follows wgts to 192.0.2.11" bash -c "ip netns exec $NS2 wg show $IF2 endpoints | grep -q '192.0.2.11:51820'"
check "peer -> wgts ping at its new address" ping_ok "$NS2" "$IN1"

finish
