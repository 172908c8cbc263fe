#!/usr/bin/env bash
# Dynamic DNS through this host's own resolver (issue 9 "keeps working"): `wgts proxy` in ns1 knows its
# peer only as peer.test:51821, a name /etc/hosts answers (`ip netns exec` mounts
# /etc/netns/NS1/hosts over /etc/hosts for what runs in ns1). CheckAlive pings the peer's inner
# address every second, so /readyz tells whether traffic gets through.
#
# The peer moves: ns2 takes a second outer address and gives up the first, and the hosts file now
# names the new one. The proxy's packets to the old address go nowhere; its handshakes fail for
# REKEY_ATTEMPT_TIME (90 s, WireGuard paper 6.4); then it resolves peer.test again, sets the new
# endpoint, and the pings are answered again. About two minutes, most of it the 90 s.
#
# Usage: proxy-ddns.sh PEER   (PEER: /usr/bin/wireguard-go | ~/go/bin/wireguard | wgts)
source "$(dirname "$0")/lib.sh"

PEER_IMPL=${1:?usage: proxy-ddns.sh PATH-TO-WIREGUARD-GO|wgts}
echo "# wgts proxy (in $NS1, peer.test from /etc/hosts) <-> $PEER_IMPL ($IF2 in $NS2)"
command -v curl >/dev/null || die "curl is not installed"

HOSTS_DIR=/etc/netns/$NS1
# /etc/netns itself goes too when no other run is using it (rmdir leaves a non-empty one).
trap 'rm -rf "$HOSTS_DIR"; rmdir /etc/netns 2>/dev/null || true; cleanup' EXIT
OUT2B=192.0.2.3

setup_pair
make_keys
start_peer "$NS2" "$IF2" "$PEER_IMPL"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 peer "$(cat "$TMP/pub1")" allowed-ips "$IN1/32"
address "$NS2" "$IF2" "$IN2" "$IN62"

mkdir -p "$HOSTS_DIR"
echo "$OUT2 peer.test" >"$HOSTS_DIR/hosts"
cat >"$TMP/proxy.conf" <<CONF
[Interface]
PrivateKey = $(cat "$TMP/priv1")
Address = $IN1/32
CheckAlive = $IN2
CheckAliveInterval = 1

[Peer]
PublicKey = $(cat "$TMP/pub2")
Endpoint = peer.test:51821
AllowedIPs = $IN2/32
CONF
n1 "$NODE" "$MAIN" proxy -c "$TMP/proxy.conf" -i 127.0.0.1:9080 >"$TMP/proxy.log" 2>&1 &
readyz() { test "$(n1 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9080/readyz)" = "$1"; }
check "the proxy resolves peer.test from its /etc/hosts and its pings are answered" wait_for 100 readyz 200
check "the peer's endpoint is the address the name had" \
  bash -c "ip netns exec $NS1 curl -s http://127.0.0.1:9080/metrics | grep -q 'endpoint=\"$OUT2:51821\"'"

# The move: the new address first, then the old one gone (the new one, secondary in the same subnet,
# must stay: promoted, not deleted with it), then the name follows. The peer must not reach the proxy
# on its own, or the proxy would learn the new address by roaming (paper 2.1) from the peer's own
# handshake and the name would not matter: as a server behind a changed address that never initiates
# to its clients, it points the proxy's endpoint at a host that is not there.
n2 wg set "$IF2" peer "$(cat "$TMP/pub1")" endpoint 192.0.2.77:9
n2 sysctl -qw net.ipv4.conf.veth2.promote_secondaries=1
ip -n "$NS2" addr add "$OUT2B/24" dev veth2
ip -n "$NS2" addr del "$OUT2/24" dev veth2
echo "$OUT2B peer.test" >"$HOSTS_DIR/hosts"
check "the old address answers no more: /readyz 503" wait_for 100 readyz 503
# Handshakes start within KEEPALIVE_TIMEOUT + REKEY_TIMEOUT of unanswered data and are given up after
# 20 tries at REKEY_TIMEOUT plus jitter: about 15 + 105 s (120 s measured), and some room.
check "handshakes failed, peer.test was resolved again, the pings are answered at $OUT2B" wait_for 1700 readyz 200
check "the proxy logged the move" grep -q "peer.test:51821 now resolves to $OUT2B:51821" "$TMP/proxy.log"
check "the peer saw the proxy's new handshake" \
  bash -c "test \$(( \$(date +%s) - \$(ip netns exec $NS2 wg show $IF2 latest-handshakes | awk '{print \$2}') )) -lt 30"
finish
