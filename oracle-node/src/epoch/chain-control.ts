// The chain as the node's control plane: CommitteeRegistry read through the Ethereum adapter's
// CommitteeReader into ChainSnapshots. Loaded lazily so nodes without a registry never load viem. Each poll
// first asks whether anything changed (registry-changes.ts: the head, and the registry's and staking's
// events since the last read); the full read (~40 eth_calls) runs only then, and every `fullReadEvery` polls.
import { toHex } from '@destra/protocol';
import type { Address } from 'viem';
import { z } from 'zod';
import { committeeThreshold, type CommitteeMember, type EpochCommittee } from './committee.ts';
import { RegistryChanges, type ChangeClient } from './registry-changes.ts';
import { hexBytes, type ChainEpoch, type ChainSnapshot, type ChainViewReader, type DirectoryOperator } from './chain-view.ts';

export const controlSchema = z.strictObject({
  /** JSON-RPC endpoint of the chain that governs the network (Ethereum). */
  rpcUrl: z.string().url(),
  /** CommitteeRegistry address. */
  registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address'),
  /** How often the registry is read. */
  pollIntervalMs: z.number().int().min(100).default(2000),
  /**
   * Optional extra addresses of registered operators (multiaddrs ending in `/p2p/<peerId>`), dialed beside
   * the addresses they registered: for peers behind NAT or with stale registered addresses. Admission is
   * still by the registry alone.
   */
  bootstrap: z.array(z.string().max(512).regex(/^\/.+\/p2p\/[1-9A-HJ-NP-Za-km-z]{32,128}$/, 'expected a multiaddr ending in /p2p/<peerId>')).max(256).default([]),
  /** FeedRegistry address: run the feeds defined there, followed live (docs/node.md "Feeds"). */
  feedRegistry: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address').optional(),
});
export type ControlConfig = z.output<typeof controlSchema>;

type Reader = import('@destra/adapter-ethereum').CommitteeReader;
type Entry = import('@destra/adapter-ethereum').DirectoryEntry;

const member = (e: Entry, index: number): CommitteeMember => ({
  index,
  operatorKey: hexBytes(e.operatorKey),
  encryptionKey: e.encryptionKey ? hexBytes(e.encryptionKey) : new Uint8Array(32),
  address: e.address,
  ...(e.peerId ? { peerId: e.peerId } : {}),
  addrs: e.peerId ? e.multiaddrs.map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${e.peerId}`)) : [],
});

export interface ChainViewOptions {
  /** Full read every this many polls even without events (reorgs, state changed without an event). Default 30. */
  fullReadEvery?: number;
  /** The JSON-RPC client (tests count its calls). Default: viem over HTTP with JSON-RPC batching. */
  client?: import('viem').PublicClient;
}

export class RegistryChainView implements ChainViewReader {
  private last: ChainSnapshot | undefined;
  readonly changes: RegistryChanges;

  private constructor(private readonly reader: Reader, client: ChangeClient, fullReadEvery: number) {
    this.changes = new RegistryChanges(client, async () => [reader.registry, await reader.staking()], fullReadEvery);
  }

  static async connect(cfg: ControlConfig, o: ChainViewOptions = {}): Promise<RegistryChainView> {
    const [{ CommitteeReader }, viem] = await Promise.all([import('@destra/adapter-ethereum'), import('viem')]);
    // Batching: a full read's ~40 parallel eth_calls go out in one HTTP request.
    const client = o.client ?? viem.createPublicClient({ transport: viem.http(cfg.rpcUrl, { batch: true }) });
    return new RegistryChainView(new CommitteeReader(client as never, cfg.registry as Address), client as unknown as ChangeClient, o.fullReadEvery ?? 30);
  }

  /**
   * The registry as of the latest block. Returns the previous snapshot object itself when nothing changed
   * since it was read (callers may compare by identity).
   */
  async read(): Promise<ChainSnapshot> {
    const { head, reason } = await this.changes.check();
    if (!reason && this.last) return this.last;
    const s = await this.readFull();
    this.changes.acknowledge(head);
    this.last = s;
    return s;
  }

  private async readFull(): Promise<ChainSnapshot> {
    const r = this.reader;
    const [params, currentEpoch, directory] = await Promise.all([r.params(), r.currentEpoch(), r.operatorDirectory()]);
    const byAddress = new Map(directory.map((e, i) => [e.address.toLowerCase(), { e, i }]));
    const entryOf = async (a: Address): Promise<Entry> => byAddress.get(a.toLowerCase())?.e ?? (await r.directoryEntry(a));
    const epochOf = async (epoch: bigint): Promise<ChainEpoch> => {
      const [info, key, addrs] = await Promise.all([r.epochInfo(epoch), r.groupKey(epoch), r.committeeOf(epoch)]);
      const entries = await Promise.all(addrs.map(entryOf));
      const committee: EpochCommittee = { epoch: Number(epoch), threshold: info.threshold, members: entries.map((e, i) => member(e, i + 1)) };
      return { committee, groupKey: key.compressed, activatedAt: Number(info.activatedAt) };
    };
    const nextAddrs = await r.selectedCommittee(params.committeeSize);
    const [current, previous, membersRoot, payoutsRoot, nextEntries] = await Promise.all([
      currentEpoch > 0n ? epochOf(currentEpoch) : undefined,
      currentEpoch > 1n ? epochOf(currentEpoch - 1n).catch(() => undefined) : undefined,
      r.membersRootOf(nextAddrs),
      r.payoutsRootOf(nextAddrs),
      Promise.all(nextAddrs.map(entryOf)),
    ]);
    const dir: DirectoryOperator[] = directory.map((e, i) => ({
      registryIndex: i + 1,
      address: e.address,
      operatorKey: hexBytes(e.operatorKey),
      encryptionKey: e.encryptionKey ? hexBytes(e.encryptionKey) : null,
      peerId: e.peerId,
      addrs: member(e, 0).addrs,
    }));
    return {
      domain: hexBytes(params.domain),
      currentEpoch: Number(currentEpoch),
      ...(current ? { current } : {}),
      ...(previous ? { previous } : {}),
      next: {
        members: nextEntries.map((e, i) => member(e, i + 1)),
        threshold: committeeThreshold(nextEntries.length, params.minThresholdBps),
        membersRoot: hexBytes(membersRoot),
        payoutsRoot: hexBytes(payoutsRoot),
      },
      epochLength: Number(params.epochLength),
      handoverGrace: Number(params.handoverGrace),
      minThresholdBps: params.minThresholdBps,
      directory: dir,
    };
  }
}

/** The directory entry of the operator with this key, if registered. */
export function findOperator(s: ChainSnapshot, operatorKey: Uint8Array): DirectoryOperator | undefined {
  const k = toHex(operatorKey).toLowerCase();
  return s.directory.find((d) => toHex(d.operatorKey).toLowerCase() === k);
}
