#!/usr/bin/env bash
# wg-quick drives wgts as it drives wireguard-go: `WG_QUICK_USERSPACE_IMPLEMENTATION=wgts wg-quick up
# ./wgtest0.conf` in ns1 starts the daemon (found on PATH through a wrapper), configures it, sets
# address, MTU and routes; traffic flows to a peer in ns2 ($1: wgts or a wireguard-go binary); `wg-quick
# down` deletes the interface, and the daemon goes with it, socket and all.
#
# wg-quick falls back to userspace only where the kernel has no WireGuard: its `ip link add IF type
# wireguard` must fail and /sys/module/wireguard must be absent. So that it runs wgts on any kernel,
# wg-quick runs here with an `ip` first on PATH that refuses that one command as a kernel without the
# module does (and passes every other through), in a mount namespace of its own where a tmpfs hides
# /sys/module. No DNS in the config: that would need resolvconf.
#
# Usage: wg-quick.sh PEER
source "$(dirname "$0")/lib.sh"

PEER_IMPL=${1:?usage: wg-quick.sh wgts|PATH-TO-WIREGUARD-GO}
QIF=wgtest0
if [[ -e $SOCKDIR/$QIF.sock ]] && python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$SOCKDIR/$QIF.sock" 2>/dev/null; then
  die "$QIF is in use by another daemon on this machine; cannot run the wg-quick test now"
fi
echo "# wg-quick + wgts ($QIF in $NS1) <-> $PEER_IMPL ($IF2 in $NS2)"

setup_pair
make_keys
start_peer "$NS2" "$IF2" "$PEER_IMPL"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" preshared-key "$TMP/psk" allowed-ips "$IN1/32,$IN61/128"
address "$NS2" "$IF2" "$IN2" "$IN62"

# wg-quick runs "$WG_QUICK_USERSPACE_IMPLEMENTATION INTERFACE": put a `wgts` first on PATH.
mkdir -p "$TMP/bin" "$TMP/conf"
cat >"$TMP/bin/wgts" <<EOF
#!/bin/sh
exec "$NODE" "$MAIN" "\$@"
EOF
chmod +x "$TMP/bin/wgts"
cat >"$TMP/bin/ip" <<EOF
#!/bin/sh
case " \$* " in *" type wireguard "*) echo "Error: Unknown device type." >&2; exit 2 ;; esac
exec "$(command -v ip)" "\$@"
EOF
chmod +x "$TMP/bin/ip"
cat >"$TMP/conf/$QIF.conf" <<EOF
[Interface]
PrivateKey = $(cat "$TMP/priv1")
Address = $IN1/24, $IN61/64
ListenPort = 51820
MTU = 1380

[Peer]
PublicKey = $(cat "$TMP/pub2")
PresharedKey = $(cat "$TMP/psk")
AllowedIPs = $IN2/32, $IN62/128
Endpoint = $OUT2:51821
EOF
chmod 600 "$TMP/conf/$QIF.conf"

quick() {
  (cd "$TMP/conf" && ip netns exec "$NS1" unshare --mount sh -c 'mount -t tmpfs none /sys/module && exec "$@"' quick \
    env PATH="$TMP/bin:$PATH" WG_QUICK_USERSPACE_IMPLEMENTATION=wgts wg-quick "$@")
}

if quick up "./$QIF.conf" >"$TMP/up.log" 2>&1; then ok "wg-quick up"; else
  cat "$TMP/up.log" >&2
  die "wg-quick up"
fi
check "wg-quick used wgts (userspace fallback)" grep -q "userspace" "$TMP/up.log"
check "interface $QIF exists with MTU 1380" bash -c "ip -n $NS1 link show $QIF | grep -q 'mtu 1380'"
check "UAPI socket exists" sock_exists "$QIF"
check "address set" bash -c "ip -n $NS1 addr show $QIF | grep -q '$IN1/24'"
check "wg show lists the peer" bash -c "ip netns exec $NS1 wg show $QIF peers | grep -qx '$(cat "$TMP/pub2")'"
check "ping IPv4 through wg-quick's interface" ping_ok "$NS1" "$IN2"
check "ping IPv6 through wg-quick's interface" ping_ok "$NS1" "$IN62"
check "peer pings back" ping_ok "$NS2" "$IN1"
pid=$(daemon_pid "$NS1" "$QIF") || die "no wgts process for $QIF"

if quick down "./$QIF.conf" >"$TMP/down.log" 2>&1; then ok "wg-quick down"; else
  cat "$TMP/down.log" >&2
  fail "wg-quick down"
fi
check "interface gone after wg-quick down" wait_for 50 link_gone "$NS1" "$QIF"
check "daemon exited after its interface was deleted" wait_for 50 pid_gone "$pid"
check "UAPI socket removed" wait_for 50 sock_gone "$QIF"

finish
