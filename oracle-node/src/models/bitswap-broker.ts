// Helia's block broker over @helia/bitswap, as @helia/block-brokers builds it, plus what the node needs:
// it serves only blocks of verified packages (the `served` blockstore view), and it names the peers that
// send junk. Bitswap hashes every received block and files it under the CID it hashes to; a block whose
// bytes were altered hashes to a CID this node never asked for. Such a sender is reported (onJunk) and
// the node stops exchanging blocks with it; the block the node wanted still arrives from another peer.
import { createBitswap, type Bitswap, type BitswapOptions } from '@helia/bitswap';
import type { BlockBroker, BlockRetrievalOptions, Routing, HasherLoader } from '@helia/interface';
import type { ComponentLogger, Libp2p, PeerId } from '@libp2p/interface';
import type { Blockstore } from 'interface-blockstore';
import type { CID } from 'multiformats/cid';

export interface BrokerComponents {
  libp2p: Libp2p;
  blockstore: Blockstore;
  routing: Routing;
  logger: ComponentLogger;
  getHasher: HasherLoader;
}

export interface BrokerInit extends BitswapOptions {
  /** The blockstore bitswap answers peers' wants from (verified packages only). */
  served: Blockstore;
  /** True when the node holds `cid` (a late duplicate of a block it has is not junk). */
  haveLocally(cid: CID): Promise<boolean>;
  onJunk(peer: PeerId, cid: CID): void;
  /** How long a CID stays "asked for" after its retrieval ended (late duplicates). */
  recentMs?: number;
}

interface BlockEvent {
  detail: { sender: PeerId; cid: CID };
}
type Internals = Bitswap & { wantList: { addEventListener(type: 'block', l: (e: BlockEvent) => void): void } };

const key = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('base64');

export class ModelBlockBroker implements BlockBroker {
  readonly name = 'bitswap';
  private readonly bitswap: Internals;
  private readonly asked = new Map<string, number>();
  private started = false;

  constructor(components: BrokerComponents, private readonly init: BrokerInit) {
    this.bitswap = createBitswap({ ...components, blockstore: init.served }, init) as Internals;
    this.bitswap.wantList.addEventListener('block', (e) => void this.check(e.detail.sender, e.detail.cid));
  }

  private async check(sender: PeerId, cid: CID): Promise<void> {
    const k = key(cid);
    const until = this.asked.get(k);
    if (until !== undefined && (until === Infinity || until > Date.now())) return;
    if (await this.init.haveLocally(cid).catch(() => false)) return;
    this.init.onJunk(sender, cid);
  }

  isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    await this.bitswap.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    await this.bitswap.stop();
    this.started = false;
  }

  async announce(cid: CID, options?: BlockRetrievalOptions): Promise<void> {
    await this.bitswap.notify(cid, options as never);
  }

  async retrieve(cid: CID, options: BlockRetrievalOptions = {}): Promise<Uint8Array> {
    const k = key(cid);
    this.asked.set(k, Infinity);
    try {
      return await this.bitswap.want(cid, options as never);
    } finally {
      const recent = this.init.recentMs ?? 60_000;
      this.asked.set(k, Date.now() + recent);
      const t = setTimeout(() => {
        if ((this.asked.get(k) ?? 0) <= Date.now()) this.asked.delete(k);
      }, recent + 10);
      t.unref();
    }
  }
}

/** Helia's `blockBrokers` entry for the broker. */
export const modelBlockBroker = (init: BrokerInit) => (components: BrokerComponents): ModelBlockBroker => new ModelBlockBroker(components, init);
