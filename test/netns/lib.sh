# Shared helpers for the namespace tests (sourced, not run). Root only.
#
# Topology (every script uses some of it):
#
#   ns $NS1 ("wgts side")                  ns $NS2 ("peer side")
#   +-------------------------+            +-------------------------+
#   | $IF1 (wgts)             |            | $IF2 (wgts/wireguard-go)|
#   |  198.51.100.1/24        |  tunnel    |  198.51.100.2/24        |
#   |  2001:db8:2::1/64       | ========== |  2001:db8:2::2/64       |
#   |                         |            |                         |
#   | veth1 192.0.2.1/24      |------------| veth2 192.0.2.2/24      |
#   |       2001:db8:1::1/64  |    veth    |       2001:db8:1::2/64  |
#   +-------------------------+            +-------------------------+
#
# Outer and inner addresses are documentation ranges (RFC 5737, RFC 3849): nothing here can reach, or
# be mistaken for, a real network, and no traffic leaves the namespaces. Names carry the shell's PID so
# runs by several people on one machine do not collide: the UAPI socket path /var/run/wireguard/IF.sock
# is shared by all namespaces.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MAIN="$ROOT/dist/cli/main.js"
NODE=${NODE:-$(command -v node)}
SOCKDIR=/var/run/wireguard
NS1="wgts-$$-1"
NS2="wgts-$$-2"
NS3="wgts-$$-3"
IF1="wgta$$"
IF2="wgtb$$"
IN1=198.51.100.1
IN2=198.51.100.2
IN61=2001:db8:2::1
IN62=2001:db8:2::2
OUT1=192.0.2.1
OUT2=192.0.2.2
OUT61=2001:db8:1::1
OUT62=2001:db8:1::2
TMP=$(mktemp -d /tmp/wgts-netns.XXXXXX)

FAILS=0

n1() { ip netns exec "$NS1" "$@"; }
n2() { ip netns exec "$NS2" "$@"; }
n3() { ip netns exec "$NS3" "$@"; }

ok() { echo "ok - $*"; }
fail() {
  echo "not ok - $*" >&2
  FAILS=$((FAILS + 1))
}
# check DESCRIPTION COMMAND...: run COMMAND; ok or not ok with the description.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
# skip_check DESCRIPTION REASON: a check that cannot run here. Under CI=true, which installs every
# prerequisite, that is a broken setup: it fails instead of skipping.
skip_check() {
  if [[ ${CI:-} == true ]]; then fail "$1 (CI=true forbids skipping: $2)"; else echo "ok - $1 # SKIP $2"; fi
}
# die MESSAGE: a failure the rest of the script cannot go on from.
die() {
  echo "not ok - $*" >&2
  exit 1
}
finish() {
  if ((FAILS > 0)); then
    local log
    for log in "$TMP"/*.log; do
      [[ -s $log ]] || continue
      echo "--- last lines of $(basename "$log") ---" >&2
      tail -n 40 "$log" >&2
    done
    echo "$FAILS check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# Everything a script started lives in its namespaces: killing their processes by pid and deleting
# them is the whole cleanup. Interfaces die with their namespace or their daemon.
cleanup() {
  local ns pid
  for ns in "$NS1" "$NS2" "$NS3"; do
    ip netns list 2>/dev/null | grep -qw -- "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  done
  sleep 0.3
  for ns in "$NS1" "$NS2" "$NS3"; do
    ip netns list 2>/dev/null | grep -qw -- "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f "$SOCKDIR/$IF1.sock" "$SOCKDIR/$IF2.sock" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# Two namespaces joined by a veth pair, outer addresses as in the drawing.
setup_pair() {
  ip netns add "$NS1"
  ip netns add "$NS2"
  ip -n "$NS1" link set lo up
  ip -n "$NS2" link set lo up
  ip link add veth1 netns "$NS1" type veth peer name veth2 netns "$NS2"
  ip -n "$NS1" addr add "$OUT1/24" dev veth1
  ip -n "$NS2" addr add "$OUT2/24" dev veth2
  ip -n "$NS1" addr add "$OUT61/64" dev veth1 nodad
  ip -n "$NS2" addr add "$OUT62/64" dev veth2 nodad
  ip -n "$NS1" link set veth1 up
  ip -n "$NS2" link set veth2 up
}

# wait_for COUNT-OF-TENTHS COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local tries=$1
  shift
  while ((tries-- > 0)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
sock_exists() { [[ -S "$SOCKDIR/$1.sock" ]]; }
sock_gone() { [[ ! -e "$SOCKDIR/$1.sock" ]]; }
link_exists() { ip -n "$1" link show "$2" >/dev/null 2>&1; }
link_gone() { ! link_exists "$1" "$2"; }
wg_answers() { ip netns exec "$1" wg show "$2" >/dev/null; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# The pid of the daemon serving interface IF in namespace NS (detached daemons have no $!).
daemon_pid() {
  local ns=$1 ifname=$2 pid
  for pid in $(ip netns pids "$ns"); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- " $ifname *$"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# start_wgts NS IF: the daemon as wg-quick starts it; returns once the interface and socket exist.
# The detached daemon keeps writing its log (LOG_LEVEL set: wireguard-go's rule) to $TMP/IF.log, which
# finish() shows when a check failed.
start_wgts() {
  ip netns exec "$1" env LOG_LEVEL="${WGTS_LOG_LEVEL:-error}" "$NODE" "$MAIN" "$2" >>"$TMP/$2.log" 2>&1 || {
    cat "$TMP/$2.log" >&2
    die "wgts $2 did not start in $1"
  }
  sock_exists "$2" || die "wgts $2 returned without a UAPI socket"
  link_exists "$1" "$2" || die "wgts $2 returned without an interface"
}

# start_peer NS IF IMPL: IMPL is "wgts" or the path of a wireguard-go binary (run in the foreground,
# in the background, as its own documentation suggests for supervision).
start_peer() {
  local ns=$1 ifname=$2 impl=$3
  if [[ $impl == wgts ]]; then
    start_wgts "$ns" "$ifname"
    return
  fi
  ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose "$impl" -f "$ifname" >"$TMP/$ifname.log" 2>&1 &
  wait_for 100 sock_exists "$ifname" || {
    cat "$TMP/$ifname.log" >&2
    die "$impl $ifname: no UAPI socket"
  }
}

# stop_peer: end whatever serves IF2 in NS2 (wgts or wireguard-go) and wait until its socket and
# interface are gone.
stop_peer() {
  local pid
  pid=$(daemon_pid "$NS2" "$IF2") && kill -TERM "$pid"
  wait_for 50 sock_gone "$IF2" || die "peer $IF2 did not stop"
  wait_for 50 link_gone "$NS2" "$IF2" || die "peer interface $IF2 did not go away"
}

# Key material for two sides, in files under $TMP.
make_keys() {
  local side
  umask 077 # wg warns about key files others can read
  for side in 1 2; do
    wg genkey >"$TMP/priv$side"
    wg pubkey <"$TMP/priv$side" >"$TMP/pub$side"
  done
  wg genpsk >"$TMP/psk"
}

# address NS IF V4 V6: inner addresses, link up.
address() {
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" addr add "$4/64" dev "$2" nodad
  ip -n "$1" link set "$2" up
}

# ping_ok NS DEST: a reply within a few tries (the first may wait for the handshake).
ping_ok() {
  local i
  for i in 1 2 3 4 5; do
    ip netns exec "$1" ping -n -q -c 1 -W 2 "$2" >/dev/null 2>&1 && return 0
  done
  return 1
}

# uapi IF REQUEST: send one raw UAPI request (with \n escapes; "-" reads it from stdin as it is) to IF's
# socket, print the reply (python: no socat here). All of it is sent before the reply is read.
uapi() {
  local ifname=$1 request=$2
  python3 -c "$(cat <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read() if sys.argv[2] == "-" else sys.argv[2].encode().decode('unicode_escape').encode())
out = b''
while not out.endswith(b'\n\n') or b'errno=' not in out:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
EOF
)" "$SOCKDIR/$ifname.sock" "$request"
}

# One iperf3 client run from NS1 to IN2; prints only the receiver's summary, as a comment.
iperf_once() {
  local secs=$1 out
  shift
  out=$(ip netns exec "$NS1" timeout 30 iperf3 -c "$IN2" -t "$secs" -f m --connect-timeout 5000 "$@" 2>&1) || {
    echo "$out" >&2
    return 1
  }
  echo "# $(grep receiver <<<"$out" | tr -s ' ')"
}

# iperf3 for DURATION seconds over the tunnel from NS1 to IN2, then reversed; skipped if absent.
iperf_both_ways() {
  local secs=${1:-2}
  if ! command -v iperf3 >/dev/null; then
    skip_check "iperf3" "not installed"
    return 0
  fi
  n2 iperf3 -s -D -B "$IN2" --logfile "$TMP/iperf.log" >/dev/null 2>&1
  wait_for 50 n2 bash -c "ss -ltn | grep -q ':5201 '"
  check "iperf3 TCP $IF1 -> peer ${secs}s" iperf_once "$secs"
  check "iperf3 TCP peer -> $IF1 ${secs}s (reverse)" iperf_once "$secs" -R
}
