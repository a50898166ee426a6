// Chain-driven epochs: an aggregator started without a committee follows CommitteeRegistry on anvil. It
// admits and dials the registered operators (Hello index = registry position) from their published node
// info, learns each epoch's sharing from dkg-result gossip only when it matches the registry (groupKey,
// sharesRoot), holds partials until then, relays a committee-signed handover to Ethereum, and after the
// handover combines epoch-2 partials under the new member indices while epoch-1 results still combine.
// Plus unit checks of the EpochBook, the config rules and Solana's wrong-epoch classification.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { hexToBytes, parseEther, toHex as viemHex, type Address } from 'viem';
import { Keypair } from '@solana/web3.js';
import {
  anyDestination, dealShares, domainTag, encodeHandover, encodeReport, encryptKeystore, g1ToEip2537, g2ToEip2537, handoverSigningMessage,
  membersRoot, payoutsRoot, provePossession, publicKeyOf, randomSecretKey, reportLeaf, ReportKind, secretKeyToBytes, sharesRoot, signDkgResult,
  signingMessage, SigningPurpose, signPartial, toHex, verify, type PublicSharing, type SecretKey,
} from '@destra/protocol';
import {
  LocalCommittee, committeeRegistryAbi, delegateDsync, deployProtocol, localClients, payoutTable, registerOperator, sendTx, startAnvil, transferDsync,
  type Anvil, type Clients, type DeployedProtocol,
} from '@destra/contracts';
import { CommitteeReader } from '@destra/adapter-ethereum';
import { SolanaTransactionError, type OracleClient } from '@destra/adapter-solana';
import { DestraHost, dkgEncryptionKeyPair, peerIdBytes, Registry } from '@destra/oracle-node';
import {
  AggregatorConfigError, AggregatorService, AggregatorVerifier, EpochBook, parseAggregatorConfig, RelayError, SolanaSink, startAggregator,
  type AggregatorConfigInput, type ResultEvent, type RunningAggregator, type SignedReport,
} from '../src/index.ts';
import { encodeWire, PROTOCOL_PARTIAL, topics as wireTopics } from '../src/wire.ts';

const NETWORK = 'epochs-test';
const log = pino({ level: process.env.DESTRA_TEST_LOG ?? 'silent' });
const memberId = (a: Address): Uint8Array => hexToBytes(`0x${a.slice(2).padStart(64, '0')}`);

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function report(epoch: number, idByte: number, output: bigint) {
  const id = new Uint8Array(32).fill(idByte);
  const bytes = encodeReport({
    kind: ReportKind.OnDemand, domain: domainTag(NETWORK), epoch: BigInt(epoch), destination: anyDestination(), id,
    modelHash: new Uint8Array(32).fill(7), inputHash: new Uint8Array(32).fill(8), timestamp: 1_700_000_000n, round: 1n, output: [output],
  });
  return { id, bytes, leaf: reportLeaf(bytes) };
}

interface Operator {
  secret: SecretKey;
  clients: Clients;
  address: Address;
  /** 1-based position in the registry's operatorList: its Hello index. */
  position: number;
  host: DestraHost;
}

describe('chain-driven epochs (anvil)', () => {
  let anvil: Anvil;
  let deployer: Clients;
  let deployed: DeployedProtocol;
  let registry: Address;
  let reader: CommitteeReader;
  let ops: Operator[];
  let epoch1: LocalCommittee;
  let agg: RunningAggregator;
  let dir: string;
  const topics = wireTopics(NETWORK);

  /** The operator holding `address`. */
  const op = (address: Address) => ops.find((o) => o.address.toLowerCase() === address.toLowerCase())!;

  const sendPartial = (o: Operator, epoch: number, index: number, share: ReturnType<LocalCommittee['share']>, r: ReturnType<typeof report>) =>
    o.host.sendDirect(agg.host.peerId, PROTOCOL_PARTIAL, encodeWire({
      type: 'partial', v: 1, epoch, requestId: r.id, round: 0, index, report: r.bytes, digest: r.leaf,
      signature: signPartial(share, signingMessage(SigningPurpose.ReportRoot, r.leaf)).signature,
    }));

  const resultFor = (r: ReturnType<typeof report>, ms = 15_000) =>
    new Promise<ResultEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no result')), ms);
      const on = (e: ResultEvent) => {
        if (toHex(e.signed.requestId) !== toHex(r.id) || toHex(e.signed.report) !== toHex(r.bytes)) return;
        clearTimeout(timer);
        agg.service.off('result', on);
        resolve(e);
      };
      agg.service.on('result', on);
    });

  /** A dkg-result as a next-committee member publishes it, signed with its operator key. */
  function dkgResult(o: Operator, epoch: number, index: number, commitments: Uint8Array[], handover: Uint8Array): Uint8Array {
    return encodeWire({ type: 'dkg-result', v: 1, epoch, attempt: 0, index, handover, commitments, signature: signDkgResult(o.secret, 0, handover, commitments) });
  }

  /** Publishes on the epochs topic until `done` (the mesh forms after the subscription exchange). */
  async function publishUntil(o: Operator, frame: Uint8Array, what: string, done: () => boolean | Promise<boolean>): Promise<void> {
    await until(what, async () => {
      if (await done()) return true;
      await o.host.publish(topics.epochs, frame).catch(() => 0);
      await new Promise((r) => setTimeout(r, 150));
      return done();
    });
  }

  async function handoverBytes(oldEpoch: bigint, next: LocalCommittee, members: readonly Address[]): Promise<Uint8Array> {
    return encodeHandover({
      domain: hexToBytes(deployed.domain), oldEpoch, newEpoch: oldEpoch + 1n, threshold: next.t, committeeSize: next.n, groupKey: next.groupKeyUncompressed,
      sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(members.map(memberId)),
      payoutsRoot: payoutsRoot(await payoutTable(deployer.publicClient, registry, members)),
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'destra-agg-epochs-'));
    anvil = await startAnvil();
    deployer = localClients(anvil.rpcUrl, anvil.privateKeys[0]!, anvil.chainId);
    deployed = await deployProtocol(deployer, { network: NETWORK, committeeSize: 3, minSelfBond: parseEther('1') });
    registry = deployed.addresses.registry;
    reader = new CommitteeReader(deployer.publicClient, registry);
    const aggSecret = randomSecretKey();
    // four operators, stakes 10..13 DSYNC: the top three (4, 3, 2) are epoch 1's committee in that order
    ops = [];
    for (let i = 0; i < 4; i++) {
      const secret = randomSecretKey();
      const clients = localClients(anvil.rpcUrl, anvil.privateKeys[i + 1]!, anvil.chainId);
      const address = clients.walletClient.account!.address;
      const stake = parseEther(String(10 + i));
      await transferDsync(deployer, deployed.addresses, address, stake);
      await registerOperator(clients, deployed.addresses, viemHex(g2ToEip2537(publicKeyOf(secret))), viemHex(g1ToEip2537(provePossession(secret))), stake);
      // its node: admits the aggregator (operator key known; members need not know its address)
      const host = await DestraHost.create({
        domain: domainTag(NETWORK), privateKey: await generateKeyPair('Ed25519'), role: 'member', index: i + 1, operatorSecret: secret,
        registry: new Registry([{ role: 'aggregator', index: 1, operatorKey: publicKeyOf(aggSecret) }]), topics: [topics.epochs], log,
      });
      await sendTx(clients, registry, committeeRegistryAbi, 'setNodeInfo', [
        viemHex(dkgEncryptionKeyPair(secret).publicKey), viemHex(peerIdBytes(host.peerId)), [host.multiaddrs()[0]!.toString()],
      ]);
      ops.push({ secret, clients, address, position: i + 1, host });
    }
    epoch1 = await LocalCommittee.create(3, 2);
    const genesis = await reader.selectedCommittee(3);
    expect(genesis).toEqual([ops[3]!.address, ops[2]!.address, ops[1]!.address]);
    await sendTx(deployer, registry, committeeRegistryAbi, 'initGenesis', [
      epoch1.groupKeyEip2537, epoch1.t, epoch1.n, viemHex(sharesRoot(epoch1.publicSharesUncompressed)), viemHex(membersRoot(genesis.map(memberId))),
    ]);

    const keystore = encryptKeystore(secretKeyToBytes(aggSecret), 'pw', { kdf: { function: 'pbkdf2', c: 1024 }, pubkey: toHex(publicKeyOf(aggSecret)).slice(2) });
    writeFileSync(join(dir, 'operator.keystore.json'), JSON.stringify(keystore), { mode: 0o600 });
    process.env.DESTRA_TEST_EPOCHS_PW = 'pw';
    process.env.DESTRA_TEST_EPOCHS_RELAYER = anvil.privateKeys[6]!;
    const input: AggregatorConfigInput = {
      network: NETWORK, index: 1, dataDir: dir, operatorKeystore: join(dir, 'operator.keystore.json'), password: { env: 'DESTRA_TEST_EPOCHS_PW' },
      epochs: { pollIntervalMs: 200 },
      chains: { ethereum: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, router: deployed.addresses.router, registry, relayer: { keyEnv: 'DESTRA_TEST_EPOCHS_RELAYER' } } },
      statusPort: 0,
      logLevel: 'silent',
    };
    agg = await startAggregator(parseAggregatorConfig(input), { log, probeTimeoutMs: 2_000, probeTtlMs: 0 });
    // the aggregator dialled every operator at its published address
    await agg.host.waitForPeers((peers) => peers.filter((p) => p.role === 'member').length === 4);
    for (const o of ops) await o.host.waitForPeers((peers) => peers.some((p) => p.role === 'aggregator'));
  }, 240_000);

  afterAll(async () => {
    await agg?.stop();
    for (const o of ops ?? []) await o.host.stop();
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admits operators from the registry by position and reads epoch 1 (committee by operator key, no sharing yet)', () => {
    expect(agg.epochs.current).toBe(1);
    const c = agg.epochs.committee(1)!;
    expect(c.threshold).toBe(2);
    expect(c.members.map((m) => m.address)).toEqual([ops[3]!.address, ops[2]!.address, ops[1]!.address]);
    expect(c.members[0]!.operatorKey).toBe(toHex(publicKeyOf(ops[3]!.secret)).toLowerCase());
    expect(agg.host.peerFor('member', 4)?.operatorKey?.toLowerCase()).toBe(c.members[0]!.operatorKey);
    expect(agg.epochs.entry(1)).toBeUndefined();
  });

  it("holds epoch-1 partials, refuses commitments that do not match the registry, and learns epoch 1 from a matching dkg-result", async () => {
    const [m1, m2, m3] = [ops[3]!, ops[2]!, ops[1]!]; // epoch 1 members 1..3
    const r = report(1, 1, 42n);
    const result = resultFor(r);
    await sendPartial(m1, 1, 1, epoch1.share(1), r);
    await sendPartial(m2, 1, 2, epoch1.share(2), r);
    await until('partials held', () => agg.service.stats.held >= 2);

    const refused: string[] = [];
    agg.epochs.on('refused', (e) => refused.push(e.reason));
    const genesisHandover = await handoverBytes(0n, epoch1, await reader.committeeOf(1n));
    const good = epoch1.results[0]!.sharing.commitmentBytes();
    const other = dealShares(2, 3).sharing.commitmentBytes();
    // a hostile member: another key altogether, then the right group key with a forged second commitment
    await publishUntil(m1, dkgResult(m1, 1, 1, other, genesisHandover), 'the foreign sharing refused', () => refused.length >= 1);
    expect(refused[0]).toMatch(/group key/);
    await publishUntil(m1, dkgResult(m1, 1, 1, [good[0]!, other[1]!], genesisHandover), 'the forged sharing refused', () => refused.length >= 2);
    expect(refused[1]).toMatch(/sharesRoot/);
    expect(agg.epochs.entry(1)).toBeUndefined();
    expect(agg.service.stats.held).toBeGreaterThanOrEqual(2);

    await publishUntil(m3, dkgResult(m3, 1, 3, good, genesisHandover), 'epoch 1 learnt', () => agg.epochs.entry(1) !== undefined);
    expect(agg.epochs.entry(1)!.source).toBe(`operator ${toHex(publicKeyOf(m3.secret))}`);
    const res = await result;
    expect(res.signers.sort()).toEqual([1, 2]);
    expect(verify(epoch1.groupKey, signingMessage(SigningPurpose.ReportRoot, r.leaf), res.signed.signature)).toBe(true);
    expect(agg.service.stats.held).toBe(0);
    // kept for a restart, re-checked against the registry then
    const stored = JSON.parse(readFileSync(join(dir, 'epochs.json'), 'utf8')) as { epochs: { epoch: number; commitments: string[] }[] };
    expect(stored.epochs).toEqual([{ epoch: 1, commitments: good.map((c) => toHex(c)) }]);
  });

  it('relays a signed handover to Ethereum, then combines epoch-2 partials under the new member indices (epoch 1 still combines)', async () => {
    // operator 1 gets delegations and ranks first: epoch 2 is [1, 4, 3], operator 2 leaves, 4 and 3 move down one index
    await delegateDsync(deployer, deployed.addresses, ops[0]!.address, parseEther('10'));
    const members = await reader.selectedCommittee(3);
    expect(members).toEqual([ops[0]!.address, ops[3]!.address, ops[2]!.address]);
    const epoch2 = await LocalCommittee.create(3, 2);
    const handover = await handoverBytes(1n, epoch2, members);
    // the next committee's DKG result arrives before the registry has epoch 2: kept until it does
    const n1 = op(members[0]!);
    await publishUntil(n1, dkgResult(n1, 2, 1, epoch2.results[0]!.sharing.commitmentBytes(), handover), 'the epoch-2 dkg-result kept', () => agg.epochs.candidateCount(2) === 1);
    expect(agg.epochs.entry(2)).toBeUndefined();

    // a handover signed by anyone but epoch 1's committee is not relayed
    const forged = encodeWire({ type: 'handover-signed', v: 1, handover, signature: epoch2.signMessage(handoverSigningMessage(handover)) });
    await publishUntil(ops[1]!, forged, 'the forged handover refused', () => agg.gossip.counters.handovers_invalid_total === 1);
    expect(await reader.currentEpoch()).toBe(1n);

    const signed = encodeWire({ type: 'handover-signed', v: 1, handover, signature: epoch1.signMessage(handoverSigningMessage(handover)) });
    await publishUntil(ops[1]!, signed, 'the handover relayed', () => agg.gossip.counters.handovers_relayed_total === 1);
    expect(await reader.currentEpoch()).toBe(2n);
    expect(await reader.committeeOf(2n)).toEqual(members);
    await until('epoch 2 usable', () => agg.epochs.current === 2 && agg.epochs.entry(2) !== undefined);
    expect(agg.service.activeEpochs).toEqual([1, 2]);

    // epoch 2: operator 4 is member 2 now (it was 1), operator 1 is member 1
    const [a, b] = [op(members[0]!), op(members[1]!)];
    const r2 = report(2, 2, 7n);
    const rejectedBefore = agg.service.stats.rejected;
    await sendPartial(b, 2, 1, epoch2.share(1), r2); // its epoch-1 index: refused in epoch 2
    await sendPartial(ops[1]!, 2, 3, epoch2.share(3), r2); // operator 2 is no member of epoch 2
    await until('the wrong senders refused', () => agg.service.stats.rejected >= rejectedBefore + 2);
    expect(agg.service.senderMismatch(agg.host.peerFor('member', b.position)! as never, 1, 2)).toMatch(/member 2 of epoch 2 sent a message claiming index 1/);
    expect(agg.service.senderMismatch(agg.host.peerFor('member', ops[1]!.position)! as never, 3, 2)).toMatch(/not a member of epoch 2/);
    const result2 = resultFor(r2);
    await sendPartial(a, 2, 1, epoch2.share(1), r2);
    await sendPartial(b, 2, 2, epoch2.share(2), r2);
    const res2 = await result2;
    expect(res2.signers.sort()).toEqual([1, 2]);
    expect(verify(epoch2.groupKey, signingMessage(SigningPurpose.ReportRoot, r2.leaf), res2.signed.signature)).toBe(true);

    // the previous epoch's results still combine (Ethereum takes them in the grace window)
    const r1 = report(1, 3, 9n);
    const result1 = resultFor(r1);
    await sendPartial(op(ops[3]!.address), 1, 1, epoch1.share(1), r1);
    await sendPartial(ops[1]!, 1, 3, epoch1.share(3), r1);
    const res1 = await result1;
    expect(verify(epoch1.groupKey, signingMessage(SigningPurpose.ReportRoot, r1.leaf), res1.signed.signature)).toBe(true);

    const health = (await (await fetch(`${agg.status!.url}/health`)).json()) as { epoch: number; epochs: number[]; members: number; threshold: number };
    expect(health).toMatchObject({ epoch: 2, epochs: [1, 2], members: 3, threshold: 2 });
    const metrics = await (await fetch(`${agg.status!.url}/metrics`)).text();
    expect(metrics).toContain('destra_aggregator_epoch 2');
    expect(metrics).toContain('destra_aggregator_handovers_relayed_total 1');
    expect(metrics).toContain('destra_aggregator_handovers_invalid_total 1');
    expect(metrics).toContain('destra_aggregator_partials_held 0');
  });
});

describe('EpochBook', () => {
  const expectedOf = (s: PublicSharing) => ({ groupKey: s.groupKeyBytes, sharesRoot: sharesRoot(s.publicShares().map((p) => p.toBytes(false))) });
  const committee = (epoch: number, s: PublicSharing, keys: string[]) => ({
    epoch, threshold: s.threshold, size: s.size, members: keys.map((operatorKey, i) => ({ index: i + 1, operatorKey })), expected: expectedOf(s),
  });

  it('keeps candidates until the registry has the epoch, accepts only the matching one, and maps senders by operator key', async () => {
    const book = EpochBook.chain({ maxCandidatesPerSender: 2 });
    const good = dealShares(2, 3).sharing;
    const bad = dealShares(2, 3).sharing;
    book.setCurrent(4);
    expect(await book.offer(5, bad.commitmentBytes(), 'operator A')).toMatchObject({ status: 'held' });
    expect(await book.offer(5, good.commitmentBytes(), 'operator B')).toMatchObject({ status: 'held' });
    expect(await book.offer(7, good.commitmentBytes(), 'operator B')).toMatchObject({ status: 'refused', reason: expect.stringMatching(/outside the window/) });
    expect(book.lookup(5)).toMatchObject({ status: 'pending' });
    expect(book.lookup(7)).toMatchObject({ status: 'refused' });
    expect(book.lookup(2)).toMatchObject({ status: 'refused', reason: expect.stringMatching(/retired/) });
    const ready: number[] = [];
    book.on('ready', (e) => ready.push(e.epoch));
    book.setCurrent(5);
    await book.setCommittee(committee(5, good, ['0xAA', '0xbb', '0xcc']));
    expect(ready).toEqual([5]);
    expect(book.lookup(5).status).toBe('ready');
    expect(await book.offer(5, good.commitmentBytes(), 'operator C')).toEqual({ status: 'known' });
    expect(await book.offer(5, bad.commitmentBytes(), 'operator C')).toMatchObject({ status: 'refused' });
    expect(book.memberIndexOf(5, { role: 'member', index: 9, operatorKey: '0xaa' })).toBe(1);
    expect(book.check(5, { role: 'member', index: 9, operatorKey: '0xcc' }, 3).status).toBe('ready');
    expect(book.check(5, { role: 'member', index: 3, operatorKey: '0xbb' }, 3)).toMatchObject({ status: 'refused', reason: 'member 2 of epoch 5 sent a message claiming index 3' });
    expect(book.check(5, { role: 'aggregator', index: 1, operatorKey: '0xaa' }, 1).status).toBe('refused');
    // the previous epoch stays one more handover, then retires
    const retired: number[] = [];
    book.on('retired', (e) => retired.push(e));
    book.setCurrent(6);
    expect(book.lookup(5).status).toBe('ready');
    book.setCurrent(7);
    expect(retired).toEqual([5]);
    expect(book.entry(5)).toBeUndefined();
  });

  it('a fixed committee names senders by Hello index and refuses other epochs', async () => {
    const { sharing } = dealShares(2, 3);
    const book = EpochBook.fixed({ epoch: 3, verifier: await AggregatorVerifier.create(sharing), sharing });
    expect(book.check(3, { role: 'member', index: 2 }, 2).status).toBe('ready');
    expect(book.check(3, { role: 'member', index: 2 }, 1)).toMatchObject({ reason: 'member 2 sent a message claiming index 1' });
    expect(book.check(4, { role: 'member', index: 2 }, 2)).toMatchObject({ status: 'refused', reason: 'epoch 4 is not the current epoch 3' });
    expect(await book.offer(3, sharing.commitmentBytes(), 'x')).toMatchObject({ status: 'refused' });
  });
});

describe('AggregatorService with an EpochBook (no network)', () => {
  it('holds input of an epoch whose sharing is unknown (bounded), replays it when the sharing is accepted, and maps senders by operator key', async () => {
    const handlers = new Map<string, (d: Uint8Array, from: never) => void>();
    const host = { handleDirect: async (p: string, _max: number, h: (d: Uint8Array, from: never) => void) => void handlers.set(p, h), publish: async () => 0 };
    const book = EpochBook.chain();
    const pending: number[] = [];
    const { sharing, shares } = dealShares(2, 3);
    const service = await AggregatorService.create({ host, network: NETWORK, epochs: book, maxHeld: 4, log, onPending: (e) => pending.push(e) });
    await service.start();
    try {
      const keys = ['0x0a', '0x0b', '0x0c'];
      // registry positions differ from member indices: member i holds key keys[i - 1] and Hello index 10 + i
      const peer = (i: number) => ({ peerId: `p${i}`, role: 'member' as const, index: 10 + i, operatorKey: keys[i - 1]! }) as never;
      const send = (i: number, r: ReturnType<typeof report>) =>
        handlers.get(PROTOCOL_PARTIAL)!(encodeWire({
          type: 'partial', v: 1, epoch: 2, requestId: r.id, round: 0, index: i, report: r.bytes, digest: r.leaf,
          signature: signPartial(shares[i - 1]!, signingMessage(SigningPurpose.ReportRoot, r.leaf)).signature,
        }), peer(i));
      book.setCurrent(1);
      const r = report(2, 9, 1n);
      send(1, report(2, 10, 1n));
      expect(service.stats.held).toBe(1);
      expect(pending).toEqual([2]);
      // the buffer holds 4 frames, one peer at most 1: its own older frame goes
      send(1, r);
      expect(service.stats).toMatchObject({ held: 1, heldDropped: 1 });
      send(2, r);
      send(3, report(2, 11, 1n));
      expect(service.stats.held).toBe(3);
      const results: ResultEvent[] = [];
      service.on('result', (e) => results.push(e));
      book.setCurrent(2);
      await book.setCommittee({ epoch: 2, threshold: 2, size: 3, members: keys.map((operatorKey, i) => ({ index: i + 1, operatorKey })), expected: { groupKey: sharing.groupKeyBytes, sharesRoot: sharesRoot(sharing.publicShares().map((p) => p.toBytes(false))) } });
      expect(await book.offer(2, sharing.commitmentBytes(), 'operator 0x0a')).toMatchObject({ status: 'accepted' });
      expect(service.stats.held).toBe(0);
      // report 10 (member 1's dropped frame) never combines; report 9 does, from members 1 and 2 (held, replayed)
      const r9 = results.find((e) => toHex(e.signed.requestId) === toHex(r.id));
      expect(r9?.signers.sort()).toEqual([1, 2]);
      expect(verify(sharing.groupKeyBytes, signingMessage(SigningPurpose.ReportRoot, r.leaf), r9!.signed.signature)).toBe(true);
      expect(service.resultOf(r.id)?.signers.sort()).toEqual([1, 2]);
      // the sender's index is its committee index by operator key, not its Hello index
      expect(service.senderMismatch(peer(2), 12, 2)).toMatch(/member 2 of epoch 2 sent a message claiming index 12/);
      expect(service.senderMismatch(peer(2), 2, 4)).toMatch(/ahead of the registry's epoch 2/);
    } finally {
      service.stop();
    }
  });
});

describe('config: epochs', () => {
  const base = {
    network: 'test', index: 1, dataDir: 'data', operatorKeystore: 'operator.json', password: { env: 'PW' },
  };
  const eth = { rpcUrl: 'http://127.0.0.1:8545', router: '0x5FbDB2315678afecb367f032d93F642f64180aa3', relayer: { keyEnv: 'K' } };
  it('without a committee the epochs come from the registry, which must be configured', () => {
    expect(() => parseAggregatorConfig({ ...base, chains: { ethereum: eth } })).toThrow(AggregatorConfigError);
    expect(() => parseAggregatorConfig({ ...base, chains: { ethereum: eth } })).toThrow(/'chains\.ethereum\.registry': chain-driven epochs/);
    expect(() => parseAggregatorConfig({ ...base, epochs: { source: 'config' } })).toThrow(/'committee': required/);
    const c = parseAggregatorConfig({ ...base, chains: { ethereum: { ...eth, registry: eth.router } } });
    expect(c.committee).toBeUndefined();
    expect(c.epochs).toMatchObject({ pollIntervalMs: 5000, maxHeld: 4096, holdMs: 30_000, relayHandovers: true, known: [] });
  });
});

describe('SolanaSink: wrong-epoch reports', () => {
  const signedOf = (epoch: number): SignedReport => {
    const r = report(epoch, 5, 1n);
    return { requestId: r.id, report: r.bytes, root: r.leaf, proof: [], signature: new Uint8Array(48) };
  };
  const sinkAt = (programEpoch: bigint) => {
    const client = {
      postReportIx: () => ({}),
      send: async () => {
        throw new SolanaTransactionError('transaction failed: WrongEpoch', [], 6, 'WrongEpoch');
      },
      fetchConfig: async () => ({ epoch: programEpoch }),
    } as unknown as OracleClient;
    return new SolanaSink({ client, payer: Keypair.generate() });
  };

  it('a report of an epoch Solana has left fails for good; one Solana has not reached yet is retried', async () => {
    const behind = sinkAt(3n);
    const e1 = await behind.submit(signedOf(2)).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SolanaTransactionError);
    expect(behind.isPermanent(e1)).toBe(true);
    const ahead = sinkAt(1n);
    const e2 = await ahead.submit(signedOf(2)).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(RelayError);
    expect((e2 as Error).message).toMatch(/still at epoch 1, the report is of epoch 2/);
    expect(ahead.isPermanent(e2)).toBe(false);
  });
});
