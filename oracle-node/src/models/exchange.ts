// Model blocks between nodes: Helia over the node's libp2p (bitswap behind the peer gate), the store's
// filesystem blockstore and datastore, no content routing (the committee is fully connected; providers are
// the connected peers). Peers get blocks only of packages this node verified (the served set); packages
// are fetched block by block (each block checked against its CID by Helia), read back with size limits,
// and checked against the registry's hashes before they are recorded and served.
import { setMaxListeners } from 'node:events';
import { Helia } from '@helia/utils';
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Blockstore } from 'interface-blockstore';
import type { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import { ModelPackageError } from '@destra/models';
import { ModelBlockBroker, type BrokerComponents } from './bitswap-broker.ts';
import { dagBlocks, packageModel, readPackage, type PackageModel } from './package.ts';
import { gatePeers, type PeerGate } from './peer-gate.ts';
import { checkBlock, type ModelStore } from './store.ts';

export interface ExchangeOptions {
  store: ModelStore;
  /** The node's libp2p host (shared; its lifecycle stays with the node). */
  libp2p: Libp2p;
  /** Peers allowed to exchange model blocks (before refusals): admitted operators by default. */
  allowPeer(peerId: string): boolean;
  log: Logger;
}

export interface FetchExpectations {
  /** The registry's hashes (hex); absent: only the package's own consistency is checked (fetch by bare CID). */
  manifestHash?: string;
  modelHash?: string;
  signal?: AbortSignal;
}

const notFound = (cid: CID): Error => Object.assign(new Error(`block ${cid.toString()} is not part of a verified package here`), { name: 'NotFoundError' });

export class ModelExchange {
  /** Peers refused for sending blocks that hash to nothing asked for: peer id → reason. */
  readonly refused = new Map<string, string>();
  /** Block CID (string) → number of served packages holding it. */
  private readonly served = new Map<string, number>();
  private readonly servedPackages = new Map<string, string[]>();
  private constructor(
    private readonly o: ExchangeOptions,
    readonly helia: Helia<Libp2p>,
    private readonly gate: PeerGate,
    private readonly broker: ModelBlockBroker,
  ) {}

  static async start(o: ExchangeOptions): Promise<ModelExchange> {
    let ex: ModelExchange | undefined;
    const allow = (id: string): boolean => !ex?.refused.has(id) && o.allowPeer(id);
    const gate = gatePeers(o.libp2p, allow);
    const raw = o.store.blockstore;
    // What peers are answered from: blocks of verified packages, each re-checked against its CID on the
    // way out (a node never sends bytes it would itself refuse).
    const served = {
      has: async (cid: CID) => ex !== undefined && ex.served.has(cid.toString()) && (await raw.has(cid)),
      get: async function* (cid: CID, opts?: { signal?: AbortSignal }) {
        if (!ex?.served.has(cid.toString())) throw notFound(cid);
        const parts: Uint8Array[] = [];
        for await (const p of raw.get(cid, opts)) parts.push(p);
        const bytes = Buffer.concat(parts);
        await checkBlock(cid, bytes);
        yield bytes;
      },
    } as unknown as Blockstore;
    let broker: ModelBlockBroker | undefined;
    const helia = new Helia<Libp2p>({
      libp2p: gate.libp2p,
      blockstore: raw,
      datastore: o.store.datastore,
      routers: [],
      blockBrokers: [
        (components: BrokerComponents) =>
          (broker = new ModelBlockBroker(components, {
            served,
            haveLocally: async (cid) => raw.has(cid),
            onJunk: (peer, cid) => ex?.refuse(peer, `sent a block that hashes to ${cid.toString()}, which was never asked for (altered or junk data)`),
          })),
      ],
      logger: o.libp2p.logger,
      holdGcLock: false,
    } as never);
    await helia.start();
    ex = new ModelExchange(o, helia, gate, broker!);
    return ex;
  }

  /** Stops exchanging blocks with `peer` (it stays connected for the protocol's other traffic). */
  refuse(peer: PeerId | string, reason: string): void {
    const id = peer.toString();
    if (this.refused.has(id)) return;
    this.refused.set(id, reason);
    this.o.log.warn({ peer: id, reason }, 'peer refused for model blocks');
    this.gate.refresh(peer);
  }

  /** Re-evaluates whether a peer may exchange blocks (call on admission and disconnect). */
  refreshPeer(peer: string): void {
    this.gate.refresh(peer);
  }

  /** Marks every block of a verified package as servable and offers them to peers waiting for them. */
  async serve(root: CID): Promise<void> {
    const key = root.toString();
    if (this.servedPackages.has(key)) return;
    const blocks = await dagBlocks(this.o.store.blockstore, root);
    const keys = blocks.map((b) => b.toString());
    this.servedPackages.set(key, keys);
    for (const k of keys) this.served.set(k, (this.served.get(k) ?? 0) + 1);
    // peers that asked while the package was unverified get their blocks now
    for (const b of blocks) await this.broker.announce(b).catch(() => undefined);
  }

  /** Stops serving a package's blocks (those not shared with another served package). */
  unserve(root: CID | string): void {
    const keys = this.servedPackages.get(root.toString());
    if (!keys) return;
    this.servedPackages.delete(root.toString());
    for (const k of keys) {
      const n = (this.served.get(k) ?? 1) - 1;
      if (n <= 0) this.served.delete(k);
      else this.served.set(k, n);
    }
  }

  isServed(root: CID | string): boolean {
    return this.servedPackages.has(root.toString());
  }

  /**
   * Fetches a package from peers (or finds it locally), checks it against the registry's hashes and the
   * store's size limits, records it and serves it. Throws ModelPackageError / the fetch's error.
   */
  async fetch(root: CID, expect: FetchExpectations): Promise<PackageModel> {
    const store = this.o.store;
    // one signal spans every block want of the package (many listeners by design)
    if (expect.signal) setMaxListeners(Infinity, expect.signal);
    const files = await readPackage(this.helia.blockstore as never, root, store.limits, expect.signal ? { signal: expect.signal } : {});
    const hashes = { ...(expect.manifestHash ? { manifestHash: expect.manifestHash } : {}), ...(expect.modelHash ? { modelHash: expect.modelHash } : {}) };
    const model = packageModel(root.toString(), files, { ...store.limits, ...hashes }, store.dir);
    // re-read from disk: what is served is what was written, not what was held in memory
    const again = await store.readLocal(root, hashes, expect.signal);
    if (again.hashHex !== model.hashHex) throw new ModelPackageError(root.toString(), 'changed on disk while it was fetched', 'check the store directory is not shared with another writer');
    if (!store.entry(root)) store.record(root, model, 'fetched');
    await this.serve(root);
    return model;
  }

  async stop(): Promise<void> {
    await this.helia.stop();
  }
}

export { ModelPackageError };
