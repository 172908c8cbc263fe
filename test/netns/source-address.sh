#!/usr/bin/env bash
# A fresh source address after a change, as wireguard-go does it (it clears cached sources when its
# bind changes, and an endpoint set by hand carries none). Both daemons live in $NS1 and talk over
# its loopback; the peer's interface is moved to $NS2 so pings cross the tunnel.
#
#   ns1: $IF1 ($1, under test) 198.51.100.1     UDP over ns1's lo     $IF2's daemon (wgts)
#   ns2: $IF2 198.51.100.2 (moved here from ns1)
#
# 1. lo's 127.0.0.1/8 is replaced by 127.212.121.99/8 and $IF1 moves to port 9999: the peer must see
#    $IF1 at 127.212.121.99:9999 (the kernel's choice now), not at 127.0.0.1:9999.
# 2. The peer reaches $IF1 at 127.5.5.5, which $IF1 answers from; then `wg set $IF1 peer endpoint`
#    names the same endpoint again: the peer must see $IF1 at 127.212.121.99 again.
#
# Usage: source-address.sh IMPL   (IMPL: wgts or a wireguard-go binary)
source "$(dirname "$0")/lib.sh"

IMPL=${1:?usage: source-address.sh wgts|PATH-TO-WIREGUARD-GO}
echo "# sticky source after listen-port and endpoint changes: $(basename "$IMPL") ($IF1) <-> wgts ($IF2)"

ip netns add "$NS1"
ip netns add "$NS2"
ip -n "$NS1" link set lo up
ip -n "$NS2" link set lo up
make_keys
start_peer "$NS1" "$IF1" "$IMPL"
start_wgts "$NS1" "$IF2"
n1 wg set "$IF1" private-key "$TMP/priv1" listen-port 51820 \
  peer "$(cat "$TMP/pub2")" allowed-ips "$IN2/32" endpoint 127.0.0.1:51821
n1 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" allowed-ips "$IN1/32" endpoint 127.0.0.1:51820
ip -n "$NS1" link set "$IF2" netns "$NS2"
address "$NS1" "$IF1" "$IN1" "$IN61"
address "$NS2" "$IF2" "$IN2" "$IN62"

# seen_as ENDPOINT: the peer's view of $IF1 (its UAPI socket is a file: any namespace reaches it).
seen_as() { [[ $(n1 wg show "$IF2" endpoints | cut -f2) == "$1" ]]; }

check "tunnel up over 127.0.0.1" ping_ok "$NS1" "$IN2"
check "  ... the peer sees $IF1 at 127.0.0.1:51820" seen_as 127.0.0.1:51820

ip -n "$NS1" addr del 127.0.0.1/8 dev lo
ip -n "$NS1" addr add 127.212.121.99/8 dev lo
n1 wg set "$IF1" listen-port 9999
check "after the renumbering and listen-port 9999, $IF1 -> peer" ping_ok "$NS1" "$IN2"
check "  ... the peer sees $IF1 at 127.212.121.99:9999 (got $(n1 wg show "$IF2" endpoints | cut -f2))" \
  seen_as 127.212.121.99:9999

n1 wg set "$IF2" peer "$(cat "$TMP/pub1")" endpoint 127.5.5.5:9999
check "the peer reaches $IF1 at 127.5.5.5" ping_ok "$NS2" "$IN1"
check "  ... and $IF1 answers from it" seen_as 127.5.5.5:9999
n1 wg set "$IF1" peer "$(cat "$TMP/pub2")" endpoint 127.0.0.1:51821
check "after its endpoint is set by hand, $IF1 -> peer" ping_ok "$NS1" "$IN2"
check "  ... the peer sees $IF1 at 127.212.121.99:9999 again (got $(n1 wg show "$IF2" endpoints | cut -f2))" \
  seen_as 127.212.121.99:9999

finish
