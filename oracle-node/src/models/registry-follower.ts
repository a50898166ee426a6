// Follows ModelRegistry on the governing chain: each poll reads the head block and the registry's events
// since the last poll (ModelSet, ModelPackageSet, ModelRemoved, fee changes); when there are any (and on
// the first poll, and every `fullReadEvery` polls as a safety net against reorgs) it reads the whole list
// at that block and hands the models that name a package to `onChange`. The list, not the events, is the
// truth: a restarted node needs no event history.
import type { Logger } from 'pino';
import { z } from 'zod';

/** One registered model with a package, as the node needs it (hex without 0x for hashes). */
export interface WantedModel {
  name: string;
  /** ModelRegistry node, 0x-hex. */
  node: string;
  version: number;
  /** Package CID (string form). */
  cid: string;
  manifestHash: string;
  modelHash: string;
}

export interface RegistryEntryLike {
  node: string;
  name: string;
  version: number;
  modelHash: string;
  manifestHash: string;
  /** Binary CID as 0x-hex ('0x' for none). */
  cid: string;
}

export interface ModelRegistryReader {
  head(): Promise<bigint>;
  /** True when the registry emitted any event in blocks from..to. */
  changed(from: bigint, to: bigint): Promise<boolean>;
  read(at: bigint): Promise<RegistryEntryLike[]>;
}

const ZERO = /^0x0{64}$/i;

/**
 * Pure: the registered models that name a package, with their CIDs decoded. Entries with a CID that does
 * not decode are skipped and reported (a registry can hold any bytes; the node never fetches those).
 */
export function wantedModels(entries: readonly RegistryEntryLike[], decodeCid: (bytes: Uint8Array) => string, onBad?: (e: RegistryEntryLike, why: string) => void): WantedModel[] {
  const out: WantedModel[] = [];
  for (const e of entries) {
    if (ZERO.test(e.modelHash) || e.cid === '0x' || e.cid === '') continue;
    let cid: string;
    try {
      cid = decodeCid(Buffer.from(e.cid.slice(2), 'hex'));
    } catch (err) {
      onBad?.(e, `its CID 0x${e.cid.slice(2, 20)}… does not decode (${(err as Error).message})`);
      continue;
    }
    out.push({ name: e.name, node: e.node.toLowerCase(), version: e.version, cid, manifestHash: e.manifestHash.slice(2).toLowerCase(), modelHash: e.modelHash.slice(2).toLowerCase() });
  }
  return out;
}

export const followerSchema = z.strictObject({
  pollIntervalMs: z.number().int().min(100).default(2000),
  /** Re-read the whole list every this many polls even without events. */
  fullReadEvery: z.number().int().min(1).default(30),
});

export class RegistryFollower {
  private timer: NodeJS.Timeout | undefined;
  private last: bigint | undefined;
  private polls = 0;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly reader: ModelRegistryReader,
    private readonly onChange: (entries: RegistryEntryLike[], at: bigint) => Promise<void> | void,
    private readonly o: { pollIntervalMs: number; fullReadEvery: number; log: Logger },
  ) {}

  /** Reads the registry once (throws if the chain cannot be read), then keeps following it. */
  async start(): Promise<void> {
    await this.poll();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .catch((err: Error) => this.o.log.warn({ err: err.message.split('\n')[0] }, 'model registry poll failed; retrying'))
        .finally(() => this.schedule());
    }, this.o.pollIntervalMs);
    this.timer.unref();
  }

  /** One poll: head, events since the last poll, the list when anything changed. */
  async poll(): Promise<void> {
    const head = await this.reader.head();
    this.polls++;
    const first = this.last === undefined;
    if (!first && head <= this.last! && this.polls % this.o.fullReadEvery !== 0) return;
    const changed = first || this.polls % this.o.fullReadEvery === 0 || (head > this.last! && (await this.reader.changed(this.last! + 1n, head)));
    if (changed) await this.onChange(await this.reader.read(head), head);
    this.last = head;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

/** The reader over JSON-RPC (viem and the contract ABI loaded on demand). */
export async function rpcRegistryReader(rpcUrl: string, registry: string): Promise<ModelRegistryReader> {
  const [viem, contracts] = await Promise.all([import('viem'), import('@destra/contracts')]);
  const client = viem.createPublicClient({ transport: viem.http(rpcUrl, { retryCount: 1 }) });
  const address = registry as `0x${string}`;
  return {
    head: () => client.getBlockNumber({ cacheTime: 0 }),
    changed: async (from, to) => (await client.getLogs({ address, fromBlock: from, toBlock: to })).length > 0,
    read: (at) => contracts.readRegisteredModels(client as never, address, { blockNumber: at }),
  };
}
