#!/usr/bin/env bash
# Link-local endpoints keep their zone (RFC 4007 §11), as wireguard-go keeps it: one set by hand
# ([fe80::2%veth1]:51821) and one learned from the peer's packets are printed with it by `wg show`,
# `wg showconf` and the UAPI get, and a saved configuration (showconf, then syncconf or setconf of that
# text) still reaches the peer. The outer path is the veth pair's link-local addresses only.
#
#   ns1: $IF1 ($1) 198.51.100.1, veth1 fe80::1   <--veth-->   veth2 fe80::2, $IF2 ($2) 198.51.100.2
#
# $IF1 is given the endpoint by hand; $IF2 learns its endpoint from $IF1's handshake.
# Usage: link-local.sh IMPL1 [IMPL2]   (wgts or a wireguard-go binary; IMPL2 defaults to IMPL1)
source "$(dirname "$0")/lib.sh"

IMPL1=${1:?usage: link-local.sh IMPL1 [IMPL2]}
IMPL2=${2:-$IMPL1}
echo "# link-local endpoints with zones: $(basename "$IMPL1") ($IF1) <-> $(basename "$IMPL2") ($IF2)"

setup_pair
ip -n "$NS1" addr add fe80::1/64 dev veth1 nodad
ip -n "$NS2" addr add fe80::2/64 dev veth2 nodad
make_keys
start_peer "$NS1" "$IF1" "$IMPL1"
start_peer "$NS2" "$IF2" "$IMPL2"
n1 wg set "$IF1" private-key "$TMP/priv1" listen-port 51820 \
  peer "$(cat "$TMP/pub2")" allowed-ips "$IN2/32" endpoint '[fe80::2%veth1]:51821'
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" allowed-ips "$IN1/32"
address "$NS1" "$IF1" "$IN1" "$IN61"
address "$NS2" "$IF2" "$IN2" "$IN62"

# endpoint_is NS IF WANT: what `wg show IF endpoints` prints for the one peer.
endpoint_is() { [[ $(ip netns exec "$1" wg show "$2" endpoints | cut -f2) == "$3" ]]; }

check "tunnel up over the link-local endpoint" ping_ok "$NS1" "$IN2"
check "wg show: the endpoint set keeps its zone ([fe80::2%veth1]:51821; got $(n1 wg show "$IF1" endpoints | cut -f2))" \
  endpoint_is "$NS1" "$IF1" '[fe80::2%veth1]:51821'
check "wg show: the endpoint learned names the link it came on ([fe80::1%veth2]:51820; got $(n2 wg show "$IF2" endpoints | cut -f2))" \
  endpoint_is "$NS2" "$IF2" '[fe80::1%veth2]:51820'
check "UAPI get: endpoint=[fe80::2%veth1]:51821" bash -c "grep -qx 'endpoint=\[fe80::2%veth1\]:51821' <<<\"\$1\"" _ "$(uapi "$IF1" 'get=1\n\n')"
n1 wg showconf "$IF1" >"$TMP/saved1"
n2 wg showconf "$IF2" >"$TMP/saved2"
check "wg showconf: Endpoint = [fe80::2%veth1]:51821" grep -qx 'Endpoint = \[fe80::2%veth1\]:51821' "$TMP/saved1"
check "wg showconf of the learned one: Endpoint = [fe80::1%veth2]:51820" grep -qx 'Endpoint = \[fe80::1%veth2\]:51820' "$TMP/saved2"

# The saved text, applied again to a peer that has to start over from it, reaches the other side.
n1 wg set "$IF1" peer "$(cat "$TMP/pub2")" remove
n1 wg syncconf "$IF1" "$TMP/saved1"
check "syncconf of the saved text: the peer is back with its zone" endpoint_is "$NS1" "$IF1" '[fe80::2%veth1]:51821'
check "  ... and the tunnel comes up from it" ping_ok "$NS1" "$IN2"
n2 wg set "$IF2" peer "$(cat "$TMP/pub1")" remove
n2 wg setconf "$IF2" "$TMP/saved2"
check "setconf of the saved text with the learned endpoint: $IF2 initiates over it" ping_ok "$NS2" "$IN1"
check "  ... its endpoint still names veth2" endpoint_is "$NS2" "$IF2" '[fe80::1%veth2]:51820'

finish
