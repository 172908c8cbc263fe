#!/usr/bin/env bash
# The daemon's life, in one namespace (ns1 of lib.sh; no peer needed): the command line, detaching and
# readiness, refusals (no privilege, name in use, live socket), stale sockets, file modes, and every
# way it ends: SIGTERM, SIGINT in the foreground, its socket deleted, its interface deleted. Also the
# fds wireguard-go accepts from a supervisor: WG_UAPI_FD and WG_TUN_FD.
source "$(dirname "$0")/lib.sh"
echo "# wgts daemon lifecycle ($IF1 in $NS1)"

WGTS=("$NODE" "$MAIN")
ip netns add "$NS1"
ip -n "$NS1" link set lo up

# --- command line ---
out=$("${WGTS[@]}" 2>&1) && rc=0 || rc=$?
check "no arguments: exit 1" test "$rc" = 1
check "  ... with usage on stderr" bash -c "'$NODE' '$MAIN' 2>&1 >/dev/null | grep -q '^Usage: wgts \[-f/--foreground\] INTERFACE-NAME'"
check "bad option: exit 1" bash -c "! '$NODE' '$MAIN' -x 2>/dev/null"
check "too many arguments: exit 1" bash -c "! '$NODE' '$MAIN' a b 2>/dev/null"
check "name too long: exit 1" bash -c "! '$NODE' '$MAIN' abcdefghijklmnop 2>/dev/null"
check "name with a slash: exit 1" bash -c "! '$NODE' '$MAIN' ../x 2>/dev/null"
check "--version prints wgts vX.Y.Z" bash -c "'$NODE' '$MAIN' --version | grep -Eq '^wgts v[0-9]+\.[0-9]+\.[0-9]+'"
check "--help exits 0 with usage" bash -c "'$NODE' '$MAIN' --help | grep -q '^Usage: wgts'"

# --- refusals ---
# Unprivileged: nobody, with no capability but CAP_DAC_READ_SEARCH (ambient, so it survives exec; all
# others gone from the bounding set too), so it can read the clone wherever it is (under a directory
# only root may enter, say) and still lacks CAP_NET_ADMIN: the refusal it meets is the kernel's own.
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+dac_read_search
  --ambient-caps=+dac_read_search --bounding-set=-all,+dac_read_search)
out=$(ip netns exec "$NS1" "${NOBODY[@]}" "${WGTS[@]}" "$IF1" 2>&1) && rc=0 || rc=$?
check "unprivileged start fails with exit 1" test "$rc" = 1
check "  ... saying why (permission / CAP_NET_ADMIN)" grep -Eqi "CAP_NET_ADMIN|permission|not permitted" <<<"$out"
check "  ... leaving no interface behind" link_gone "$NS1" "$IF1"

out=$(ip netns exec "$NS1" env WGTS_NATIVE=0 "${WGTS[@]}" "$IF1" 2>&1) && rc=0 || rc=$?
check "without the native shim: exit 1" test "$rc" = 1
check "  ... saying the shim is needed" grep -qi "native" <<<"$out"
check "  ... leaving no socket behind" sock_gone "$IF1"

# --- start, modes, in-use ---
start_wgts "$NS1" "$IF1"
pid=$(daemon_pid "$NS1" "$IF1") || die "no daemon process"
ok "detached daemon started (pid $pid), interface and socket exist"
check "socket mode 0600" test "$(stat -c %a "$SOCKDIR/$IF1.sock")" = 600
check "socket directory not writable by others" bash -c "test \$(( 0\$(stat -c %a $SOCKDIR) & 022 )) = 0"
check "daemon is a session leader (detached)" test "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid"
check "interface starts down" bash -c "! ip -n $NS1 link show $IF1 | grep -q ',UP'"
check "wg show answers" wg_answers "$NS1" "$IF1"
out=$(n1 "${WGTS[@]}" "$IF1" 2>&1) && rc=0 || rc=$?
check "second daemon for the same interface fails" test "$rc" = 1
check "  ... with a message" test -n "$out"
check "  ... and the first keeps its socket" sock_exists "$IF1"
check "  ... and still answers" wg_answers "$NS1" "$IF1"

# Link up: the device binds a port (a random one until configured); link down closes it again.
ip -n "$NS1" link set "$IF1" up
check "link up: device listens on a random port" wait_for 30 bash -c "test \"\$(ip netns exec $NS1 wg show $IF1 listen-port)\" -gt 0"
n1 wg set "$IF1" listen-port 45678
check "wg set listen-port rebinds" wait_for 30 bash -c "ip netns exec $NS1 ss -lun | grep -q ':45678 '"

# --- SIGTERM ---
kill -TERM "$pid"
check "SIGTERM: process exits" wait_for 50 pid_gone "$pid"
check "SIGTERM: socket removed" sock_gone "$IF1"
check "SIGTERM: interface removed" wait_for 20 link_gone "$NS1" "$IF1"

# --- stale socket from a killed daemon ---
start_wgts "$NS1" "$IF1"
pid=$(daemon_pid "$NS1" "$IF1")
kill -KILL "$pid"
wait_for 50 pid_gone "$pid"
wait_for 30 link_gone "$NS1" "$IF1" || true
check "SIGKILL leaves a stale socket" test -S "$SOCKDIR/$IF1.sock"
check "a new daemon replaces the stale socket" n1 "${WGTS[@]}" "$IF1"
check "  ... and answers" wg_answers "$NS1" "$IF1"

# --- socket deleted from outside: the daemon shuts down (wireguard-go does) ---
pid=$(daemon_pid "$NS1" "$IF1")
rm -f "$SOCKDIR/$IF1.sock"
check "socket removed: process exits" wait_for 50 pid_gone "$pid"
check "socket removed: interface removed" wait_for 20 link_gone "$NS1" "$IF1"

# --- interface deleted: the daemon shuts down and removes its socket ---
start_wgts "$NS1" "$IF1"
pid=$(daemon_pid "$NS1" "$IF1")
ip -n "$NS1" link del "$IF1"
check "interface deleted: process exits" wait_for 50 pid_gone "$pid"
check "interface deleted: socket removed" wait_for 20 sock_gone "$IF1"

# --- foreground: -f and WG_PROCESS_FOREGROUND=1; logs; SIGINT ---
# Started without a shell function in between, so $! is the daemon itself (ip netns exec and env exec).
ip netns exec "$NS1" env LOG_LEVEL=verbose "${WGTS[@]}" -f "$IF1" >"$TMP/fg.log" 2>&1 &
fg=$!
check "foreground: socket appears" wait_for 100 sock_exists "$IF1"
check "foreground: process stays attached" kill -0 "$fg"
(umask 077 && wg genkey >"$TMP/fg-priv" && wg genpsk >"$TMP/fg-psk")
n1 wg set "$IF1" private-key "$TMP/fg-priv" peer "$(wg genkey | wg pubkey)" preshared-key "$TMP/fg-psk" allowed-ips 10.1.0.0/16
ip -n "$NS1" link set "$IF1" up
sleep 0.5
kill -INT "$fg"
wait "$fg" && rc=0 || rc=$?
check "foreground: SIGINT exits 0" test "$rc" = 0
check "foreground: socket removed" sock_gone "$IF1"
check "foreground: verbose log written" test -s "$TMP/fg.log"
# The keys set above, in base64 and in the hex the UAPI carries, must appear nowhere in the log.
for k in "$TMP/fg-priv" "$TMP/fg-psk"; do
  b64=$(cat "$k")
  hex=$(base64 -d <"$k" | od -An -tx1 | tr -d ' \n')
  check "log holds no $(basename "$k") (base64 or hex)" bash -c "! grep -qiF -e '$b64' -e '$hex' '$TMP/fg.log'"
done

ip netns exec "$NS1" env WG_PROCESS_FOREGROUND=1 "${WGTS[@]}" "$IF1" >/dev/null 2>&1 &
fg=$!
check "WG_PROCESS_FOREGROUND=1: runs attached" wait_for 100 sock_exists "$IF1"
kill -TERM "$fg"
wait "$fg" || true
check "  ... and cleans up on SIGTERM" sock_gone "$IF1"

# --- fds from a supervisor (python opens them, then execs the daemon with them inherited) ---
ip netns exec "$NS1" python3 - "$SOCKDIR/$IF1.sock" "$NODE" "$MAIN" "$IF1" <<'EOF' &
import os, socket, sys
path, node, main, name = sys.argv[1:5]
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(16); os.chmod(path, 0o600)
s.set_inheritable(True)
os.environ.update(WG_UAPI_FD=str(s.fileno()), WG_PROCESS_FOREGROUND="1")
os.execv(node, [node, main, name])
EOF
fg=$!
check "WG_UAPI_FD: wg talks to the daemon on the handed-in socket" wait_for 100 bash -c "ip netns exec $NS1 wg show $IF1 >/dev/null 2>&1"
check "WG_UAPI_FD: interface created" link_exists "$NS1" "$IF1"
kill -TERM "$fg"
wait "$fg" || true
check "WG_UAPI_FD: socket removed on exit" sock_gone "$IF1"

# $TMP/tun_exec.py NODE MAIN IF FOREGROUND: open the TUN as a supervisor would, then exec wgts with
# WG_TUN_FD. Run directly (not from a shell function) so that $! is the daemon when backgrounded.
cat >"$TMP/tun_exec.py" <<'EOF'
import fcntl, os, struct, sys
node, main, name, foreground = sys.argv[1:5]
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
os.set_inheritable(fd, True)
os.environ["WG_TUN_FD"] = str(fd)
os.environ.pop("WG_PROCESS_FOREGROUND", None)
if foreground == "1":
    os.environ["WG_PROCESS_FOREGROUND"] = "1"
os.execv(node, [node, main, name])
EOF
ip netns exec "$NS1" python3 "$TMP/tun_exec.py" "$NODE" "$MAIN" "$IF1" 1 &
fg=$!
if wait_for 100 sock_exists "$IF1"; then
  ok "WG_TUN_FD: daemon adopted the TUN opened by its supervisor"
  check "WG_TUN_FD: wg show answers" wg_answers "$NS1" "$IF1"
  kill -TERM "$fg"
  wait "$fg" || true
  check "WG_TUN_FD: interface gone with the daemon" wait_for 30 link_gone "$NS1" "$IF1"
else
  fail "WG_TUN_FD: daemon did not start"
  kill -TERM "$fg" 2>/dev/null || true
fi

# Detaching passes the adopted TUN on to the background daemon (wireguard-go hands it over as fd 3).
if ip netns exec "$NS1" python3 "$TMP/tun_exec.py" "$NODE" "$MAIN" "$IF1" 0; then ok "WG_TUN_FD, detached: the parent returned 0"; else fail "WG_TUN_FD, detached: the parent failed"; fi
check "WG_TUN_FD, detached: socket exists" sock_exists "$IF1"
pid=$(daemon_pid "$NS1" "$IF1") || true
check "WG_TUN_FD, detached: daemon runs" test -n "$pid"
check "WG_TUN_FD, detached: wg show answers" wg_answers "$NS1" "$IF1"
ip -n "$NS1" link del "$IF1" 2>/dev/null || true
check "WG_TUN_FD, detached: interface deleted stops the daemon" wait_for 50 sock_gone "$IF1"

finish
