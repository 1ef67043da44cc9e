import type { Family } from './socket.js';

/** One direction of a tracked flow as netfilter saw it on the wire (addresses in canonical text form). */
export interface ConntrackTuple {
  readonly src: string;
  readonly dst: string;
  /** Ports for TCP, UDP, UDP-Lite, SCTP and DCCP; absent for protocols without ports (ICMP, GRE…). */
  readonly sport?: number;
  readonly dport?: number;
  /** Packet and byte counters of this direction, present only with `net.netfilter.nf_conntrack_acct=1`. */
  readonly packets?: number;
  readonly bytes?: number;
}

/**
 * One entry of the kernel's connection tracking table. `original` is the flow as the initiator sent it;
 * `reply` is what the answer must look like, so NAT shows as a difference between the two: DNAT when
 * `reply.src` is not `original.dst`, SNAT/MASQUERADE when `reply.dst` is not `original.src`.
 */
export interface ConntrackEntry {
  readonly family: Family;
  /** Layer-4 protocol name as the kernel prints it (`tcp`, `udp`, `icmp`, `unknown`…). */
  readonly protocol: string;
  readonly protocolNumber: number;
  /** Seconds until the entry expires (absent for offloaded flows). */
  readonly timeout?: number;
  /** Protocol state (TCP: `ESTABLISHED`, `TIME_WAIT`…; SCTP/DCCP too); absent for UDP and ICMP. */
  readonly state?: string;
  readonly original: ConntrackTuple;
  readonly reply: ConntrackTuple;
  /** No packet was seen in the reply direction (`[UNREPLIED]`). */
  readonly unreplied: boolean;
  /** Traffic was seen both ways often enough to keep the entry under pressure (`[ASSURED]`). */
  readonly assured: boolean;
  readonly mark?: number;
  readonly zone?: number;
}

/** State of conntrack byte accounting (`net.netfilter.nf_conntrack_acct`) in a network namespace. */
export type ConntrackAccounting = 'on' | 'off' | 'unknown';

/**
 * The host's conntrack table, or why it could not be read. Read in the Docker host's network namespace, it
 * holds container-to-container flows on Docker bridges (through br_netfilter), docker-proxy legs and every
 * NATed flow; a container's own namespace has (almost) none.
 */
export type ConntrackTable =
  | {
    readonly status: 'ok';
    /** Network namespace whose table this is (the Docker host's). */
    readonly netns: number;
    /** TCP and UDP entries (other protocols are dropped at collection). */
    readonly entries: readonly ConntrackEntry[];
    /**
     * `net.netfilter.nf_conntrack_acct` of that namespace: whether new entries get packet and byte counters
     * (entries keep the setting they were created under, so `off` can still show counters on older ones).
     * `unknown` when it could not be read (see `accountingReason`).
     */
    readonly accounting: ConntrackAccounting;
    /** Why accounting is `unknown`, one line. */
    readonly accountingReason?: string;
  }
  | {
    readonly status: 'unavailable';
    /** One line for the user: what could not be read and why. */
    readonly reason: string;
  };

/** What a ctnetlink message says happened to a flow: created, changed, destroyed, or listed by a dump. */
export type ConntrackEventKind = 'new' | 'update' | 'destroy' | 'dump';

/**
 * One ctnetlink message about one flow (NETLINK_NETFILTER, subsystem CTNETLINK: an event of the NEW, UPDATE or
 * DESTROY multicast group, or one entry of a dump). Counters are present only with accounting
 * (`nf_conntrack_acct=1`) and in practice only on DESTROY and dumps; timestamps only with
 * `nf_conntrack_timestamp=1` (stop only on DESTROY).
 */
export interface ConntrackEvent {
  readonly kind: ConntrackEventKind;
  readonly family: Family;
  /** Layer-4 protocol name (`tcp`, `udp`, `icmp`, `unknown`…) and number. */
  readonly protocol: string;
  readonly protocolNumber: number;
  /** Conntrack's id of the entry (CTA_ID). */
  readonly id?: number;
  readonly original: ConntrackTuple;
  readonly reply: ConntrackTuple;
  /** CTA_STATUS bits (IPS_*: 1<<1 SEEN_REPLY, 1<<2 ASSURED, 1<<3 CONFIRMED, 1<<9 DYING…). */
  readonly status?: number;
  /** TCP state from CTA_PROTOINFO_TCP_STATE, named as conntrack prints it (`ESTABLISHED`, `TIME_WAIT`…). */
  readonly state?: string;
  /** Seconds until the entry expires (CTA_TIMEOUT). */
  readonly timeout?: number;
  /** CTA_TIMESTAMP_START / _STOP: nanoseconds since the epoch. */
  readonly startNs?: bigint;
  readonly stopNs?: bigint;
  readonly mark?: number;
  readonly zone?: number;
}
