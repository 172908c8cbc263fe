/**
 * Where things are in the packets every layer above reads: the fixed IPv4 header (RFC 791 §3.1), the
 * IPv6 header (RFC 8200 §3), and the TCP (RFC 9293 §3.1) and UDP (RFC 768) headers, as byte offsets
 * from the start of their header, with the protocol numbers that name them (IANA "Assigned Internet
 * Protocol Numbers"). One table for the device's routing and source checks, the TUN offloads and the
 * netstack, so a hot loop reads `b[s + IPV4_DST_OFFSET]`, not `b[s + 16]`.
 */

// ---- IPv4 (RFC 791 §3.1) ----
/** The header without options (IHL 5); IHL counts 32-bit words, up to 60 bytes. */
export const IPV4_MIN_HEADER_LEN = 20;
/** Version (high nibble, 4) and IHL (low nibble). */
export const IPV4_VERSION_IHL_OFFSET = 0;
export const IPV4_TOS_OFFSET = 1;
/** Total length, header included (16 bits: at most 65535). */
export const IPV4_TOTAL_LENGTH_OFFSET = 2;
export const IPV4_ID_OFFSET = 4;
/** Flags (DF, MF) and the 13-bit fragment offset, one 16-bit word. */
export const IPV4_FLAGS_OFFSET = 6;
export const IPV4_TTL_OFFSET = 8;
export const IPV4_PROTOCOL_OFFSET = 9;
export const IPV4_CHECKSUM_OFFSET = 10;
/** Source address; the destination follows it. */
export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;

// ---- IPv6 (RFC 8200 §3) ----
/** The fixed header; extension headers follow it. */
export const IPV6_HEADER_LEN = 40;
/** Payload length: what follows the fixed header, extension headers included. */
export const IPV6_PAYLOAD_LENGTH_OFFSET = 4;
export const IPV6_NEXT_HEADER_OFFSET = 6;
export const IPV6_HOP_LIMIT_OFFSET = 7;
/** Source address; the destination follows it. */
export const IPV6_SRC_OFFSET = 8;
export const IPV6_DST_OFFSET = 24;

// ---- protocol numbers (IANA "Assigned Internet Protocol Numbers") ----
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

// ---- TCP (RFC 9293 §3.1) ----
export const TCP_SEQ_OFFSET = 4;
export const TCP_ACK_OFFSET = 8;
/** Data offset (high nibble, in 32-bit words), then reserved bits. */
export const TCP_DATA_OFFSET = 12;
export const TCP_FLAGS_OFFSET = 13;
export const TCP_CHECKSUM_OFFSET = 16;
export const TCP_MIN_HEADER_LEN = 20;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

// ---- UDP (RFC 768) ----
export const UDP_HEADER_LEN = 8;
export const UDP_LENGTH_OFFSET = 4;
export const UDP_CHECKSUM_OFFSET = 6;
