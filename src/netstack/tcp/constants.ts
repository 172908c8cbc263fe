/**
 * TCP's wire layout and limits, in one place: values fixed by the RFCs first, then the choices this
 * stack makes, each with its reason (STYLE.md "Naming": from the protocol vs our choice). Sizes are in
 * bytes and times in milliseconds unless the name says otherwise.
 */

// ---------------------------------------------------------------------------------------------------
// From the protocol.

/** RFC 9293 §3.1: the fixed header; Data Offset counts 32-bit words, so options end by 60 bytes. */
export const TCP_HEADER_BYTES = 20;
export const TCP_MAX_HEADER_BYTES = 60;

/** RFC 9293 §3.1 control bits (the low byte of the flags field). */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

/** Option kinds: RFC 9293 §3.2 (EOL, NOP, MSS), RFC 7323 (WS, TS), RFC 2018 (SACK). */
export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMP = 8;

/** Option lengths as written (a NOP pads WS to 4 and SACK-permitted + TS to 12, as Linux aligns them). */
export const MSS_OPTION_BYTES = 4;
export const WSCALE_OPTION_BYTES = 4; // NOP + kind + len + shift
export const TIMESTAMP_OPTION_BYTES = 12; // NOP NOP + kind + len + TSval + TSecr
export const SACK_PERMITTED_OPTION_BYTES = 4; // NOP NOP + kind + len
/** One SACK block (RFC 2018 §3): two 32-bit edges. The option is NOP NOP kind len + 8 per block. */
export const SACK_BLOCK_BYTES = 8;
export const SACK_OPTION_BASE_BYTES = 4;
/** 3 blocks fit beside timestamps in 40 option bytes (RFC 2018 §3), 4 without. */
export const MAX_SACK_BLOCKS = 4;
export const MAX_SACK_BLOCKS_WITH_TS = 3;

/**
 * RFC 9293 §3.7.1 / RFC 6691: without an MSS option the peer takes 536 (IPv4) or 1220 (IPv6: the
 * 1280-byte minimum link MTU less 60 bytes of headers, RFC 8200 §5).
 */
export const DEFAULT_MSS_V4 = 536;
export const DEFAULT_MSS_V6 = 1220;
/** RFC 7323 §2.3: a shift above 14 is taken as 14. */
export const MAX_WSCALE = 14;
/** RFC 7323 §5.5: a TS.Recent idle this long (24 days) is invalid; PAWS then accepts any TSval. */
export const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** RFC 6298 §2: alpha 1/8, beta 1/4, K = 4; §2.1 the initial RTO; §5.5 back-off doubles. */
export const RTT_ALPHA_SHIFT = 3;
export const RTT_BETA_SHIFT = 2;
export const RTO_K = 4;
export const INITIAL_RTO_MS = 1000;
/** RFC 6298 §5.7: after the SYN's RTO fired, the RTO for data starts from 3 s. */
export const SYN_FALLBACK_RTO_MS = 3000;

/** RFC 5681 §3.2 / RFC 6675 §2: DupThresh. */
export const DUP_THRESH = 3;

/** RFC 9438 §4.6, §4.5: CUBIC's beta and C. */
export const CUBIC_BETA = 0.7;
export const CUBIC_C = 0.4;

/** RFC 8985 §7.2: TLP's PTO is 2 SRTT, plus the worst-case delayed-ACK time when one segment flies. */
export const TLP_WORST_CASE_DELACK_MS = 200;

/** RFC 9293 §3.4.1 suggests 2 minutes for MSL; see TIME_WAIT_MS for the TIME-WAIT length used. */
export const MSL_MS = 120_000;

// ---------------------------------------------------------------------------------------------------
// Our choices.

/**
 * 200 ms: the floor of the RTO. RFC 6298 §2.4 asks for 1 s; Linux, every real peer's behaviour, uses
 * 200 ms, and a tunnel of sub-millisecond RTT with a 1 s floor would stall a whole second on each tail
 * loss that TLP misses.
 */
export const MIN_RTO_MS = 200;
/** 120 s: the ceiling of the backed-off RTO (RFC 6298 §2.5 allows one of at least 60 s; Linux's). */
export const MAX_RTO_MS = 120_000;
/** 6 SYN retransmissions (~127 s with back-off) before connect() fails with ETIMEDOUT (Linux's default). */
export const SYN_RETRIES = 6;
/** 5 SYN-ACK retransmissions before a half-open connection is dropped (Linux's tcp_synack_retries). */
export const SYNACK_RETRIES = 5;
/** 15 RTO back-offs (~15 minutes) before an established connection fails with ETIMEDOUT (tcp_retries2). */
export const DATA_RETRIES = 15;
/** 8 back-offs for a connection its user already closed (Linux's tcp_orphan_retries default of 8). */
export const ORPHAN_RETRIES = 8;

/**
 * 60 s of TIME-WAIT (Linux's TCP_TIMEWAIT_LEN), not RFC 9293's 2 MSL = 4 min: every modern stack
 * uses 60 s, and with timestamps (RFC 7323 §5) PAWS guards against old duplicates anyway.
 */
export const TIME_WAIT_MS = 60_000;
/** 60 s: an orphaned FIN-WAIT-2 (user closed, peer never sends FIN) is dropped after this (tcp_fin_timeout). */
export const FIN_WAIT_2_TIMEOUT_MS = 60_000;

/**
 * 40 ms delayed-ACK timeout (Linux's TCP_DELACK_MIN). RFC 9293 §3.8.6.3 allows up to 500 ms; with
 * ACKs every second full segment the timer only matters for odd tails and request/response traffic.
 */
export const DELACK_MS = 40;
/** Linux's TCP_MAX_QUICKACKS: ACK each of the first 16 segments at once, so slow start is not held back. */
export const QUICKACK_SEGMENTS = 16;

/** RFC 6928 IW10: initial window min(10 MSS, max(2 MSS, 14600)). */
export const INITIAL_WINDOW_SEGMENTS = 10;
export const INITIAL_WINDOW_CAP_BYTES = 14600;

/** Keepalive as Linux defaults it: 2 h idle, then 9 probes 75 s apart (tcp_keepalive_*). */
export const KEEPALIVE_IDLE_MS = 7_200_000;
export const KEEPALIVE_INTERVAL_MS = 75_000;
export const KEEPALIVE_PROBES = 9;

/** Persist (zero-window probe) back-off bounds: start at the RTO, double, cap at MAX_RTO_MS. */
export const PERSIST_MIN_MS = 200;

/** 500 ms between out-of-window duplicate ACKs per connection (Linux's tcp_invalid_ratelimit). */
export const OOW_ACK_INTERVAL_MS = 500;
/** 1000 challenge ACKs per second for the whole stack (RFC 5961 §7; Linux's tcp_challenge_ack_limit). */
export const CHALLENGE_ACKS_PER_SECOND = 1000;

/**
 * Buffers. Send: starts at 64 KiB, grows with the congestion window (2 x cwnd, as Linux's
 * tcp_sndbuf_expand) up to 4 MiB. Receive: starts at 128 KiB and grows by dynamic right-sizing
 * (measured delivery per RTT, Linux's tcp_rcv_space_adjust) up to 6 MiB, Linux's tcp_rmem maximum.
 * 4 MiB in flight is 32 ms at 1 Gbit/s: more than a tunnel's RTT needs. Both are allocated lazily, so an
 * idle connection holds none of it.
 */
export const SEND_BUFFER_INITIAL_BYTES = 64 * 1024;
export const SEND_BUFFER_MAX_BYTES = 4 * 1024 * 1024;
export const RECV_BUFFER_INITIAL_BYTES = 128 * 1024;
export const RECV_BUFFER_MAX_BYTES = 6 * 1024 * 1024;
/**
 * 64 KiB: the receive side copies payload into chunks of this size and hands views of them to the
 * Node stream, so each byte is copied once (packet -> chunk) on the way in, and 'data' chunks are as
 * large as a net.Socket's (libuv reads 64 KiB).
 */
export const RECV_CHUNK_BYTES = 64 * 1024;
/** Out-of-order ranges held past a hole; more are dropped (the peer retransmits them). */
export const MAX_OOO_RANGES = 64;

/** Listen backlog when listen() is not given one (Node's default of 511). */
export const DEFAULT_BACKLOG = 511;
/** Half-open (SYN-RECEIVED) connections per listener before SYN cookies take over: max(backlog, 128). */
export const MIN_SYN_BACKLOG = 128;
/** Connections of all states (TIME-WAIT aside) one stack holds; connect() and SYNs beyond it fail. */
export const MAX_CONNECTIONS = 65_536;
/**
 * TIME-WAIT connections kept; past this the oldest is dropped early (Linux's tcp_max_tw_buckets idea).
 * A connection in TIME-WAIT is still a whole Connection here, ~5 KB of heap (measured: 16,384 of them
 * held 79 MB, the proxy's RSS reached 270-390 MiB under a churn of ~1,100 connections a second). 4,096
 * keeps them to ~20 MB; the oldest going early is safe where timestamps are on (RFC 7323 §5 PAWS,
 * RFC 6191 for a reused 4-tuple).
 */
export const MAX_TIME_WAIT = 4096;

/** Ephemeral ports (RFC 6335 §6: the dynamic range 49152-65535). */
export const EPHEMERAL_PORT_MIN = 49152;
export const EPHEMERAL_PORT_MAX = 65535;
