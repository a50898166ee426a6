// Cheap "did the control plane change?" check for the registry poll: the head block, and when it moved, the
// logs CommitteeRegistry and its DelegatedStaking emitted since the last check (every state change the
// node's snapshot depends on emits one: registrations, node info, payouts, stake, parameters, genesis,
// handovers, slashing). An idle chain costs one eth_blockNumber per poll instead of ~40 eth_calls; the
// full read stays the source of truth, and runs again every `fullReadEvery` polls as a safety net
// against reorgs and anything that changes state without an event.

/** The JSON-RPC calls the check needs (a viem PublicClient has both). */
export interface ChangeClient {
  getBlockNumber(args: { cacheTime: number }): Promise<bigint>;
  request(args: { method: 'eth_getLogs'; params: [{ address: `0x${string}`[]; fromBlock: `0x${string}`; toBlock: `0x${string}` }] }): Promise<unknown>;
}

export interface ChangeCheck {
  /** Head block at the check: a full read made now reflects at least this block. */
  head: bigint;
  /** Why a full read is needed now, or undefined when nothing changed since the last acknowledged head. */
  reason: 'first' | 'safety' | 'events' | 'rewound' | 'far' | undefined;
}

/** Beyond this many blocks since the last check, read in full rather than page eth_getLogs. */
export const MAX_LOG_SPAN = 1000n;

const hexOf = (n: bigint): `0x${string}` => `0x${n.toString(16)}`;

export class RegistryChanges {
  private seen: bigint | undefined;
  /** Polls since the last acknowledged full read. */
  private sinceFull = 0;
  /** Counters for tests and metrics: checks made, logs queries, full reads asked for. */
  readonly stats = { checks: 0, logQueries: 0, fullReads: 0 };

  constructor(
    private readonly client: ChangeClient,
    /** Contracts whose events mean "read again" (the registry and its staking contract). */
    private readonly addresses: () => Promise<`0x${string}`[]>,
    private readonly fullReadEvery: number,
  ) {
    if (!Number.isInteger(fullReadEvery) || fullReadEvery < 1) throw new RangeError(`fullReadEvery must be a positive integer, got ${fullReadEvery}`);
  }

  /** One poll's check. Call `acknowledge(head)` after a full read succeeded (a failed read is retried). */
  async check(): Promise<ChangeCheck> {
    const head = await this.client.getBlockNumber({ cacheTime: 0 });
    this.stats.checks++;
    this.sinceFull++;
    const reason = await this.reason(head);
    if (reason) this.stats.fullReads++;
    else this.seen = head;
    return { head, reason };
  }

  /** A full read made at (or after) `head` succeeded: later checks look for events after it. */
  acknowledge(head: bigint): void {
    this.seen = head;
    this.sinceFull = 0;
  }

  private async reason(head: bigint): Promise<ChangeCheck['reason']> {
    const seen = this.seen;
    if (seen === undefined) return 'first';
    if (this.sinceFull >= this.fullReadEvery) return 'safety';
    if (head === seen) return undefined;
    if (head < seen) return 'rewound'; // a reorg to a shorter chain, or a test chain reset
    if (head - seen > MAX_LOG_SPAN) return 'far';
    this.stats.logQueries++;
    const logs = await this.client.request({
      method: 'eth_getLogs',
      params: [{ address: await this.addresses(), fromBlock: hexOf(seen + 1n), toBlock: hexOf(head) }],
    });
    if (!Array.isArray(logs)) throw new TypeError(`eth_getLogs returned ${typeof logs}, expected an array`);
    return logs.length > 0 ? 'events' : undefined;
  }
}
