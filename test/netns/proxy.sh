#!/usr/bin/env bash
# `wgts proxy` (no root, no TUN) against a peer (a wireguard-go binary, or wgts, given as $1) over veth:
# the proxy runs as the unprivileged user nobody in ns1, with its tunnel address 198.51.100.1 inside
# its own netstack; the peer in ns2 has a kernel TUN with services behind it.
#
#   ns1: wgts proxy (as nobody)            ns2: peer IF2 198.51.100.2 / 2001:db8:2::2
#        SOCKS5 127.0.0.1:1080 (and :1081       HTTP :8000 (python http.server), DNS :53 (web.test),
#        with a password), HTTP :8080,           TCP echo :7, an endless source :9, iperf3 :5201
#        TCPClientTunnel :15201 -> iperf3,
#        TCPServerTunnel tunnel:2222 -> 127.0.0.1:7777 (echo), UDPClientTunnel :5353 -> DNS,
#        UDPServerTunnel tunnel:53 -> 127.0.0.1:5300 (DNS), info server :9080
#
# Checked: PersistentKeepalive makes the handshake before any traffic; curl through SOCKS5
# (--socks5-hostname, names through the tunnel's DNS; IPv6 too) and through the HTTP proxy (absolute
# URI and CONNECT) with SHA-256 of a 32 MiB file; SOCKS5 username/password; iperf3 through the TCP
# client tunnel both ways; a kernel client through the TCP server tunnel; dig through both UDP tunnels;
# UDP ASSOCIATE from a Python client; the STDIO tunnel as ssh's ProxyCommand would run it; /metrics
# and /readyz (CheckAlive: 200 while the peer's kernel answers pings of both families, 503 while its
# ICMP echo is dropped); 1,000 concurrent SOCKS connections; a client that stops reading; bad configurations
# refused with the line named and nothing started; wireproxy's README configuration read unchanged;
# -d returns once listening.
#
# Usage: proxy.sh PEER   (PEER: /usr/bin/wireguard-go | ~/go/bin/wireguard | wgts)
source "$(dirname "$0")/lib.sh"

PEER_IMPL=${1:?usage: proxy.sh PATH-TO-WIREGUARD-GO|wgts}
echo "# wgts proxy (as nobody, in $NS1) <-> $PEER_IMPL ($IF2 in $NS2)"

for cmd in curl dig socat setpriv python3 iperf3; do
  command -v "$cmd" >/dev/null || die "$cmd is not installed"
done

# The proxy runs as nobody from a copy it can read: the clone may sit in a directory only root enters.
RUN=$(mktemp -d /tmp/wgts-proxy-run.XXXXXX)
trap 'rm -rf "$RUN"; cleanup' EXIT
chmod 755 "$RUN"
cp -r "$ROOT/dist" "$ROOT/package.json" "$RUN/"
mkdir -p "$RUN/node_modules" "$RUN/build/Release"
for dep in @noble undici; do cp -r "$ROOT/node_modules/$dep" "$RUN/node_modules/"; done
[[ -f $ROOT/build/Release/wgts_native.node ]] && cp "$ROOT/build/Release/wgts_native.node" "$RUN/build/Release/"
chmod -R a+rX "$RUN"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_nobody "$NODE" --version >/dev/null || die "nobody cannot run $NODE"
PROXY=("$NODE" "$RUN/dist/cli/main.js" proxy)
# 1,000 client connections need more descriptors than the usual soft limit of 1,024.
ulimit -n 8192

setup_pair
make_keys
wg genkey >"$TMP/priv3"
wg pubkey <"$TMP/priv3" >"$TMP/pub3"
IN3=198.51.100.3
# A wgts daemon as the peer serves /metrics too (WGTS_METRICS_ADDRESS; wireguard-go ignores it).
WGTS_METRICS_ADDRESS=127.0.0.1:9586 start_peer "$NS2" "$IF2" "$PEER_IMPL"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
  peer "$(cat "$TMP/pub1")" allowed-ips "$IN1/32,$IN61/128" \
  peer "$(cat "$TMP/pub3")" allowed-ips "$IN3/32"
address "$NS2" "$IF2" "$IN2" "$IN62"

# --- services behind the peer, and on ns1's loopback for the server tunnels ---
mkdir -p "$TMP/www"
head -c 32M /dev/urandom >"$TMP/www/big.bin"
WANT=$(sha256sum <"$TMP/www/big.bin" | cut -d' ' -f1)
n2 python3 -m http.server 8000 --bind :: --directory "$TMP/www" >"$TMP/http.log" 2>&1 &
n2 "$NODE" "$ROOT/dist/tunnel/_dns-serve.js" "{\"web.test\":{\"A\":[\"$IN2\"],\"AAAA\":[\"$IN62\"]}}" 53 "$IN2" >"$TMP/dns2.log" 2>&1 &
# One process serves every echo connection (socat would fork two processes per connection: 1,000 of
# them below), with a listen backlog for 1,000 connections arriving at once. With Node's default (511)
# the kernel answers the burst with SYN cookies and its accept queue overflows: it drops a valid
# cookie ACK without keeping state, the client's next segment (past ISN + 1) then fails the cookie
# check and is reset (ListenOverflows and SyncookiesFailed rise together; kernel clients over a
# 1420-byte MTU see the same). Our side of the cookie path is covered by tunnel/netns.test.ts.
n2 "$NODE" -e "require('net').createServer({allowHalfOpen: true}, (s) => { s.on('error', () => {}); s.pipe(s); }).listen({port: 7, host: '$IN2', backlog: 4096})" >/dev/null 2>&1 &
n2 socat TCP-LISTEN:9,bind="$IN2",fork,reuseaddr OPEN:/dev/zero >/dev/null 2>&1 &
n2 iperf3 -s -D -B "$IN2" --logfile "$TMP/iperf.log" >/dev/null 2>&1
n1 socat TCP-LISTEN:7777,bind=127.0.0.1,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
n1 "$NODE" "$ROOT/dist/tunnel/_dns-serve.js" '{"local.test":{"A":["127.0.0.9"]}}' 5300 127.0.0.1 >"$TMP/dns1.log" 2>&1 &
listening() { ip netns exec "$1" ss -Hln | grep -q "$2"; }
wait_for 100 listening "$NS2" ":8000 " || die "http.server did not start"
wait_for 100 listening "$NS2" "$IN2:53 " || die "the DNS server did not start"
wait_for 100 listening "$NS2" ":5201 " || die "iperf3 did not start"
wait_for 100 listening "$NS1" "127.0.0.1:5300 " || die "the local DNS server did not start"

# --- the proxy ---
cat >"$RUN/proxy.conf" <<CONF
# A wireproxy configuration: wg-quick [Interface]/[Peer], then the proxy's sections.
[Interface]
PrivateKey = $(cat "$TMP/priv1")
Address = $IN1/32, $IN61/128
DNS = $IN2
CheckAlive = $IN2, $IN62
CheckAliveInterval = 1

[Peer]
PublicKey = $(cat "$TMP/pub2")
Endpoint = $OUT2:51821
PersistentKeepalive = 1

[Socks5]
BindAddress = 127.0.0.1:1080

[Socks5]
BindAddress = 127.0.0.1:1081
Username = alice
Password = \$PROXY_PASSWORD

[http]
BindAddress = 127.0.0.1:8080

[TCPClientTunnel]
BindAddress = 127.0.0.1:15201
Target = $IN2:5201

[TCPServerTunnel]
ListenPort = 2222
Target = 127.0.0.1:7777

[UDPClientTunnel]
BindAddress = 127.0.0.1:5353
Target = $IN2:53

[UDPServerTunnel]
ListenPort = 53
Target = 127.0.0.1:5300
CONF
chmod 644 "$RUN/proxy.conf"
# ip netns exec, env and setpriv each exec the next: $! is the proxy's own pid.
ip netns exec "$NS1" env PROXY_PASSWORD=s3cret setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "${PROXY[@]}" -c "$RUN/proxy.conf" -i 127.0.0.1:9080 >"$TMP/proxy.log" 2>&1 &
PROXY_PID=$!
wait_for 100 listening "$NS1" "127.0.0.1:9080 " || die "the proxy did not start: $(cat "$TMP/proxy.log")"
check "the proxy runs as nobody" test "$(awk '/^Uid:/ {print $2}' "/proc/$PROXY_PID/status")" = "$(id -u nobody)"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$PROXY_PID/status"; }
echo "# proxy RSS at start: $(rss_kib) KiB"

# PersistentKeepalive = 1: the handshake happens with no traffic at all.
peer_handshake() { test "$(n2 wg show "$IF2" latest-handshakes | awk -v k="$(cat "$TMP/pub1")" '$1 == k {print $2}')" -gt 0; }
check "PersistentKeepalive: a handshake before any traffic" wait_for 100 peer_handshake
# CheckAlive: the proxy pings the peer's addresses through the tunnel (ICMP and ICMPv6 from its own
# stack, as nobody); /readyz follows the answers (interval 1 s, plus 2 s of leeway).
readyz() { test "$(n1 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9080/readyz)" = "$1"; }
check "CheckAlive: /readyz is 200 once $IN2 and $IN62 answer pings through the tunnel" wait_for 100 readyz 200
names_replies() {
  local body
  body=$(n1 curl -s http://127.0.0.1:9080/readyz)
  [[ $body =~ \"$IN2\":[1-9][0-9]+ && $body =~ \"$IN62\":[1-9][0-9]+ ]]
}
check "CheckAlive: /readyz names each address's last reply" names_replies
n2 ip6tables -I INPUT -p icmpv6 --icmpv6-type echo-request -d "$IN62" -j DROP
check "CheckAlive: /readyz is 503 once $IN62 stops answering" wait_for 100 readyz 503
n2 ip6tables -D INPUT -p icmpv6 --icmpv6-type echo-request -d "$IN62" -j DROP
check "CheckAlive: /readyz is 200 again when it answers" wait_for 100 readyz 200

# --- SOCKS5 and HTTP with curl, files checked by SHA-256 ---
sha_via() { test "$(n1 curl -sS --max-time 60 "$@" | sha256sum | cut -d' ' -f1)" = "$WANT"; }
check "curl --socks5-hostname: a name through the tunnel's DNS, 32 MiB, SHA-256" \
  sha_via --socks5-hostname 127.0.0.1:1080 http://web.test:8000/big.bin
check "curl --socks5-hostname to an IPv6 destination" sha_via --socks5-hostname 127.0.0.1:1080 "http://[$IN62]:8000/big.bin"
check "curl --socks5 (the client resolves; IPv4 literal)" sha_via --socks5 127.0.0.1:1080 "http://$IN2:8000/big.bin"
check "SOCKS5 with username/password" sha_via --socks5-hostname alice:s3cret@127.0.0.1:1081 http://web.test:8000/big.bin
check "SOCKS5 with a wrong password is refused" bash -c "! ip netns exec $NS1 curl -s --max-time 10 --socks5-hostname alice:wrong@127.0.0.1:1081 http://web.test:8000/big.bin >/dev/null"
check "curl -x (HTTP proxy, absolute URI)" sha_via -x http://127.0.0.1:8080 http://web.test:8000/big.bin
check "curl -p -x (HTTP proxy, CONNECT)" sha_via -p -x http://127.0.0.1:8080 http://web.test:8000/big.bin
check "HTTP proxy: two requests on one kept-alive connection" \
  bash -c "ip netns exec $NS1 curl -sS -x http://127.0.0.1:8080 http://web.test:8000/ http://web.test:8000/ -o /dev/null -o /dev/null -w '%{num_connects}\n' | paste -sd' ' | grep -qx '1 0'"
check "SOCKS5: a refused port is reply 5 (curl says so)" \
  bash -c "ip netns exec $NS1 curl -sS --max-time 10 --socks5-hostname 127.0.0.1:1080 http://web.test:1/ 2>&1 | tee -a $TMP/refused.log | grep -Eqi 'refused|\\(5\\)'"
echo "# $(cat "$TMP/refused.log" 2>/dev/null)"

# --- iperf3 through the TCP client tunnel, both directions ---
iperf_local() { n1 timeout 30 iperf3 -c 127.0.0.1 -p 15201 -t 2 -f m "$@" >"$TMP/iperf-client.log" 2>&1 && echo "# $(grep receiver "$TMP/iperf-client.log" | tr -s ' ')"; }
check "iperf3 through TCPClientTunnel, upload" iperf_local
check "iperf3 through TCPClientTunnel, download (-R)" iperf_local -R

# --- a kernel client through the TCP server tunnel ---
head -c 1M /dev/urandom >"$TMP/1m.bin"
server_tunnel_echo() { test "$(n2 timeout 20 socat -t 5 - TCP:"$IN1":2222 <"$TMP/1m.bin" | sha256sum)" = "$(sha256sum <"$TMP/1m.bin")"; }
check "TCPServerTunnel: a kernel client in ns2 reaches an echo service on ns1's loopback (1 MiB)" server_tunnel_echo

# --- UDP: both tunnels with dig, UDP ASSOCIATE from Python ---
check "UDPClientTunnel: dig through it to the DNS server behind the peer" \
  test "$(n1 dig +short +tries=3 +time=2 @127.0.0.1 -p 5353 web.test A)" = "$IN2"
check "UDPServerTunnel: dig from ns2 to the tunnel address reaches the DNS server on ns1's loopback" \
  test "$(n2 dig +short +tries=3 +time=2 @"$IN1" -p 53 local.test A)" = 127.0.0.9
cat >"$TMP/udp_associate.py" <<'PY'
# SOCKS5 UDP ASSOCIATE (RFC 1928 section 7): ask the DNS server behind the tunnel for web.test A.
import socket, struct, sys
proxy_port, dns_ip = int(sys.argv[1]), sys.argv[2]
c = socket.create_connection(("127.0.0.1", proxy_port))
c.sendall(b"\x05\x01\x00"); assert c.recv(2) == b"\x05\x00"
c.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
r = c.recv(10); assert r[1] == 0, r
relay = (socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[8:10])[0])
assert relay[0] == "127.0.0.1", relay   # bound where the client came in, not 0.0.0.0
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03web\x04test\x00" + struct.pack(">HH", 1, 1)
head = b"\x00\x00\x00\x01" + socket.inet_aton(dns_ip) + struct.pack(">H", 53)
frag = b"\x00\x00\x01" + head[3:]   # FRAG=1: must be dropped
u.sendto(frag + q, relay)
for attempt in range(3):
    u.sendto(head + q, relay)
    try:
        d, _ = u.recvfrom(2048); break
    except socket.timeout:
        continue
else:
    sys.exit("no answer through UDP ASSOCIATE")
assert d[:4] == b"\x00\x00\x00\x01" and socket.inet_ntoa(d[4:8]) == dns_ip, d[:10]
ans = d[10:]
assert struct.unpack(">H", ans[:2])[0] == 0x1234 and struct.unpack(">H", ans[6:8])[0] == 1, ans
print(socket.inet_ntoa(ans[-4:]))
PY
check "UDP ASSOCIATE: a DNS query from a Python client through the relay" \
  test "$(n1 timeout 20 python3 "$TMP/udp_associate.py" 1080 "$IN2")" = "$IN2"

# --- STDIOTunnel, as ssh -o ProxyCommand='wgts proxy -c FILE' runs it (its own key and address) ---
cat >"$RUN/stdio.conf" <<CONF
[Interface]
PrivateKey = $(cat "$TMP/priv3")
Address = $IN3/32

[Peer]
PublicKey = $(cat "$TMP/pub2")
Endpoint = $OUT2:51821
AllowedIPs = $IN2/32

[STDIOTunnel]
Target = $IN2:7
CONF
chmod 644 "$RUN/stdio.conf"
stdio_echo() {
  n1 timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups env LOG_LEVEL=verbose "${PROXY[@]}" -c "$RUN/stdio.conf" \
    <"$TMP/1m.bin" >"$TMP/stdio.out" 2>"$TMP/stdio.log"
  local rc=$?
  cmp -s "$TMP/stdio.out" "$TMP/1m.bin" && test $rc = 0 || {
    echo "# STDIOTunnel: exit $rc, $(stat -c %s "$TMP/stdio.out") bytes back"
    return 1
  }
}
check "STDIOTunnel: stdin through the tunnel to a TCP echo service and back on stdout (1 MiB)" stdio_echo

# --- metrics ---
n1 curl -s http://127.0.0.1:9080/metrics >"$TMP/metrics.txt"
metric() { grep -E "^$1" "$TMP/metrics.txt" | head -1 | awk '{print $NF}'; }
check "/metrics: the peer's handshake age is known" \
  bash -c "grep -Eq '^wgts_peer_handshake_age_seconds\{public_key=\"$(cat "$TMP/pub2" | sed 's/[+/]/./g')\"\} [0-9.]+$' $TMP/metrics.txt"
check "/metrics: the peer's endpoint" grep -q "wgts_peer_info{public_key=\"$(cat "$TMP/pub2")\",endpoint=\"$OUT2:51821\"} 1" "$TMP/metrics.txt"
check "/metrics: SOCKS5 connections counted" test "$(metric 'wgts_listener_connections_total\{kind="socks5",address="127.0.0.1:1080"\}')" -ge 4
check "/metrics: bytes through the HTTP proxy" test "$(metric 'wgts_listener_sent_bytes_total\{kind="http"')" -gt 67108864
check "/metrics: UDP datagrams through UDPClientTunnel" test "$(metric 'wgts_listener_datagrams_received_total\{kind="udp-client"')" -ge 1
check "/metrics: pool, tunnel TCP and process" bash -c "grep -q '^wgts_pool_slabs ' $TMP/metrics.txt && grep -q '^wgts_tcp_sockets{state=\"connections\"} ' $TMP/metrics.txt && grep -q '^process_resident_memory_bytes ' $TMP/metrics.txt && grep -q '^nodejs_gc_runs_total ' $TMP/metrics.txt"

if [[ $PEER_IMPL == wgts ]]; then
  check "the wgts daemon's WGTS_METRICS_ADDRESS: /metrics with the proxy as its peer" \
    bash -c "ip netns exec $NS2 curl -s http://127.0.0.1:9586/metrics | grep -q 'wgts_peer_info{public_key=\"$(cat "$TMP/pub1")\",endpoint=\"$OUT1:'"
fi

# --- 1,000 concurrent SOCKS connections, and a client that stops reading ---
cat >"$TMP/many.py" <<'PY'
# Open N SOCKS5 connections to the echo service at once, all held open; each sends 1 KiB and must get
# it back. Prints the proxy's RSS (KiB) while all are open, then closes them.
import asyncio, os, sys
port, dst, n, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
async def one(i, opened, go):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"\x05\x01\x00\x05\x01\x00\x01" + bytes(map(int, dst.split("."))) + (7).to_bytes(2, "big"))
    assert await r.readexactly(2) == b"\x05\x00"
    rep = await r.readexactly(10); assert rep[1] == 0, rep
    payload = os.urandom(1024)
    w.write(payload)
    assert await r.readexactly(1024) == payload
    opened.append(1)
    await go.wait()
    w.close()
async def main():
    opened, go = [], asyncio.Event()
    tasks = [asyncio.create_task(one(i, opened, go)) for i in range(n)]
    while len(opened) < n:
        await asyncio.sleep(0.05)
        for t in tasks:
            if t.done() and t.exception(): raise t.exception()
    rss = [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")][0]
    print(f"{len(opened)} {rss}")
    go.set()
    await asyncio.gather(*tasks)
asyncio.run(main())
PY
many_out=$(n1 timeout 120 python3 "$TMP/many.py" 1080 "$IN2" 1000 "$PROXY_PID" 2>&1) || echo "$many_out" | sed "s/^/# /"
check "1,000 concurrent SOCKS5 connections, each echoing 1 KiB" test "${many_out%% *}" = 1000
echo "# proxy RSS with 1,000 connections open: ${many_out##* } KiB"

cat >"$TMP/stall.py" <<'PY'
# A SOCKS5 client of an endless source that never reads: the proxy must stop reading the source
# (backpressure), not buffer it. Prints the proxy's RSS growth (KiB) over 3 seconds of stalling.
import socket, sys, time
port, dst, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def rss(): return int([l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")][0])
c = socket.create_connection(("127.0.0.1", port))
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
c.sendall(b"\x05\x01\x00\x05\x01\x00\x01" + socket.inet_aton(dst) + (9).to_bytes(2, "big"))
assert c.recv(2) == b"\x05\x00"
time.sleep(1); before = rss()
time.sleep(3); after = rss()
print(after - before)
PY
grow=$(n1 timeout 30 python3 "$TMP/stall.py" 1080 "$IN2" "$PROXY_PID" 2>&1)
echo "# proxy RSS growth while a client stalls on an endless source: $grow KiB"
check "a client that stops reading does not grow the proxy (< 16 MiB over 3 s)" test "$grow" -lt 16384

# --- bad configurations: refused, the line named, nothing started ---
cp "$RUN/proxy.conf" "$RUN/bad.conf"
sed -i 's/^BindAddress = 127.0.0.1:8080$/BindAddress = 127.0.0.1:8089\nColour = blue/' "$RUN/bad.conf"
chmod 644 "$RUN/bad.conf"
bad_line=$(grep -n '^Colour' "$RUN/bad.conf" | cut -d: -f1)
bad_out=$(n1 env PROXY_PASSWORD=x setpriv --reuid=nobody --regid=nogroup --clear-groups "${PROXY[@]}" -c "$RUN/bad.conf" 2>&1; echo "exit=$?")
check "an unknown key: exit 1, file, line and key named" grep -q "$RUN/bad.conf:$bad_line: Colour: unknown key in \[http\]" <<<"$bad_out"
check "an unknown key: exit status 1" grep -q "exit=1" <<<"$bad_out"
check "an unknown key: nothing started" bash -c "! ip netns exec $NS1 ss -Hln | grep -q '127.0.0.1:8089 '"
printf '[Interface]\nPrivateKey = %s\nAddress = 10.0.0.1/33\n[Peer]\nPublicKey = %s\n' "$(cat "$TMP/priv3")" "$(cat "$TMP/pub2")" >"$RUN/bad2.conf"
check "a bad address: the line and key named" bash -c "ip netns exec $NS1 ${PROXY[*]} -c $RUN/bad2.conf 2>&1 | grep -q '$RUN/bad2.conf:3: Address:'"
check "an unreadable file is named" bash -c "ip netns exec $NS1 ${PROXY[*]} -c $RUN/missing.conf 2>&1 | grep -q '$RUN/missing.conf: cannot read'"

# --- wireproxy's README configuration, unchanged ---
cp "$ROOT/test/wireproxy/readme.conf" "$RUN/readme.conf"
chmod 644 "$RUN/readme.conf"
check "wireproxy's README configuration reads unchanged (-n: Config OK)" \
  test "$(n1 "${PROXY[@]}" -n -c "$RUN/readme.conf" 2>/dev/null)" = "Config OK"
# The same file run for real, with only its keys, addresses and endpoint made to point at this peer.
sed -e "s|^Address = .*|Address = $IN1/32|" -e "s|^PrivateKey = .*|PrivateKey = $(cat "$TMP/priv3")|" \
  -e "s|^DNS = .*|DNS = $IN2|" -e "s|^PublicKey = .*|PublicKey = $(cat "$TMP/pub2")|" \
  -e "s|^Endpoint = .*|Endpoint = $OUT2:51821|" -e '/^\[STDIOTunnel\]/,+1d' -e '/^\[SNI\]/,+1d' -e 's|^Target = play.cubecraft.net:25565|Target = web.test:8000|' \
  "$RUN/readme.conf" >"$RUN/readme-run.conf"
sed -i "s|^Address = $IN1/32|Address = $IN3/32|" "$RUN/readme-run.conf"
chmod 644 "$RUN/readme-run.conf"

# -d: returns once every listener is up; the detached proxy serves the README's sections.
d_out=$(n1 setpriv --reuid=nobody --regid=nogroup --clear-groups "${PROXY[@]}" -d -c "$RUN/readme-run.conf" 2>&1; echo "exit=$?")
check "-d returns 0 once listening" grep -q "exit=0" <<<"$d_out"
check "the README-shaped configuration: SOCKS5 on 25344 works" sha_via --socks5-hostname 127.0.0.1:25344 http://web.test:8000/big.bin
check "the README-shaped configuration: HTTP proxy on 25345 works" sha_via -x http://127.0.0.1:25345 http://web.test:8000/big.bin
check "the README-shaped configuration: TCPClientTunnel 25565 -> web.test:8000" sha_via http://127.0.0.1:25565/big.bin
for pid in $(ip netns pids "$NS1"); do
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "readme-run.conf" && kill -TERM "$pid"
done

kill -TERM "$PROXY_PID"
check "SIGTERM stops the proxy" wait_for 50 pid_gone "$PROXY_PID"
finish
