#!/usr/bin/env bash
# An interface moved to another namespace passes traffic at once. Both daemons start in $NS3 ("Z")
# and talk over its loopback; their interfaces move to $NS1 ("C1") and $NS2 ("C2"), get their
# addresses there and are set up; right after, the first ping from C1 must be answered, and so must
# the first three sent 0.2 s apart. Then both go down and move on (C1's to C2, C2's to C1) and come
# up there: the first three pings are answered again. The link state of a moved interface is heard in
# the namespace it lives in now, and nothing the TUN hands over while the device comes up is lost.
#
#   ns3 (Z): both daemons, UDP over lo 127.0.0.1:51820 <-> :51821
#   ns1 (C1): $IF1 198.51.100.1        ns2 (C2): $IF2 198.51.100.2
#
# With a reference (a wireguard-go binary), the same steps run against it too, in the same script, and
# its counts are printed beside ours; ours must not be fewer.
# Usage: move-first-ping.sh IMPL [REFERENCE-IMPL]   (IMPL: wgts or a wireguard-go binary)
source "$(dirname "$0")/lib.sh"

IMPL=${1:?usage: move-first-ping.sh wgts|PATH-TO-WIREGUARD-GO [REFERENCE]}
REF=${2:-}

# ns_of IF: the namespace the interface is in now.
ns_of() {
  local ns
  for ns in "$NS1" "$NS2" "$NS3"; do
    link_exists "$ns" "$1" && echo "$ns" && return 0
  done
  return 1
}
# move_up IF NS ADDRESS: move the interface to NS, give it its address, set it up.
move_up() {
  ip -n "$(ns_of "$1")" link set "$1" netns "$2"
  ip -n "$2" addr add "$3/24" dev "$1"
  ip -n "$2" link set "$1" up
}
# replies NS DEST COUNT: how many of COUNT pings sent 0.2 s apart were answered (1 s to answer each).
replies() {
  local n
  n=$({ ip netns exec "$1" ping -n -c "$3" -i 0.2 -W 1 "$2" 2>/dev/null || true; } | sed -n 's/.* \([0-9]*\) received.*/\1/p')
  echo "${n:-0}"
}

# scenario IMPL: the whole run; prints "FIRST THREE AGAIN" (answered pings of 1, 3 and 3).
scenario() {
  local impl=$1 first three again ns pid
  for ns in "$NS1" "$NS2" "$NS3"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  start_peer "$NS3" "$IF1" "$impl" >&2
  start_peer "$NS3" "$IF2" "$impl" >&2
  n3 wg set "$IF1" private-key "$TMP/priv1" listen-port 51820 \
    peer "$(cat "$TMP/pub2")" allowed-ips "$IN2/32" endpoint 127.0.0.1:51821
  n3 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
    peer "$(cat "$TMP/pub1")" allowed-ips "$IN1/32" endpoint 127.0.0.1:51820
  move_up "$IF1" "$NS1" "$IN1"
  move_up "$IF2" "$NS2" "$IN2"
  first=$(replies "$NS1" "$IN2" 1)
  three=$(replies "$NS1" "$IN2" 3)
  ip -n "$NS1" link set "$IF1" down
  ip -n "$NS2" link set "$IF2" down
  ip -n "$NS1" link set "$IF1" netns "$NS3"
  ip -n "$NS2" link set "$IF2" netns "$NS1"
  ip -n "$NS3" link set "$IF1" netns "$NS2"
  ip -n "$NS2" addr add "$IN1/24" dev "$IF1"
  ip -n "$NS1" addr add "$IN2/24" dev "$IF2"
  ip -n "$NS2" link set "$IF1" up
  ip -n "$NS1" link set "$IF2" up
  again=$(replies "$NS2" "$IN2" 3)
  for ns in "$NS1" "$NS2" "$NS3"; do
    for pid in $(ip netns pids "$ns"); do kill -TERM "$pid" 2>/dev/null || true; done
  done
  wait_for 50 sock_gone "$IF1" && wait_for 50 sock_gone "$IF2" || true
  for ns in "$NS1" "$NS2" "$NS3"; do ip netns del "$ns"; done
  echo "$first $three $again"
}

make_keys
echo "# interfaces moved from Z ($NS3) to C1 and C2 answer the first pings: $(basename "$IMPL")"
read -r first three again < <(scenario "$IMPL")
check "right after the move, the first ping from C1 is answered ($first/1)" test "$first" = 1
check "  ... and the next three, 0.2 s apart ($three/3)" test "$three" = 3
check "down, moved on (C1's to C2, C2's to C1) and up again: the first three answered ($again/3)" test "$again" = 3
if [[ -n $REF ]]; then
  read -r rfirst rthree ragain < <(scenario "$REF")
  echo "# $(basename "$REF"), the same steps: $rfirst/1, $rthree/3, $ragain/3"
  check "  ... as many as $(basename "$REF") answers" test $((first + three + again)) -ge $((rfirst + rthree + ragain))
fi

finish
