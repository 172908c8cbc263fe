#!/usr/bin/env bash
# Configurations of any size through the UAPI socket, driven by `wg` as a user would:
#   - one `wg setconf` of a peer with 130,560 allowed IPs (for a in 1..255, b in 0..255: a.b.0.0/16
#     and a::b/128; about 3 MB of UAPI text): taken whole, `wg show IF allowed-ips` lists them all;
#   - raw requests of that size with one bad line in the middle, and the big configuration through wg
#     on a port in use: the errno comes back (the rest of the request is read, so the client is never
#     cut off mid-write) and nothing changes;
#   - one `wg setconf` of many peers (each with a /32, a /128 and an endpoint), then `wg show` and
#     `wg showconf`, whose output is checked. Times are printed as comments, never asserted.
# With a second implementation (a wireguard-go binary), the big allowed-IP list and the many peers go
# to it too, in its own namespace, and both must read back the same.
#
# Usage: uapi-scale.sh IMPL [REFERENCE-IMPL]   (IMPL: wgts or a wireguard-go binary)
# WGTS_SCALE_PEERS sets how many peers (default 10000).
source "$(dirname "$0")/lib.sh"

IMPL=${1:?usage: uapi-scale.sh IMPL [REFERENCE-IMPL]}
REF=${2:-}
PEERS=${WGTS_SCALE_PEERS:-10000}

# start NS IF IMPL: a daemon logging errors only (logging every peer would be what is timed).
start() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  if [[ $3 == wgts ]]; then
    start_wgts "$1" "$2"
  else
    ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error "$3" -f "$2" >"$TMP/$2.log" 2>&1 &
    wait_for 100 sock_exists "$2" || die "$3 $2: no UAPI socket"
  fi
  ip -n "$1" link set "$2" up
}
start "$NS1" "$IF1" "$IMPL"
[[ -z $REF ]] || start "$NS2" "$IF2" "$REF"

# seconds COMMAND...: run COMMAND and keep its wall time for measured().
seconds() {
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$@" || rc=$?
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000000))" >"$TMP/ms"
  return $rc
}
# measured WHAT: print the last command's time as a "# measured:" line (the test runner shows those).
measured() { printf '# measured: %s: %d.%03d s\n' "$1" "$(($(cat "$TMP/ms") / 1000))" "$(($(cat "$TMP/ms") % 1000))"; }

umask 077
wg genkey >"$TMP/priv"

# --- one peer, 130,560 allowed IPs ---
python3 - "$TMP/priv" "$TMP/big.conf" <<'EOF'
import base64, os, sys
priv = open(sys.argv[1]).read().strip()
ips = []
for a in range(1, 256):
    for b in range(256):
        ips.append(f"{a}.{b}.0.0/16")
        ips.append(f"{a:x}::{b:x}/128")
with open(sys.argv[2], "w") as f:
    f.write(f"[Interface]\nPrivateKey = {priv}\nListenPort = 0\n\n[Peer]\n")
    f.write(f"PublicKey = {base64.b64encode(os.urandom(32)).decode()}\n")
    f.write("AllowedIPs = " + ", ".join(ips) + "\n")
EOF
if seconds n1 wg setconf "$IF1" "$TMP/big.conf" 2>"$TMP/err"; then
  ok "wg setconf: one peer with 130,560 allowed IPs"
  measured "$(basename "$IMPL"): wg setconf of one peer with 130,560 allowed IPs"
else
  fail "wg setconf: one peer with 130,560 allowed IPs: $(cat "$TMP/err")"
fi
words=$(n1 wg show "$IF1" allowed-ips | wc -w)
check "wg show allowed-ips lists 130,561 words (got $words)" test "$words" = 130561
if [[ -n $REF ]]; then
  seconds n2 wg setconf "$IF2" "$TMP/big.conf"
  measured "$(basename "$REF"): wg setconf of one peer with 130,560 allowed IPs"
  n1 wg show "$IF1" allowed-ips | tr ' \t' '\n\n' | sort >"$TMP/ips.1"
  n2 wg show "$IF2" allowed-ips | tr ' \t' '\n\n' | sort >"$TMP/ips.2"
  check "  ... the same list as $REF" cmp -s "$TMP/ips.1" "$TMP/ips.2"
fi

# --- raw requests as big, one bad line in the middle: errno back, nothing changed ---
before=$(n1 wg showconf "$IF1" | sha256sum)
# bad_request KIND: a set with 200,000 allowed_ip lines for a new peer and, half-way, one bad line.
bad_request() {
  python3 - "$1" <<'EOF' | uapi "$IF1" -
import os, sys
bad = {"value": b"allowed_ip=10.0.0.300/32\n", "long": b"allowed_ip=" + b"1" * 100000 + b"\n",
       "key": b"allowed_ips=10.0.0.0/8\n"}[sys.argv[1]]
lines = [b"set=1\n", b"public_key=" + os.urandom(32).hex().encode() + b"\n"]
for i in range(200000):
    if i == 100000:
        lines.append(bad)
    lines.append(b"allowed_ip=10.%d.%d.0/24\n" % (i >> 8 & 255, i & 255))
sys.stdout.buffer.write(b"".join(lines) + b"\n")
EOF
}
check "5 MB raw set, bad allowed_ip half-way: errno=-22" test "$(bad_request value)" = "errno=-22"
check "5 MB raw set, unknown key half-way: errno=-22" test "$(bad_request key)" = "errno=-22"
check "5 MB raw set, a line longer than any legal one: errno=-5" test "$(bad_request long)" = "errno=-5"
check "  ... and none of them changed anything" test "$(n1 wg showconf "$IF1" | sha256sum)" = "$before"

# The same through wg: the big configuration on a port another socket holds is refused at the end
# (EADDRINUSE), and wg, having written all of it, prints the errno instead of dying of SIGPIPE.
n1 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 41616))
open(sys.argv[1], "w").close()
time.sleep(120)' "$TMP/holder-ready" &
holder=$!
wait_for 200 test -e "$TMP/holder-ready" || die "the port holder did not start"
sed 's/^ListenPort = 0$/ListenPort = 41616/' "$TMP/big.conf" >"$TMP/big-busy.conf"
rc=0
n1 wg setconf "$IF1" "$TMP/big-busy.conf" 2>"$TMP/err" || rc=$?
check "wg setconf of the big configuration on a port in use fails with exit 1 (got $rc)" test "$rc" = 1
check "  ... saying 'Address already in use'" grep -q "Address already in use" "$TMP/err"
check "  ... and changes nothing" test "$(n1 wg showconf "$IF1" | sha256sum)" = "$before"
kill "$holder" 2>/dev/null || true

# --- many peers, each with a /32, a /128 and an endpoint ---
python3 - "$TMP/priv" "$TMP/peers.conf" "$PEERS" <<'EOF'
import base64, ipaddress, os, sys
priv, path, n = open(sys.argv[1]).read().strip(), sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    f.write(f"[Interface]\nPrivateKey = {priv}\nListenPort = 0\n")
    for i in range(n):
        key = base64.b64encode(os.urandom(32)).decode()
        f.write(f"\n[Peer]\nPublicKey = {key}\n")
        v6 = ipaddress.IPv6Address((0xFD00 << 112) + i)
        f.write(f"AllowedIPs = 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32, {v6}/128\n")
        f.write(f"Endpoint = 192.0.2.{1 + i % 250}:{1024 + i // 250}\n")
EOF
# What showconf must give back: the file's peers, in any order (ListenPort is the one bound).
canon() {
  python3 -c '
import re, sys
blocks = re.split(r"\n\s*\n", sys.stdin.read().strip())
peers = sorted("\n".join(sorted(l for l in b.splitlines() if not l.startswith("#"))) for b in blocks[1:])
print(len(peers)); print("\n\n".join(peers))'
}
canon <"$TMP/peers.conf" >"$TMP/peers.want"

for side in 1 2; do
  [[ $side == 2 && -z $REF ]] && break
  ns=$NS1 ifname=$IF1 impl=$IMPL
  [[ $side == 2 ]] && ns=$NS2 ifname=$IF2 impl=$REF
  name=$(basename "$impl")
  if seconds ip netns exec "$ns" wg setconf "$ifname" "$TMP/peers.conf" 2>"$TMP/err"; then
    ok "$name: wg setconf of $PEERS peers in one request"
    measured "$name: wg setconf of $PEERS peers"
  else
    fail "$name: wg setconf of $PEERS peers: $(cat "$TMP/err")"
  fi
  seconds ip netns exec "$ns" wg show "$ifname" >"$TMP/show.$side"
  measured "$name: wg show of $PEERS peers"
  seconds ip netns exec "$ns" wg showconf "$ifname" >"$TMP/showconf.$side"
  measured "$name: wg showconf of $PEERS peers"
  check "$name: wg showconf gives back every peer as set" cmp -s "$TMP/peers.want" <(canon <"$TMP/showconf.$side")
  check "$name: wg show lists $PEERS peers" test "$(grep -c '^peer: ' "$TMP/show.$side")" = "$PEERS"
  check "$name: wg show gives each an endpoint and both allowed IPs" \
    test "$(grep -Ec '^  endpoint: 192\.0\.2\.|^  allowed ips: 10\.[0-9.]+/32, fd00:[0-9a-f:]*/128$' "$TMP/show.$side")" = "$((2 * PEERS))"
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(daemon_pid "$ns" "$ifname")/status")
  echo "# measured: $name: daemon RSS with $PEERS peers: $((rss / 1024)) MiB"
done

finish
