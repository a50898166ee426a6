// Handovers against a real anvil: a genesis committee of three staked operators hands over to a fresh DKG
// key for the next committee through HandoverSubmitter; the registry's epoch and committeeOf advance, a
// second submission (or a racing relayer) finds it already applied, the handover reads back from its
// transaction, watchHandovers reports it, and bad signatures fail with typed errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, parseEther, toHex, type Address, type Hex } from 'viem';
import {
  decodeHandover, encodeHandover, g1ToEip2537, g2ToEip2537, handoverSigningMessage, membersRoot, provePossession, publicKeyOf, randomSecretKey, sharesRoot,
} from '@destra/protocol';
import {
  LocalCommittee, committeeRegistryAbi, deployProtocol, localClients, registerOperator, startAnvil, transferDsync, type Anvil, type Clients,
  type DeployedProtocol,
} from '@destra/contracts';
import {
  CommitteeReader, HandoverRejectedError, HandoverSubmitter, HandoverUnavailableError, SignatureEncodingError, formatSolanaAddress,
  readHandoverFromTransaction, watchHandovers, type HandoverEvent,
} from '../src/index.ts';
import { write } from './fixture.ts';

let anvil: Anvil;
let deployer: Clients;
let deployed: DeployedProtocol;
let registry: Address;
let reader: CommitteeReader;
let genesis: LocalCommittee;
let genesisMembers: Address[];
let operatorKeys: Map<Address, Hex>;
const client = (i: number) => localClients(anvil.rpcUrl, anvil.privateKeys[i]!, anvil.chainId);
const memberId = (a: Address) => hexToBytes(`0x${a.slice(2).padStart(64, '0')}` as Hex);

beforeAll(async () => {
  anvil = await startAnvil();
  deployer = client(0);
  deployed = await deployProtocol(deployer, { committeeSize: 3, minSelfBond: parseEther('1') });
  registry = deployed.addresses.registry;
  reader = new CommitteeReader(deployer.publicClient, registry);
  // operators 1..4 with distinct stakes: the committee is the top three
  operatorKeys = new Map();
  for (const [i, stake] of [[1, 10], [2, 40], [3, 20], [4, 30]] as const) {
    const c = client(i);
    const sk = randomSecretKey();
    await transferDsync(deployer, deployed.addresses, c.walletClient.account!.address, parseEther(String(stake)));
    const key = toHex(g2ToEip2537(publicKeyOf(sk)));
    await registerOperator(c, deployed.addresses, key, toHex(g1ToEip2537(provePossession(sk))), parseEther(String(stake)));
    operatorKeys.set(c.walletClient.account!.address, key);
  }
  await write(client(2), registry, committeeRegistryAbi, 'setSolanaPayout', [`0x${'42'.repeat(32)}`]);
  genesis = await LocalCommittee.create(3, 2);
  genesisMembers = await reader.selectedCommittee(3);
  await write(deployer, registry, committeeRegistryAbi, 'initGenesis', [
    genesis.groupKeyEip2537, 2, 3, toHex(sharesRoot(genesis.publicSharesUncompressed)), toHex(membersRoot(genesisMembers.map(memberId))),
  ]);
});
afterAll(() => anvil?.stop());

/** The handover oldEpoch → oldEpoch + 1 to a fresh DKG key for today's top three, signed (compressed) by `signer`. */
async function nextHandover(signer: LocalCommittee, oldEpoch: bigint) {
  const next = await LocalCommittee.create(3, 2);
  const members = await reader.selectedCommittee(3);
  const handover = encodeHandover({
    domain: hexToBytes(deployed.domain), oldEpoch, newEpoch: oldEpoch + 1n, threshold: 2, committeeSize: 3,
    groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed),
    membersRoot: hexToBytes(await reader.membersRootOf(members)), payoutsRoot: hexToBytes(await reader.payoutsRootOf(members)),
  });
  return { next, members, handover, signature: signer.signMessage(handoverSigningMessage(handover)) };
}

function submitter(i: number) {
  const c = client(i);
  return new HandoverSubmitter({ publicClient: c.publicClient, walletClient: c.walletClient, registry, minRetryDelayMs: 20, maxRetryDelayMs: 100 });
}

describe('CommitteeReader: the recorded committee', () => {
  it('reads the genesis committee in committee order with its directory, roots and chain time', async () => {
    expect(genesisMembers).toEqual([client(2), client(4), client(3)].map((c) => c.walletClient.account!.address));
    expect(await reader.committeeOf(1n)).toEqual(genesisMembers);
    const directory = await reader.committeeDirectory(1n);
    expect(directory.map((e) => e.address)).toEqual(genesisMembers);
    expect(directory.map((e) => e.operatorKeyEip2537)).toEqual(genesisMembers.map((m) => operatorKeys.get(m)));
    expect(directory[0]!.solanaPayout).toBe(formatSolanaAddress(`0x${'42'.repeat(32)}`));
    expect(directory[1]!.solanaPayout).toBeNull();
    expect(await reader.membersRootOf(genesisMembers)).toBe(toHex(membersRoot(genesisMembers.map(memberId))));
    expect((await reader.epochInfo(1n)).membersRoot).toBe(await reader.membersRootOf(genesisMembers));
    expect(await reader.payoutsRootOf(genesisMembers)).toMatch(/^0x[0-9a-f]{64}$/);
    const block = await deployer.publicClient.getBlock({ blockTag: 'latest' });
    expect(await reader.chainTime()).toBe(block.timestamp);
    await expect(reader.committeeOf(2n)).rejects.toThrow(/UnknownEpoch/);
  });
});

describe('HandoverSubmitter', () => {
  let landed: { txHash: Hex; blockNumber: bigint; handover: Uint8Array; signature: Uint8Array; members: Address[] };
  let current: LocalCommittee;

  it('installs the next epoch from a compressed signature; the same handover again is already applied, without a transaction', async () => {
    const fromBlock = await deployer.publicClient.getBlockNumber();
    const { next, members, handover, signature } = await nextHandover(genesis, 1n);
    expect(signature.length).toBe(48);
    const s = submitter(5);
    const r = await s.submit({ handover, signature });
    expect(r).toMatchObject({ status: 'submitted', newEpoch: 2n });
    expect(r.txHash).toMatch(/^0x/);
    expect(await reader.currentEpoch()).toBe(2n);
    expect(await reader.committeeOf(2n)).toEqual(members);
    expect((await reader.groupKey(2n)).eip2537).toBe(next.groupKeyEip2537);
    const nonce = await deployer.publicClient.getTransactionCount({ address: s.account });
    expect(await s.submit({ handover: bytesToHex(handover), signature })).toMatchObject({ status: 'already-applied', newEpoch: 2n, attempts: 1 });
    expect(await deployer.publicClient.getTransactionCount({ address: s.account })).toBe(nonce);
    expect(await submitter(6).submit({ handover, signature })).toMatchObject({ status: 'already-applied' });
    landed = { txHash: r.txHash!, blockNumber: r.blockNumber!, handover, signature, members };
    current = next;
    expect(r.blockNumber! > fromBlock).toBe(true);
  });

  it('readHandoverFromTransaction returns the handover bytes and the compressed signature', async () => {
    const read = await readHandoverFromTransaction(deployer.publicClient, landed.txHash, { registry });
    expect(bytesToHex(read.handover)).toBe(bytesToHex(landed.handover));
    expect(bytesToHex(read.signature)).toBe(bytesToHex(landed.signature));
    // what it returns submits as is (here: already applied)
    expect(await submitter(5).submit(read)).toMatchObject({ status: 'already-applied' });
    // a transaction that is not a handover call
    const other = await write(client(3), registry, committeeRegistryAbi, 'setSolanaPayout', [`0x${'07'.repeat(32)}`]);
    await expect(readHandoverFromTransaction(deployer.publicClient, other.transactionHash)).rejects.toThrow(HandoverUnavailableError);
    await expect(readHandoverFromTransaction(deployer.publicClient, landed.txHash, { registry: deployed.addresses.router })).rejects.toThrow(/not the registry/);
  });

  it('refuses tampered signatures with typed errors: bytes that are no G1 point before sending, a wrong signer with BadSignature', async () => {
    const { handover, signature } = await nextHandover(current, 2n);
    const flipped = Uint8Array.from(signature);
    flipped[47] = flipped[47]! ^ 0x01;
    await expect(submitter(5).submit({ handover, signature: flipped })).rejects.toThrow(SignatureEncodingError);
    // a valid point, but the retired genesis committee signed it
    const err = await submitter(5).submit({ handover, signature: genesis.signMessage(handoverSigningMessage(handover)) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandoverRejectedError);
    expect(err).toMatchObject({ errorName: 'BadSignature' });
    expect((err as Error).message).toMatch(/handover to epoch 3 .* rejected with BadSignature: .*outgoing committee/);
    // a handover from an epoch the registry is not at
    const skipped = encodeHandover({ ...decodeHandover(handover), oldEpoch: 3n, newEpoch: 4n });
    await expect(submitter(5).submit({ handover: skipped, signature: current.signMessage(handoverSigningMessage(skipped)) })).rejects.toThrow(/HandoverWrongEpoch\(2, 3\)/);
    // bytes that are not a handover at all
    await expect(submitter(5).submit({ handover: handover.subarray(1), signature })).rejects.toThrow(/malformed/);
    expect(await reader.currentEpoch()).toBe(2n);
  });

  it('two relayers racing with the same handover: one submits, the other finds it applied', async () => {
    const { next, handover, signature } = await nextHandover(current, 2n);
    const results = await Promise.all([submitter(7).submit({ handover, signature }), submitter(8).submit({ handover, signature })]);
    expect(results.map((r) => r.status).sort()).toEqual(['already-applied', 'submitted']);
    expect(await reader.currentEpoch()).toBe(3n);
    current = next;
  });

  it('watchHandovers reports every Handover event from fromBlock, in order, and stops', async () => {
    const seen: HandoverEvent[] = [];
    let failOnce = true;
    const errors: Error[] = [];
    const w = watchHandovers({
      client: deployer.publicClient, registry, fromBlock: landed.blockNumber, pollIntervalMs: 50, onError: (e) => errors.push(e),
      onHandover: (ev) => {
        // a failing handler is retried on the next poll, not skipped
        if (ev.epoch === 3n && failOnce) {
          failOnce = false;
          throw new Error('relay down');
        }
        seen.push(ev);
      },
    });
    await until(() => seen.length === 2);
    expect(seen[0]).toEqual({ epoch: 2n, txHash: landed.txHash, blockNumber: landed.blockNumber });
    expect(seen[1]!.epoch).toBe(3n);
    expect(errors.map((e) => e.message)).toEqual(['relay down']);
    // a new handover while watching
    const { handover, signature } = await nextHandover(current, 3n);
    const r = await submitter(5).submit({ handover, signature });
    await until(() => seen.length === 3);
    expect(seen[2]).toEqual({ epoch: 4n, txHash: r.txHash, blockNumber: r.blockNumber });
    await w.stop();
    expect(await reader.committeeOf(4n)).toEqual(await reader.selectedCommittee(3));
  });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
