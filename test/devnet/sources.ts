// Chain request watchers for oracle nodes (RequestSource of @destra/oracle-node): every node runs its
// own, sees the same request events, and answers them independently. Ethereum: OracleRouter
// InferenceRequested logs over JSON-RPC. Solana: pending request accounts of the oracle program.
import { createPublicClient, http, parseAbiItem, type Address, type PublicClient } from 'viem';
import { PublicKey } from '@solana/web3.js';
import { evmDestination, svmDestination, toHex, type Destination } from '@destra/protocol';
import type { ChainRequest, RequestSource } from '@destra/oracle-node';
import { OracleClient, watchRequests, type SolanaTransport } from '@destra/adapter-solana';

const requestedEvent = parseAbiItem(
  'event InferenceRequested(bytes32 indexed requestId, address indexed requester, bytes32 indexed modelId, bytes32 modelHash, bytes input, uint32 callbackGasLimit, uint256 fee, uint64 deadline, uint64 seq)',
);

/** Model hash (hex, 0x-prefixed) → registered model name the node's inference engine knows. */
export type ModelNames = Map<string, string>;

const hexToBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));

export class EthereumRequestSource implements RequestSource {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly client: PublicClient;
  private readonly destination: Destination;

  constructor(
    private readonly o: { rpcUrl: string; chainId: number; router: Address; models: ModelNames; pollMs?: number; onError?: (e: Error) => void },
  ) {
    this.name = `ethereum:${o.chainId}`;
    this.client = createPublicClient({ transport: http(o.rpcUrl, { retryCount: 1 }) }) as PublicClient;
    this.destination = evmDestination(BigInt(o.chainId), hexToBytes(o.router));
  }

  async start(onRequest: (r: ChainRequest) => void, fromCursor: bigint | undefined): Promise<void> {
    let next = fromCursor === undefined ? 0n : fromCursor + 1n;
    const poll = async (): Promise<void> => {
      const head = await this.client.getBlockNumber();
      if (head < next) return;
      const logs = await this.client.getLogs({ address: this.o.router, event: requestedEvent, fromBlock: next, toBlock: head });
      const times = new Map<bigint, bigint>();
      for (const log of logs) {
        const bn = log.blockNumber!;
        if (!times.has(bn)) times.set(bn, (await this.client.getBlock({ blockNumber: bn })).timestamp);
        const a = log.args;
        // A model hash this devnet does not serve is passed as the hash: the committee answers it with an
        // UNKNOWN_MODEL failure report, so the request closes instead of waiting for its deadline.
        const model = this.o.models.get(a.modelHash!.toLowerCase()) ?? a.modelHash!.toLowerCase();
        onRequest({
          source: this.name,
          requestId: hexToBytes(a.requestId!),
          model,
          modelHash: hexToBytes(a.modelHash!),
          input: hexToBytes(a.input!),
          timestamp: Number(times.get(bn)!), // the request's block timestamp: identical for every node
          destination: this.destination,
          cursor: bn,
        });
      }
      next = head + 1n;
    };
    const loop = (): void => {
      if (this.stopped) return;
      poll()
        .catch((e: Error) => this.o.onError?.(e))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.o.pollMs ?? 200);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

export class SolanaRequestSource implements RequestSource {
  readonly name = 'solana:devnet';
  private watcher: ReturnType<typeof watchRequests> | undefined;
  private readonly client: OracleClient;

  constructor(
    private readonly o: { transport: SolanaTransport; programId: PublicKey; clusterId: Uint8Array; models: ModelNames; pollMs?: number; onError?: (e: unknown) => void },
  ) {
    this.client = new OracleClient(o.transport, o.programId);
  }

  async start(onRequest: (r: ChainRequest) => void): Promise<void> {
    const destination = svmDestination(this.o.clusterId, this.o.programId.toBytes());
    this.watcher = watchRequests(
      this.client,
      (r) => {
        // an unserved model hash is passed as the hash: answered with an UNKNOWN_MODEL failure report
        const model = this.o.models.get(toHex(r.modelHash).toLowerCase()) ?? toHex(r.modelHash).toLowerCase();
        onRequest({
          source: this.name,
          requestId: r.address.toBytes(), // the program keys request answers by the request account address
          model,
          modelHash: new Uint8Array(r.modelHash),
          input: r.input,
          // The slot the request was created in: the same for every node (LiteSVM has no wall clock).
          timestamp: Number(r.createdSlot),
          destination,
        });
      },
      { intervalMs: this.o.pollMs ?? 200, redeliverAfterMs: 10_000, ...(this.o.onError ? { onError: this.o.onError } : {}) },
    );
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
  }
}
