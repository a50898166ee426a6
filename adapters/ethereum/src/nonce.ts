// Local nonce tracking for one sending account, so concurrent submissions get distinct consecutive
// nonces without waiting for each other. Whenever no send is in flight the next nonce is re-read from the
// chain ('pending'), which picks up transactions sent from the account elsewhere and nonces rolled back
// by a reorg; during bursts, nonce errors trigger an explicit resync.
import type { Address, PublicClient } from 'viem';

export class NonceManager {
  private next: number | undefined;
  private inflight = 0;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: PublicClient,
    readonly address: Address,
  ) {}

  /** Reserves the next nonce; pair every take() with a release() once the send returned or failed. */
  take(): Promise<number> {
    return this.exclusive(async () => {
      if (this.next === undefined || this.inflight === 0) this.next = await this.chainNonce();
      this.inflight++;
      return this.next++;
    });
  }

  /** Marks one reserved nonce's send as finished (accepted by the node or failed). */
  release(): void {
    if (this.inflight > 0) this.inflight--;
  }

  /** Re-reads the account's pending nonce now. */
  resync(): Promise<void> {
    return this.exclusive(async () => {
      this.next = await this.chainNonce();
    });
  }

  /** The nonce take() would hand out next during a burst, if known. */
  peek(): number | undefined {
    return this.next;
  }

  get inFlight(): number {
    return this.inflight;
  }

  private chainNonce(): Promise<number> {
    return this.client.getTransactionCount({ address: this.address, blockTag: 'pending' });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
