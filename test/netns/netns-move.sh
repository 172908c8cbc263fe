#!/usr/bin/env bash
# WireGuard's namespace trick: the interface moves to another namespace while its UDP socket stays
# where the daemon made it. wgts starts in ns1 (its socket on ns1's veth), then its interface moves to
# ns3, which has no other network: traffic from ns3 must still reach the peer in ns2 ($1: wgts or a
# wireguard-go binary) through the tunnel.
#
#   ns3: wgts interface 198.51.100.1  ==tunnel==  ns2: peer 198.51.100.2
#   ns1: wgts' UDP socket, veth1  --------veth--------  veth2
#
# Usage: netns-move.sh PEER
source "$(dirname "$0")/lib.sh"

PEER_IMPL=${1:?usage: netns-move.sh wgts|PATH-TO-WIREGUARD-GO}
echo "# wgts interface moved from $NS1 to $NS3 <-> $PEER_IMPL ($IF2 in $NS2)"

setup_pair
ip netns add "$NS3"
ip -n "$NS3" link set lo up
make_keys
start_wgts "$NS1" "$IF1"
start_peer "$NS2" "$IF2" "$PEER_IMPL"
pid=$(daemon_pid "$NS1" "$IF1")

n1 wg set "$IF1" private-key "$TMP/priv1" listen-port 51820 \
  peer "$(cat "$TMP/pub2")" allowed-ips "$IN2/32,$IN62/128" endpoint "$OUT2:51821"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" allowed-ips "$IN1/32,$IN61/128" endpoint "$OUT1:51820"
address "$NS2" "$IF2" "$IN2" "$IN62"

ip -n "$NS1" link set "$IF1" netns "$NS3"
check "interface is in $NS3 now" link_exists "$NS3" "$IF1"
check "daemon survives the move" kill -0 "$pid"
address "$NS3" "$IF1" "$IN1" "$IN61"
check "UAPI still answers after the move" wg_answers "$NS3" "$IF1"
check "ping IPv4 from $NS3 through the tunnel" ping_ok "$NS3" "$IN2"
check "ping IPv6 from $NS3 through the tunnel" ping_ok "$NS3" "$IN62"
check "peer pings the moved interface" ping_ok "$NS2" "$IN1"
check "the UDP socket stayed in $NS1" bash -c "ip netns exec $NS1 ss -lun | grep -q ':51820 '"

# Deleting the moved interface still ends the daemon.
ip -n "$NS3" link del "$IF1"
check "deleting the moved interface stops the daemon" wait_for 50 pid_gone "$pid"
check "  ... and removes its socket" wait_for 20 sock_gone "$IF1"

finish
