// Stake and rewards of the committee's operators, read from the chain that governs the network
// (CommitteeRegistry.staking() → DelegatedStaking: selectionStake(operator), the pool's stake that ranks
// it, and pendingRewards(operator, operator), what the operator could claim now, commission included).
// Cached: view() answers at once with the last read and starts a new read when it is older than ttlMs,
// so a dashboard polling every 2 s costs the RPC endpoint at most one read per ttlMs.
import type { Address, PublicClient } from 'viem';

export interface OperatorStake {
  /** Member index in the current committee. */
  index: number;
  address: string;
  /** wei (18 decimals), decimal string. */
  stake: string;
  rewards: string;
}

export interface StakeView {
  /** `none`: this node has no chain control connection (fixed committee), so it cannot say. */
  source: 'chain' | 'none';
  reason?: string;
  /** Unix ms of the read shown; absent before the first one finished. */
  updatedAt?: number;
  /** The last read's error (the figures shown are then from the read before, if any). */
  error?: string;
  operators: OperatorStake[];
}

const ABI = [
  { type: 'function', name: 'staking', stateMutability: 'view', inputs: [], outputs: [{ type: 'address' }] },
  { type: 'function', name: 'selectionStake', stateMutability: 'view', inputs: [{ type: 'address' }], outputs: [{ type: 'uint256' }] },
  { type: 'function', name: 'pendingRewards', stateMutability: 'view', inputs: [{ type: 'address' }, { type: 'address' }], outputs: [{ type: 'uint256' }] },
] as const;

export interface ChainStakeOptions {
  rpcUrl: string;
  registry: string;
  /** The current committee's members and their operator addresses. */
  operators(): { index: number; address: string }[];
  ttlMs?: number;
}

export class ChainStakeReader {
  private last: StakeView = { source: 'chain', operators: [] };
  private readAt = 0;
  private inflight: Promise<void> | undefined;
  private client: PublicClient | undefined;
  private staking: Address | undefined;

  constructor(private readonly o: ChainStakeOptions) {}

  view(): StakeView {
    if (Date.now() - this.readAt >= (this.o.ttlMs ?? 5_000)) void this.refresh();
    return this.last;
  }

  /** One read (shared while in flight); never rejects, an error is kept in the view. */
  refresh(): Promise<void> {
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<void> {
    this.readAt = Date.now();
    try {
      if (!this.client) {
        const viem = await import('viem');
        this.client = viem.createPublicClient({ transport: viem.http(this.o.rpcUrl, { timeout: 5_000 }) }) as PublicClient;
      }
      const c = this.client;
      this.staking ??= await c.readContract({ address: this.o.registry as Address, abi: ABI, functionName: 'staking' });
      const staking = this.staking;
      const operators = await Promise.all(
        this.o.operators().map(async ({ index, address: a }) => {
          const op = a as Address;
          const [stake, rewards] = await Promise.all([
            c.readContract({ address: staking, abi: ABI, functionName: 'selectionStake', args: [op] }),
            c.readContract({ address: staking, abi: ABI, functionName: 'pendingRewards', args: [op, op] }),
          ]);
          return { index, address: a, stake: stake.toString(), rewards: rewards.toString() };
        }),
      );
      this.last = { source: 'chain', updatedAt: Date.now(), operators };
    } catch (err) {
      const { error: _drop, ...prev } = this.last;
      this.last = { ...prev, error: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300) };
    }
  }
}

export const NO_CHAIN_STAKE: StakeView = { source: 'none', reason: 'this node has a fixed committee and no chain control connection (control.rpcUrl): stake and rewards are read from the chain', operators: [] };
