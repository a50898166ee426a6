// Where `destra report verify` gets the group key of a report's epoch: the chain (CommitteeRegistry, the
// same rule the router applies: the current epoch, or an earlier one until its handover grace ends), a
// node's API, a key given on the command line, or — only when asked — the key the file itself carries.
import { createPublicClient, http, type Address, type PublicClient } from 'viem';
import { decodeG2, decodeHandover, fromHex, g2FromEip2537, type G2Point } from '@destra/protocol';
import { CommitteeReader } from '@destra/adapter-ethereum';
import { ReportCheckError, type SignedReportFile } from './report-check.ts';

export interface EpochKey {
  key: G2Point;
  /** Where the key came from, printed with the verdict. */
  source: string;
  /** A caveat worth printing (an epoch in its grace period, an unchecked key). */
  note?: string;
}

export interface KeySource {
  keyFor(epoch: bigint): Promise<EpochKey>;
}

const unknown = (m: string) => new ReportCheckError('epoch-unknown', m);
const sourceError = (m: string) => new ReportCheckError('key-source', m);
const firstLine = (e: unknown): string => (e as Error).message.split('\n')[0]!;

/** Parses a group key given as hex: 96/192-byte ZCash G2 or the 256-byte EIP-2537 encoding. */
export function parseGroupKey(hex: string, what: string): G2Point {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex, what);
  } catch {
    throw sourceError(`${what}: expected even-length hex`);
  }
  try {
    return bytes.length === 256 ? g2FromEip2537(bytes) : decodeG2(bytes);
  } catch (e) {
    throw sourceError(`${what} is not a valid G2 group key (96, 192 or 256 bytes): ${(e as Error).message}`);
  }
}

export function givenKeySource(hex: string): KeySource {
  const key = parseGroupKey(hex, '--group-key');
  return { keyFor: async (epoch) => ({ key, source: '--group-key', note: `the key was given on the command line and taken as epoch ${epoch}'s without any check` }) };
}

export function embeddedKeySource(file: SignedReportFile): KeySource {
  return {
    keyFor: async () => {
      if (!file.groupKey) throw sourceError("--trust-embedded-key: the file carries no 'groupKey' / 'groupKeyEip2537'");
      return {
        key: file.groupKey,
        source: 'the file itself (--trust-embedded-key)',
        note: "the key came from the file: this shows only that the signature matches the file's own key, not that the key is the committee's; verify with --rpc/--registry or --node for that",
      };
    },
  };
}

/** CommitteeRegistry at `registry` over JSON-RPC `rpc`. */
export function chainKeySource(rpc: string, registry: Address): KeySource {
  const client = createPublicClient({ transport: http(rpc, { retryCount: 1, timeout: 15_000 }) }) as PublicClient;
  const reader = new CommitteeReader(client, registry);
  const where = `CommitteeRegistry ${registry} at ${rpc}`;
  const read = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      throw sourceError(`cannot read ${where}: ${firstLine(e)}; check --rpc and --registry`);
    }
  };
  return {
    keyFor: async (epoch) => {
      const current = await read(reader.currentEpoch());
      if (current === 0n) throw unknown(`epoch ${epoch} unknown: ${where} has no epoch yet (genesis not installed)`);
      if (epoch === 0n || epoch > current) throw unknown(`epoch ${epoch} unknown: ${where} is at epoch ${current}`);
      let note: string | undefined;
      if (epoch < current) {
        // The router's rule (CommitteeRegistry.reportKey): an epoch's key is accepted until handoverGrace
        // after the handover that retired it.
        const [next, grace, now] = await read(Promise.all([reader.epochInfo(epoch + 1n), client.readContract({ address: registry, abi: graceAbi, functionName: 'handoverGrace' }), reader.chainTime()]));
        const graceEnd = next.activatedAt + grace;
        if (now > graceEnd) {
          throw new ReportCheckError('epoch-retired', `epoch ${epoch} retired: epoch ${epoch + 1n} was activated at ${iso(next.activatedAt)} and the ${grace} s handover grace ended at ${iso(graceEnd)} (chain time now ${iso(now)}); the chain no longer accepts epoch ${epoch}'s reports`);
        }
        note = `epoch ${epoch} is not current (${current}); the chain accepts its reports until ${iso(graceEnd)}`;
      }
      const gk = await read(reader.groupKey(epoch));
      return { key: decodeG2(gk.compressed), source: `${where}, epoch ${epoch}`, ...(note ? { note } : {}) };
    },
  };
}

const graceAbi = [{ type: 'function', name: 'handoverGrace', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint64', name: '' }] }] as const;
const iso = (s: bigint): string => new Date(Number(s) * 1000).toISOString();

/** A node's view is at most a few hundred KiB (members, handovers); more is not a node answering. */
const MAX_NODE_BODY = 4 << 20;

async function getJson(url: URL): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(15_000), headers: { accept: 'application/json' } });
  } catch (e) {
    throw sourceError(`cannot reach node ${url.origin} (${firstLine(e)}): check --node`);
  }
  const text = await res.text();
  if (text.length > MAX_NODE_BODY) throw sourceError(`node ${url.href} sent ${text.length} bytes: not a node API answer`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw sourceError(`node ${url.href} answered ${res.status} with a body that is not JSON`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw sourceError(`node ${url.href} answered ${res.status} with something other than a JSON object`);
  if (!res.ok) throw sourceError(`node ${url.href} answered ${res.status}: ${String((body as { message?: unknown }).message ?? '')}`);
  return body as Record<string, unknown>;
}

/**
 * A node's API: /v1/committee for the epoch it signs in now; for an earlier epoch, the signed handover
 * into it that the node holds (/v1/epochs: the handover bytes name the new epoch's key).
 */
export function nodeKeySource(nodeUrl: string): KeySource {
  let base: URL;
  try {
    base = new URL(nodeUrl);
  } catch {
    throw sourceError(`--node ${JSON.stringify(nodeUrl)} is not a URL: use e.g. http://127.0.0.1:8080`);
  }
  return {
    keyFor: async (epoch) => {
      const committee = await getJson(new URL('/v1/committee', base));
      const at = committee.epoch;
      if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) throw sourceError(`node ${base.origin} /v1/committee has no valid 'epoch'`);
      if (BigInt(at) === epoch) {
        if (typeof committee.groupKey !== 'string') throw unknown(`epoch ${epoch}: node ${base.origin} has no group key for it yet (DKG not finished)`);
        return { key: parseGroupKey(committee.groupKey, `node ${base.origin} /v1/committee groupKey`), source: `node ${base.origin} /v1/committee, epoch ${epoch}` };
      }
      if (epoch > BigInt(at)) throw unknown(`epoch ${epoch} unknown: node ${base.origin} is at epoch ${at}`);
      const epochs = await getJson(new URL('/v1/epochs', base)).catch(() => ({}) as Record<string, unknown>);
      const handovers = Array.isArray(epochs.signedHandovers) ? (epochs.signedHandovers as unknown[]) : [];
      for (const h of handovers) {
        const e = (h as { epoch?: unknown; handover?: unknown } | null)?.epoch;
        const bytes = (h as { handover?: unknown } | null)?.handover;
        if (typeof e !== 'number' || BigInt(e) !== epoch || typeof bytes !== 'string') continue;
        try {
          const ho = decodeHandover(fromHex(bytes, 'handover'));
          if (ho.newEpoch !== epoch) continue;
          return {
            key: decodeG2(ho.groupKey),
            source: `node ${base.origin} /v1/epochs, the signed handover into epoch ${epoch}`,
            note: `epoch ${epoch} is not the node's current epoch (${at}); the chain may have retired it (check with --rpc/--registry)`,
          };
        } catch (err) {
          throw sourceError(`node ${base.origin} /v1/epochs holds a malformed handover into epoch ${epoch}: ${(err as Error).message}`);
        }
      }
      throw unknown(`epoch ${epoch} unknown to node ${base.origin}: it is at epoch ${at} and holds no handover into epoch ${epoch}; use --rpc/--registry`);
    },
  };
}
