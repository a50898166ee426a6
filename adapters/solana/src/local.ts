// An in-process Solana "cluster" with both Destra programs deployed and the oracle initialised: what the
// devnet scripts and cross-component tests use instead of a validator.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Keypair, type PublicKey } from '@solana/web3.js';
import { DestraError } from '@destra/protocol';
import { OracleClient } from './client.ts';
import { CONSUMER_PROGRAM_ID, CONSUMER_SO, ORACLE_PROGRAM_ID, ORACLE_SO } from './idl.ts';
import { LiteSvmTransport } from './transport.ts';

export interface LocalDeploymentOptions {
  /** uncompressed G2 group key (192 bytes) of the genesis committee */
  groupKey: Uint8Array;
  domain: Uint8Array;
  /** the cluster id reports must name (destChainId for destChainType = 2) */
  clusterId: Uint8Array;
  epoch?: bigint;
  threshold?: number;
  committeeSize?: number;
  requestFee?: bigint;
  requestTimeoutSlots?: bigint;
  /** the genesis fee payout table's root; default 32 zero bytes (no table: nothing is paid out before a handover) */
  payoutsRoot?: Uint8Array;
}

export interface LocalDeployment {
  transport: LiteSvmTransport;
  client: OracleClient;
  /** funded admin (also a convenient fee payer) */
  admin: Keypair;
}

/** Reads a built program; a missing file means programs/build.sh has not run. */
export function readProgram(url: URL): Uint8Array {
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new DestraError('SOLANA_PROGRAM_MISSING', `${path} is missing: run programs/build.sh first`);
  return readFileSync(path);
}

/** A LiteSVM with both programs deployed, `authority` the oracle's upgrade authority; not initialised. */
export function deployLocalPrograms(authority: PublicKey): LiteSvmTransport {
  const transport = new LiteSvmTransport();
  transport.addUpgradeableProgram(ORACLE_PROGRAM_ID, readProgram(ORACLE_SO), authority);
  transport.addProgram(CONSUMER_PROGRAM_ID, readProgram(CONSUMER_SO));
  return transport;
}

export async function createLocalDeployment(o: LocalDeploymentOptions): Promise<LocalDeployment> {
  const admin = Keypair.generate();
  // the admin deploys the oracle, so it is the upgrade authority initialize requires
  const transport = deployLocalPrograms(admin.publicKey);
  transport.airdrop(admin.publicKey, 1_000_000_000_000n);
  const client = new OracleClient(transport);
  await client.send([client.initializeIx({
    admin: admin.publicKey, domain: o.domain, clusterId: o.clusterId, epoch: o.epoch ?? 1n, threshold: o.threshold ?? 1,
    committeeSize: o.committeeSize ?? 1, groupKey: o.groupKey, requestFee: o.requestFee ?? 0n,
    requestTimeoutSlots: o.requestTimeoutSlots, payoutsRoot: o.payoutsRoot ?? new Uint8Array(32),
  })], [admin]);
  return { transport, client, admin };
}
