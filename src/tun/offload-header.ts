/**
 * The virtio_net_hdr that prefixes every frame on a TUN opened with IFF_VNET_HDR, in both directions
 * (include/uapi/linux/virtio_net.h; Virtio 1.2 §5.1.6 "Device Operation"; the TUN side is
 * drivers/net/tun.c with include/linux/virtio_net.h's virtio_net_hdr_to_skb / _from_skb).
 *
 *   offset 0  u8    flags        VIRTIO_NET_HDR_F_*
 *          1  u8    gso_type     VIRTIO_NET_HDR_GSO_*, possibly | GSO_ECN
 *          2  le16  hdr_len      bytes of headers (IP + transport) in front of the payload
 *          4  le16  gso_size     payload bytes per segment (the MSS for TCP)
 *          6  le16  csum_start   where the checksummed part starts (the transport header)
 *          8  le16  csum_offset  where, from csum_start, the checksum goes (16 for TCP, 6 for UDP)
 *
 * Little-endian: a TUN's header is in the host's order unless TUNSETVNETLE/BE says otherwise
 * (tun_is_little_endian), and this code runs only on little-endian hosts (LinuxTun checks), so the
 * fields are read as little-endian straight from the packet bytes, one byte at a time: no DataView
 * and no object per packet.
 */

/** sizeof(struct virtio_net_hdr): the size a TUN uses until TUNSETVNETHDRSZ says otherwise. */
export const VIRTIO_NET_HDR_LEN = 10;

// ---- flags ----
/** The checksum from csum_start to the end is not done; the field at csum_offset holds the pseudo-header sum (CHECKSUM_PARTIAL). */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** The checksum was already checked (CHECKSUM_UNNECESSARY); informational on read. */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;

// ---- gso_type ----
/** Not a super-packet. */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** A TCP/IPv4 super-packet to cut into gso_size segments (TSO, RFC 9293 segmentation). */
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** UFO (IP fragmentation of one big UDP datagram): never negotiated here (TUN_F_UFO is not set). */
export const VIRTIO_NET_HDR_GSO_UDP = 3;
/** A TCP/IPv6 super-packet. */
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** A UDP super-packet cut into gso_size datagrams (USO, UDP_SEGMENT; Linux 6.2+ on TUN). */
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
/** Or'ed into gso_type when the TCP super-packet carries ECN CWR (only with TUN_F_TSO_ECN). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

// ---- TUNSETOFFLOAD bits (include/uapi/linux/if_tun.h): what the kernel may hand us on read ----
/** We complete checksums ourselves: the kernel may hand over NEEDS_CSUM packets. Required by every GSO bit. */
export const TUN_F_CSUM = 0x01;
/** We split TCP/IPv4 super-packets. */
export const TUN_F_TSO4 = 0x02;
/** We split TCP/IPv6 super-packets. */
export const TUN_F_TSO6 = 0x04;
/** We handle CWR in super-packets. Not asked for, as wireguard-go does not: ECN flows just get no TSO. */
export const TUN_F_TSO_ECN = 0x08;
/** UDP fragmentation offload: obsolete, never asked for. */
export const TUN_F_UFO = 0x10;
/** We split UDP super-packets (GSO_UDP_L4). Linux 6.2+: the kernel refuses the bit before that. */
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** What LinuxTun asks for first: checksums and TCP segmentation both ways, as wireguard-go does. */
export const TUN_OFFLOADS_TCP = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
/** Asked for on top where the kernel has them; refused (EINVAL) before 6.2, which is not an error. */
export const TUN_OFFLOADS_UDP = TUN_F_USO4 | TUN_F_USO6;

/** One decoded header; reused by its reader, never allocated per packet. */
export class VirtioNetHdr {
  flags = 0;
  gsoType = 0;
  hdrLen = 0;
  gsoSize = 0;
  csumStart = 0;
  csumOffset = 0;
}

/** Decodes the header at b[at, at + 10) into `out`. The caller checked the length. */
export function readVirtioNetHdr(b: Uint8Array, at: number, out: VirtioNetHdr): void {
  out.flags = b[at]!;
  out.gsoType = b[at + 1]!;
  out.hdrLen = b[at + 2]! | (b[at + 3]! << 8);
  out.gsoSize = b[at + 4]! | (b[at + 5]! << 8);
  out.csumStart = b[at + 6]! | (b[at + 7]! << 8);
  out.csumOffset = b[at + 8]! | (b[at + 9]! << 8);
}

/** Encodes a header at b[at, at + 10). Each value must fit its field (u8 or u16). */
export function writeVirtioNetHdr(
  b: Uint8Array,
  at: number,
  flags: number,
  gsoType: number,
  hdrLen: number,
  gsoSize: number,
  csumStart: number,
  csumOffset: number,
): void {
  b[at] = flags;
  b[at + 1] = gsoType;
  b[at + 2] = hdrLen & 0xff;
  b[at + 3] = hdrLen >>> 8;
  b[at + 4] = gsoSize & 0xff;
  b[at + 5] = gsoSize >>> 8;
  b[at + 6] = csumStart & 0xff;
  b[at + 7] = csumStart >>> 8;
  b[at + 8] = csumOffset & 0xff;
  b[at + 9] = csumOffset >>> 8;
}

/** The header of a plain packet: no GSO, checksum complete (the kernel verifies it as for any packet). */
export function writePlainVirtioNetHdr(b: Uint8Array, at: number): void {
  for (let i = 0; i < VIRTIO_NET_HDR_LEN; i++) b[at + i] = 0;
}
