// Shared test setup: the real programs in a LiteSVM with SIMD-0388 active, a funded payer, a committee key.
import { Keypair, PublicKey } from '@solana/web3.js';
import {
  ChainType, combinePartials, decodeG2, domainTag, encodeReport, feedId, inputHash, publicKeyPoint, randomSecretKey, reportLeaf,
  rootSigningMessage, sign, signPartial, simulateDkg, PublicSharing, svmDestination, g2Uncompressed, type Report,
} from '@destra/protocol';
import { createLocalDeployment, LiteSvmTransport, OracleClient, ORACLE_PROGRAM_ID } from '../src/index.ts';

export const DOMAIN = domainTag('devnet');
export const CLUSTER_ID = new Uint8Array(32).fill(7);
export const MODEL_HASH = new Uint8Array(32).fill(0x4d);

/** Whoever signs for the oracle: one key, or a DKG committee combining t partial signatures. */
export interface Committee {
  groupKey: Uint8Array; // uncompressed G2
  /** members' public key shares, uncompressed G2 (the group key for a single key) */
  publicShares: Uint8Array[];
  sign(msg: Uint8Array): Uint8Array; // compressed G1
}

export function keyCommittee(sk: bigint = randomSecretKey()): Committee {
  const groupKey = g2Uncompressed(publicKeyPoint(sk));
  return { groupKey, publicShares: [groupKey], sign: (msg) => sign(sk, msg) };
}

/** A real t-of-n DKG (protocol/src/dkg) whose members sign partials that are combined. */
export async function dkgCommittee(n: number, t: number): Promise<Committee> {
  const sim = await simulateDkg({ n, t, backend: 'noble' });
  const members = [...sim.results.values()];
  const sharing = PublicSharing.fromBytes(members[0]!.commitments, n);
  return {
    groupKey: g2Uncompressed(decodeG2(sim.groupPublicKey)),
    publicShares: Array.from({ length: n }, (_, i) => g2Uncompressed(sharing.publicShare(i + 1))),
    sign: (msg) => combinePartials(members.slice(0, t).map((m) => signPartial(m.share, msg)), t),
  };
}

export interface Fixture {
  transport: LiteSvmTransport;
  client: OracleClient;
  admin: Keypair;
  committee: Committee;
}

export async function setup(opts: { committee?: Committee; fee?: bigint; epoch?: bigint; requestTimeoutSlots?: bigint; payoutsRoot?: Uint8Array } = {}): Promise<Fixture> {
  const committee = opts.committee ?? keyCommittee();
  const d = await createLocalDeployment({
    groupKey: committee.groupKey, domain: DOMAIN, clusterId: CLUSTER_ID, epoch: opts.epoch ?? 1n, requestFee: opts.fee ?? 1_000_000n,
    requestTimeoutSlots: opts.requestTimeoutSlots, payoutsRoot: opts.payoutsRoot,
  });
  return { ...d, committee };
}

export function feedReport(over: Partial<Report> = {}): Report {
  return {
    kind: 2, domain: DOMAIN, epoch: 1n,
    destination: svmDestination(CLUSTER_ID, ORACLE_PROGRAM_ID.toBytes()),
    id: feedId('risk/eth-usd'), modelHash: MODEL_HASH, inputHash: inputHash(new Uint8Array(8)),
    timestamp: 1_764_000_000n, round: 1n, output: [250_000n], ...over,
  };
}

/** Encodes and signs a single report (root = its leaf). */
export function signed(c: Committee, r: Report): { bytes: Uint8Array; sig: Uint8Array; root: Uint8Array } {
  const bytes = encodeReport(r);
  const root = reportLeaf(bytes);
  return { bytes, sig: c.sign(rootSigningMessage(root)), root };
}

/** Posts a single signed report; `request` for request answers. */
export async function post(f: Fixture, r: Report, opts: { signer?: Committee; bytes?: Uint8Array; request?: PublicKey } = {}) {
  const s = signed(opts.signer ?? f.committee, r);
  const bytes = opts.bytes ?? s.bytes;
  return f.client.send([f.client.postReportIx({
    payer: f.admin.publicKey, report: bytes, id: r.id, signature: s.sig, root: s.root, request: opts.request,
  })], [f.admin]);
}

export { ChainType, PublicKey };
