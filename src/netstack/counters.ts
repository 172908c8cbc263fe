/**
 * The netstack's traffic and drop counters, one plain number field per reason (STYLE.md: "a bad packet
 * is dropped, counted under its reason"). The IP layer, ICMP, reassembly and UDP write here; nothing on
 * the data path throws for a bad packet.
 */
export class NetStackCounters {
  /** IP packets the device wrote into the stack, and their bytes. */
  rxPackets = 0;
  rxBytes = 0;
  /** IP packets the stack handed to the device, and their bytes. */
  txPackets = 0;
  txBytes = 0;
  /** Datagrams reassembled from fragments, and fragments sent for datagrams past the path MTU. */
  reassembled = 0;
  fragmentsSent = 0;
  /** ICMP echo requests answered; replies to our own requests (ping); ICMP errors sent and received. */
  echoReplies = 0;
  echoRepliesReceived = 0;
  icmpErrorsSent = 0;
  icmpErrorsReceived = 0;

  // ---- drops ----
  /** Version nibble neither 4 nor 6. */
  badVersion = 0;
  /** Header shorter than its minimum, header length field impossible, jumbogram. */
  badHeader = 0;
  /** Total / payload length field larger than the packet. */
  badLength = 0;
  /** IPv4 header checksum wrong. */
  badChecksum = 0;
  /** Destination is not one of the stack's addresses. */
  notForUs = 0;
  /** Source is multicast, broadcast or one of our own addresses (a martian). */
  badSource = 0;
  /** IPv6 extension header malformed, out of place, unsupported option, routing with segments left. */
  badExtension = 0;
  /** Fragment that cannot be part of a datagram: misaligned length, past 65535, conflicting end. */
  badFragment = 0;
  /** Fragment exactly repeating one already held. */
  duplicateFragment = 0;
  /** Datagrams given up: overlapping fragments (RFC 5722), timed out, or pushed out by the bounds. */
  reassemblyOverlap = 0;
  reassemblyTimeout = 0;
  reassemblyOverflow = 0;
  /** TCP/UDP/ICMP segment too short for its header, or its length field disagrees with the packet. */
  badTransportLength = 0;
  /** TCP/UDP/ICMP checksum wrong. */
  badTransportChecksum = 0;
  /** No transport for the protocol (answered with ICMP protocol unreachable / parameter problem). */
  noProtocol = 0;
  /** UDP datagram for a port nobody listens on (answered with ICMP port unreachable). */
  noSocket = 0;
  /** Datagram dropped because the receiving socket's buffer was full. */
  socketBufferFull = 0;
  /** ICMP message of a type we do not act on, or malformed. */
  icmpIgnored = 0;
  /** ICMP error not sent: rate limit (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)). */
  icmpRateLimited = 0;
  /** Outbound: no buffer from the pool (budget), or stack paused. */
  noBuffer = 0;
  /** Outbound: larger than the path MTU and may not be fragmented (TCP), or no address to send from. */
  cannotSend = 0;
  /** Written into or sent on a closed stack. */
  closed = 0;

  snapshot(): Record<string, number> {
    return Object.fromEntries(Object.entries(this)) as Record<string, number>;
  }
}
