#!/usr/bin/env bash
# wgts against a peer implementation over veth (topology in lib.sh): the wgts daemon in ns1, the peer
# (wgts, or a wireguard-go binary given as $1) in ns2, configured with `wg`, with a preshared key.
#
#   phase 1: outer IPv4; only ns2 knows the endpoint, so the peer initiates; ping both ways, v4 and v6
#   phase 2: wgts forgets the peer, the peer restarts (sessions gone on both sides); outer IPv6; only
#            ns1 knows the endpoint, so wgts initiates; ping both ways, v4 and v6; iperf3 both ways
#   phase 3: the same with a wrong preshared key on one side: no traffic
#
# Usage: interop.sh PEER   (PEER: wgts | /usr/bin/wireguard-go | ~/go/bin/wireguard | ...)
source "$(dirname "$0")/lib.sh"

PEER_IMPL=${1:?usage: interop.sh wgts|PATH-TO-WIREGUARD-GO}
echo "# wgts ($IF1 in $NS1) <-> $PEER_IMPL ($IF2 in $NS2)"

setup_pair
make_keys
start_wgts "$NS1" "$IF1"
start_peer "$NS2" "$IF2" "$PEER_IMPL"

# --- phase 1: outer IPv4, the peer initiates ---
n1 wg set "$IF1" private-key "$TMP/priv1" listen-port 51820 \
  peer "$(cat "$TMP/pub2")" preshared-key "$TMP/psk" allowed-ips "$IN2/32,$IN62/128"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" preshared-key "$TMP/psk" allowed-ips "$IN1/32,$IN61/128" endpoint "$OUT1:51820"
address "$NS1" "$IF1" "$IN1" "$IN61"
address "$NS2" "$IF2" "$IN2" "$IN62"

check "listen port applied on $IF1" test "$(n1 wg show "$IF1" listen-port)" = 51820
check "peer -> wgts ping IPv4 inner, IPv4 outer (peer initiates)" ping_ok "$NS2" "$IN1"
check "wgts -> peer ping IPv4 inner" ping_ok "$NS1" "$IN2"
check "wgts -> peer ping IPv6 inner" ping_ok "$NS1" "$IN62"
check "peer -> wgts ping IPv6 inner" ping_ok "$NS2" "$IN61"
check "wgts learned the peer's endpoint from its handshake" \
  test "$(n1 wg show "$IF1" endpoints | awk '{print $2}')" = "$OUT2:51821"
check "wgts reports a handshake time" test "$(n1 wg show "$IF1" latest-handshakes | awk '{print $2}')" -gt 0
check "wgts counts transfer both ways" \
  bash -c "n=\$(ip netns exec $NS1 wg show $IF1 transfer | awk '{print \$2 * \$3}'); test \"\$n\" -gt 0"

# --- phase 2: outer IPv6, wgts initiates ---
# The peer restarts (a fresh process and interface) rather than only forgetting wgts: the upstream
# wireguard-go build (0.0.20250522) fails its first IPv6 sends with ENETUNREACH on a socket that
# carried IPv4 before, even against itself, which would make this phase test wireguard-go.
n1 wg set "$IF1" peer "$(cat "$TMP/pub2")" remove
stop_peer
start_peer "$NS2" "$IF2" "$PEER_IMPL"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" preshared-key "$TMP/psk" allowed-ips "$IN1/32,$IN61/128"
address "$NS2" "$IF2" "$IN2" "$IN62"
n1 wg set "$IF1" peer "$(cat "$TMP/pub2")" preshared-key "$TMP/psk" allowed-ips "$IN2/32,$IN62/128" \
  endpoint "[$OUT62]:51821" persistent-keepalive 25
check "wgts -> peer ping IPv4 inner, IPv6 outer (wgts initiates)" ping_ok "$NS1" "$IN2"
check "peer -> wgts ping IPv4 inner, IPv6 outer" ping_ok "$NS2" "$IN1"
check "wgts -> peer ping IPv6 inner, IPv6 outer" ping_ok "$NS1" "$IN62"
check "peer -> wgts ping IPv6 inner, IPv6 outer" ping_ok "$NS2" "$IN61"
check "peer learned wgts' IPv6 endpoint" \
  test "$(n2 wg show "$IF2" endpoints | awk '{print $2}')" = "[$OUT61]:51820"
check "persistent keepalive shown" test "$(n1 wg show "$IF1" persistent-keepalive | awk '{print $2}')" = 25
iperf_both_ways 2

# --- phase 3: mismatched preshared keys never complete a handshake ---
n1 wg set "$IF1" peer "$(cat "$TMP/pub2")" remove
n2 wg set "$IF2" peer "$(cat "$TMP/pub1")" remove
(umask 077 && wg genpsk >"$TMP/psk-other")
n2 wg set "$IF2" peer "$(cat "$TMP/pub1")" preshared-key "$TMP/psk-other" allowed-ips "$IN1/32"
n1 wg set "$IF1" peer "$(cat "$TMP/pub2")" preshared-key "$TMP/psk" allowed-ips "$IN2/32" endpoint "$OUT2:51821"
check "no traffic with mismatched preshared keys" bash -c "! ip netns exec $NS1 ping -n -q -c 2 -W 2 $IN2 >/dev/null 2>&1"
check "no handshake with mismatched preshared keys" test "$(n1 wg show "$IF1" latest-handshakes | awk '{print $2}')" = 0

finish
