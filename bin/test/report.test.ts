// `destra report verify`: a saved signed report (the /v1/infer shape, and one batch result: report + Merkle
// proof + root + root signature + epoch) checked against its epoch's group key from a given key, the chain
// (CommitteeRegistry on a real anvil: current epoch, previous epoch in its grace, retired, unknown) and a
// node's API. A hostile file tries each way to pass off a report that was not signed: a wrong leaf, a proof
// to another root, a signature under another key, an epoch the batch was not signed in, bytes that are not
// points; each is refused with a line naming what failed, exit 1, no stack trace.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { hexToBytes, parseEther, toHex as vToHex, type Address, type Hex } from 'viem';
import {
  ReportKind, anyDestination, buildMerkleTree, decodeG2, g2Uncompressed, encodeHandover, encodeReport, evmDestination, g1ToEip2537, g2ToEip2537, handoverSigningMessage, membersRoot,
  merkleProof, provePossession, publicKeyOf, randomSecretKey, reportLeaf, rootSigningMessage, sharesRoot, sign, toHex, type SecretKey,
} from '@destra/protocol';
import {
  LocalCommittee, committeeRegistryAbi, deployProtocol, localClients, registerOperator, startAnvil, transferDsync, type Anvil, type Clients,
} from '@destra/contracts';
import { CommitteeReader } from '@destra/adapter-ethereum';
import { register as registerReport } from '../commands/report.ts';

const bin = fileURLToPath(new URL('../destra.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'destra-report-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI as a user runs it (child process), optionally with stdin. */
function cli(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
    child.stdin.end(stdin ?? '');
  });
}

/** The same command tree in this process, for the many failure cases (no start-up cost). */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((out += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((err += String(c)), true));
  const program = new Command('destra').exitOverride().configureOutput({ writeErr: (s) => void (err += s), writeOut: () => undefined });
  registerReport(program);
  let code = 0;
  try {
    await program.parseAsync(['node', 'destra', 'report', 'verify', ...args]);
    code = process.exitCode === 1 ? 1 : 0;
  } catch (x) {
    code = (x as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.exitCode = undefined;
    o.mockRestore();
    e.mockRestore();
  }
  return { code, out: out.trim(), err: err.trim() };
}

let seq = 0;
function save(obj: unknown): string {
  const p = join(dir, `r${seq++}.json`);
  writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return p;
}

const domain = new Uint8Array(32).fill(7);
function report(i: number, epoch = 1n): Uint8Array {
  return encodeReport({
    kind: ReportKind.OnDemand, domain, epoch, destination: anyDestination(), id: new Uint8Array(32).fill(i), modelHash: new Uint8Array(32).fill(3),
    inputHash: new Uint8Array(32).fill(i + 100), timestamp: 1_764_000_000n, round: 0n, output: [BigInt(i) * 1000n, -5n],
  });
}

/** The /v1/infer shape: the root is the report's leaf, signed by `sk`. */
function single(sk: SecretKey, r = report(1)) {
  const leaf = reportLeaf(r);
  const sig = sign(sk, rootSigningMessage(leaf));
  return {
    requestId: toHex(r.subarray(107, 139)), round: 0, epoch: 1, report: toHex(r), signature: toHex(sig), signatureEip2537: toHex(g1ToEip2537(sig)),
    root: toHex(leaf), proof: [] as string[], groupKey: toHex(publicKeyOf(sk)), signers: [1, 2, 3], latencyMs: 12,
  };
}

/** One result of a batch job: leaf `i` of a 13-report Merkle batch, its proof, the root and the root's signature. */
function batchResult(sk: SecretKey, i = 5, epoch = 1n) {
  const reports = Array.from({ length: 13 }, (_, k) => report(k + 1, epoch));
  const tree = buildMerkleTree(reports.map(reportLeaf));
  return {
    index: i, epoch: Number(epoch), report: toHex(reports[i]!), leaf: toHex(reportLeaf(reports[i]!)), proof: merkleProof(tree, i).map(toHex), root: toHex(tree.root),
    signature: toHex(sign(sk, rootSigningMessage(tree.root))), signers: [1, 2, 3],
  };
}

describe('destra report verify with a given key', () => {
  const sk = randomSecretKey();
  const key = toHex(publicKeyOf(sk));
  const other = toHex(publicKeyOf(randomSecretKey()));

  it('a valid /v1/infer report (child process): decoded fields, exit 0', async () => {
    const r = await cli(['report', 'verify', save(single(sk)), '--group-key', key]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/report: +single report/);
    expect(r.out).toMatch(/kind: +3 \(on-demand\)/);
    expect(r.out).toMatch(/epoch: +1\n/);
    expect(r.out).toMatch(/timestamp: +1764000000 \(2025-11-24T16:00:00.000Z\)/);
    expect(r.out).toMatch(/model hash: +0x(03){32}/);
    expect(r.out).toMatch(/input hash: +0x(65){32}/);
    expect(r.out).toMatch(/status: +OK/);
    expect(r.out).toMatch(/outputs: +\[1000, -5\]/);
    expect(r.out).toMatch(/destination: +any chain/);
    expect(r.out).toMatch(/valid: signature verifies under epoch 1's group key/);
    expect(r.err).toBe('');
  });

  it('a valid batch leaf, and the same from stdin (-) (child process)', async () => {
    const file = batchResult(sk);
    const r = await cli(['report', 'verify', save(file), '--group-key', key, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { valid: boolean; shape: string; root: string; decoded: { outputs: string[] } };
    expect(j).toMatchObject({ valid: true, shape: 'batch leaf 5 (Merkle proof of 4 levels)', root: file.root });
    expect(j.decoded.outputs).toEqual(['6000', '-5']);
    const s = await cli(['report', 'verify', '-', '--group-key', key], JSON.stringify(file));
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/valid: /);
    const bad = await cli(['report', 'verify', '-', '--group-key', key], '{"report": ');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^invalid \(malformed\): field '\(file\)': not JSON/);
    expect(bad.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('the NDJSON line of /v1/infer/batch (leaf index as `leaf`, row, seq, rangeId) verifies', async () => {
    const { index, leaf: _hash, ...rest } = batchResult(sk, 7);
    const line = { type: 'result', row: 107, seq: 1007, rangeId: `0x${'ab'.repeat(32)}`, leaf: index, ...rest, signatureEip2537: toHex(g1ToEip2537(fromHexSig(rest.signature))) };
    const r = await run([save(line), '--group-key', key]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/report: +batch leaf 7 \(Merkle proof of 4 levels\)/);
    expect((await run([save({ ...line, leaf: -1 }), '--group-key', key])).err).toMatch(/field 'leaf': expected a non-negative integer/);
  });

  it('every leaf of a batch verifies; a Request report with an EVM destination decodes its chain and contract', async () => {
    for (const i of [0, 12]) expect((await run([save(batchResult(sk, i)), '--group-key', key])).code).toBe(0);
    const r = encodeReport({
      kind: ReportKind.Request, domain, epoch: 1n, destination: evmDestination(31337n, new Uint8Array(20).fill(0xab)), id: new Uint8Array(32).fill(9),
      modelHash: new Uint8Array(32).fill(3), inputHash: new Uint8Array(32).fill(4), timestamp: 1_764_000_000n, round: 2n, output: [42n],
    });
    const v = await run([save(single(sk, r)), '--group-key', key]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/kind: +1 \(request answer\)/);
    expect(v.out).toMatch(/destination: +evm chain 31337, contract 0x(ab){20} \[evm\]/);
  });

  it('signature invalid under the epoch\'s key: another key, or a signature over another root', async () => {
    const r = await run([save(single(sk)), '--group-key', other]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^invalid \(signature\): signature invalid under epoch 1's group key 0x/);
    const swapped = { ...batchResult(sk), signature: single(sk).signature };
    expect((await run([save(swapped), '--group-key', key])).err).toMatch(/invalid \(signature\)/);
  });

  it('leaf ≠ keccak(0x00‖report): a file whose leaf is another report\'s', async () => {
    const f = { ...batchResult(sk), leaf: batchResult(sk, 6).leaf };
    const r = await run([save(f), '--group-key', key]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^invalid \(leaf\): leaf 0x[0-9a-f]{64} ≠ keccak256\(0x00 ‖ report\)/);
  });

  it('proof does not lead to root: a swapped report, a wrong sibling, a proof that runs past the root, an empty proof', async () => {
    const f = batchResult(sk);
    const otherReport = { ...f, report: batchResult(sk, 6).report, leaf: undefined };
    expect((await run([save(otherReport), '--group-key', key])).err).toMatch(/^invalid \(proof\): proof does not lead to root: after all 4 levels/);
    const wrongSibling = { ...f, proof: f.proof.map((p, i) => (i === 2 ? `0x${'11'.repeat(32)}` : p)) };
    expect((await run([save(wrongSibling), '--group-key', key])).err).toMatch(/invalid \(proof\)/);
    const s = single(sk);
    const tooLong = { ...s, proof: [`0x${'22'.repeat(32)}`] };
    expect((await run([save(tooLong), '--group-key', key])).err).toMatch(/it reached the root at level 0 and went on for 1 more/);
    const empty = { ...f, proof: [] };
    expect((await run([save(empty), '--group-key', key])).err).toMatch(/proof is empty, so the root must be the leaf/);
  });

  it("report's epoch ≠ batch epoch", async () => {
    const r = await run([save({ ...batchResult(sk), epoch: 2 }), '--group-key', key]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^invalid \(epoch-mismatch\): the report names epoch 1 but the file's \(batch\) epoch is 2/);
  });

  it('malformed files name the field', async () => {
    const s = single(sk);
    const cases: [unknown, RegExp][] = [
      ['[1,2]', /field '\(file\)': expected a JSON object/],
      [{ ...s, report: undefined }, /field 'report': missing/],
      [{ ...s, report: '0x1234' }, /field 'report': length 2 outside 222\.\.734/],
      [{ ...s, report: 'zz' }, /field 'report': expected even-length hex/],
      [{ ...s, report: toHex(report(1)).replace(/^0x02/, '0x07') }, /field 'report\.version': unsupported version 7/],
      [{ ...s, signature: undefined, signatureEip2537: undefined }, /field 'signature': missing/],
      [{ ...s, signature: `0x${'00'.repeat(47)}` }, /field 'signature': expected 48 or 96 bytes, got 47/],
      [{ ...s, signature: `0xc0${'00'.repeat(47)}` }, /field 'signature': not a valid curve point/],
      [{ ...s, signatureEip2537: toHex(g1ToEip2537(sign(sk, new Uint8Array([1])))) }, /field 'signatureEip2537': is another point than signature/],
      [{ ...s, proof: 'x' }, /field 'proof': expected an array/],
      [{ ...s, proof: [`0x${'00'.repeat(31)}`] }, /field 'proof\[0\]': expected 32 bytes, got 31/],
      [{ ...s, proof: Array.from({ length: 17 }, () => `0x${'00'.repeat(32)}`) }, /field 'proof': 17 levels, at most 16/],
      [{ ...s, root: 5 }, /field 'root': expected a hex string, got number/],
      [{ ...s, epoch: -1 }, /field 'epoch': expected a non-negative integer/],
      [{ ...s, index: 1.5 }, /field 'index': expected a non-negative integer/],
      [`{"report":"${'00'.repeat(600_000)}"}`, /field '\(file\)': more than 1048576 bytes: not a signed report/],
    ];
    for (const [file, want] of cases) {
      const r = await run([save(file as object), '--group-key', key]);
      expect(r.code, String(want)).toBe(1);
      expect(r.err, String(want)).toMatch(/^invalid \(malformed\): /);
      expect(r.err).toMatch(want);
    }
    expect((await run([join(dir, 'missing.json'), '--group-key', key])).err).toMatch(/^destra report verify: cannot read .*missing\.json/);
  });

  it('key sources: none, two at once, a bad --group-key; the embedded key only on request and says so', async () => {
    const p = save(single(sk));
    expect((await run([p])).err).toMatch(/^destra report verify: no group key source: give --rpc URL --registry ADDR/);
    expect((await run([p, '--group-key', key, '--node', 'http://127.0.0.1:1'])).err).toMatch(/give one group key source, not --node and --group-key/);
    expect((await run([p, '--group-key', `0x${'00'.repeat(96)}`])).err).toMatch(/^destra report verify: --group-key is not a valid G2 group key/);
    const t = await run([p, '--trust-embedded-key']);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/note: +the key came from the file: this shows only/);
    expect(t.out).toMatch(/valid: .*\(the file itself \(--trust-embedded-key\)\)/);
    // the embedded key of a forged file is its own: without the flag it is never used
    const forger = randomSecretKey();
    const forged = save(single(forger));
    expect((await run([forged, '--group-key', key])).err).toMatch(/invalid \(signature\)/);
    expect((await run([save({ ...single(sk), groupKey: undefined }), '--trust-embedded-key'])).err).toMatch(/the file carries no 'groupKey'/);
  });
});

describe('destra report verify with the key from a node (/v1/committee, /v1/epochs)', () => {
  const sk1 = randomSecretKey();
  const sk2 = randomSecretKey();
  let server: Server;
  let url: string;
  let committee: unknown;
  beforeAll(async () => {
    // A node's answers as docs/api.md defines them: epoch 2 now, the signed handover into epoch 2 held.
    const handover = encodeHandover({
      domain, oldEpoch: 1n, newEpoch: 2n, threshold: 1, committeeSize: 1, groupKey: publicKeyOfUncompressed(sk2), sharesRoot: new Uint8Array(32),
      membersRoot: new Uint8Array(32), payoutsRoot: new Uint8Array(32),
    });
    committee = { epoch: 2, threshold: 1, size: 1, groupKey: toHex(publicKeyOf(sk2)), members: [], aggregators: [] };
    const epochs = { epoch: 2, signedHandovers: [{ epoch: 2, handover: toHex(handover), signature: toHex(sign(sk1, handoverSigningMessage(handover))) }] };
    server = createServer((req, res) => {
      const body = req.url === '/v1/committee' ? committee : req.url === '/v1/epochs' ? epochs : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'NOT_FOUND', message: 'no route' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("the node's current epoch key; an epoch it does not know; its key for an earlier epoch is not the current one", async () => {
    const now = await run([save(batchResult(sk2, 3, 2n)), '--node', url]);
    expect(now.code).toBe(0);
    expect(now.out).toMatch(/valid: .*node http:\/\/127\.0\.0\.1:\d+ \/v1\/committee, epoch 2/);
    const ahead = await run([save(batchResult(sk2, 3, 3n)), '--node', url]);
    expect(ahead.err).toMatch(/^invalid \(epoch-unknown\): epoch 3 unknown: node .* is at epoch 2/);
    const earlier = await run([save(single(sk1)), '--node', url]);
    expect(earlier.err).toMatch(/^invalid \(epoch-unknown\): epoch 1 unknown to node .*: it is at epoch 2 and holds no handover into epoch 1/);
    // a report of epoch 2 signed by epoch 1's key is refused under epoch 2's key from the node
    expect((await run([save(batchResult(sk1, 3, 2n)), '--node', url])).err).toMatch(/invalid \(signature\)/);
  });

  it('a node that answers garbage or nothing is named', async () => {
    committee = { epoch: 'x' };
    expect((await run([save(single(sk1)), '--node', url])).err).toMatch(/^destra report verify: node .* \/v1\/committee has no valid 'epoch'/);
    committee = { epoch: 1, groupKey: '0x1234' };
    expect((await run([save(single(sk1)), '--node', url])).err).toMatch(/^destra report verify: node .* groupKey is not a valid G2 group key/);
    expect((await run([save(single(sk1)), '--node', 'http://127.0.0.1:1'])).err).toMatch(/^destra report verify: cannot reach node http:\/\/127\.0\.0\.1:1/);
  });
});

const fromHexSig = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), 'hex'));
const publicKeyOfUncompressed = (sk: SecretKey): Uint8Array => g2Uncompressed(decodeG2(publicKeyOf(sk)));

describe('destra report verify with the key from CommitteeRegistry (anvil)', () => {
  let anvil: Anvil;
  let registry: Address;
  let rpc: string;
  let genesis: LocalCommittee;
  let next: LocalCommittee;
  const client = (i: number): Clients => localClients(anvil.rpcUrl, anvil.privateKeys[i]!, anvil.chainId);
  const memberId = (a: Address) => hexToBytes(`0x${a.slice(2).padStart(64, '0')}` as Hex);
  /** A file signed by a committee (its combined threshold signature over the root). */
  const signedBy = (c: LocalCommittee, epoch: bigint) => {
    const r = report(4, epoch);
    const leaf = reportLeaf(r);
    return { report: toHex(r), root: toHex(leaf), proof: [], epoch: Number(epoch), signature: toHex(c.signMessage(rootSigningMessage(leaf))) };
  };

  beforeAll(async () => {
    anvil = await startAnvil();
    rpc = anvil.rpcUrl;
    const deployer = client(0);
    const deployed = await deployProtocol(deployer, { committeeSize: 3, minSelfBond: parseEther('1'), handoverGraceSec: 60n });
    registry = deployed.addresses.registry;
    const reader = new CommitteeReader(deployer.publicClient, registry);
    for (const i of [1, 2, 3]) {
      const c = client(i);
      const sk = randomSecretKey();
      await transferDsync(deployer, deployed.addresses, c.walletClient.account!.address, parseEther('10'));
      await registerOperator(c, deployed.addresses, vToHex(g2ToEip2537(publicKeyOf(sk))), vToHex(g1ToEip2537(provePossession(sk))), parseEther('10'));
    }
    genesis = await LocalCommittee.create(3, 2);
    const members = await reader.selectedCommittee(3);
    await tx(deployer, 'initGenesis', [genesis.groupKeyEip2537, 2, 3, vToHex(sharesRoot(genesis.publicSharesUncompressed)), vToHex(membersRoot(members.map(memberId)))]);
    next = await LocalCommittee.create(3, 2);
    const handover = encodeHandover({
      domain: hexToBytes(deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: 2, committeeSize: 3, groupKey: next.groupKeyUncompressed,
      sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: hexToBytes(await reader.membersRootOf(members)), payoutsRoot: hexToBytes(await reader.payoutsRootOf(members)),
    });
    await tx(deployer, 'handover', [vToHex(handover), vToHex(g1ToEip2537(genesis.signMessage(handoverSigningMessage(handover))))]);
    async function tx(c: Clients, functionName: string, args: unknown[]) {
      const hash = await c.walletClient.writeContract({ address: registry, abi: committeeRegistryAbi, functionName, args, account: c.walletClient.account!, chain: c.chain } as never);
      const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`${functionName} reverted`);
    }
  });
  afterAll(() => anvil?.stop());

  it("current epoch: valid with the registry's key; a report signed by the previous committee is refused under it", async () => {
    const r = await cli(['report', 'verify', save(signedBy(next, 2n)), '--rpc', rpc, '--registry', registry]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`valid: .*CommitteeRegistry ${registry} at ${rpc.replace(/[.]/g, '\\.')}, epoch 2`));
    expect((await run([save({ ...signedBy(genesis, 2n) }), '--rpc', rpc, '--registry', registry])).err).toMatch(/invalid \(signature\): signature invalid under epoch 2's/);
  });

  it('previous epoch in its grace: valid, with a note; epoch unknown; after the grace: retired', async () => {
    const prev = await run([save(signedBy(genesis, 1n)), '--rpc', rpc, '--registry', registry]);
    expect(prev.code).toBe(0);
    expect(prev.out).toMatch(/note: +epoch 1 is not current \(2\); the chain accepts its reports until/);
    expect((await run([save(signedBy(next, 3n)), '--rpc', rpc, '--registry', registry])).err).toMatch(/^invalid \(epoch-unknown\): epoch 3 unknown: CommitteeRegistry .* is at epoch 2/);
    expect((await run([save(signedBy(next, 0n)), '--rpc', rpc, '--registry', registry])).err).toMatch(/invalid \(epoch-unknown\): epoch 0 unknown/);
    const c = client(0);
    await c.publicClient.request({ method: 'evm_increaseTime' as never, params: [120] as never });
    await c.publicClient.request({ method: 'evm_mine' as never, params: [] as never });
    const retired = await run([save(signedBy(genesis, 1n)), '--rpc', rpc, '--registry', registry]);
    expect(retired.code).toBe(1);
    expect(retired.err).toMatch(/^invalid \(epoch-retired\): epoch 1 retired: epoch 2 was activated at .* and the 60 s handover grace ended at .*; the chain no longer accepts epoch 1's reports/);
  });

  it('an unreachable RPC or a registry that is not one is named; the environment variables are the default', async () => {
    const p = save(signedBy(next, 2n));
    expect((await run([p, '--rpc', 'http://127.0.0.1:1', '--registry', registry])).err).toMatch(/^destra report verify: cannot read CommitteeRegistry .* at http:\/\/127\.0\.0\.1:1: .*check --rpc and --registry/);
    expect((await run([p, '--rpc', rpc, '--registry', `0x${'12'.repeat(20)}`])).err).toMatch(/^destra report verify: cannot read CommitteeRegistry/);
    expect((await run([p, '--rpc', rpc])).err).toMatch(/needs both --rpc and --registry/);
    process.env.DESTRA_RPC_URL = rpc;
    process.env.DESTRA_REGISTRY = registry;
    try {
      expect((await run([p])).code).toBe(0);
    } finally {
      delete process.env.DESTRA_RPC_URL;
      delete process.env.DESTRA_REGISTRY;
    }
  });
});
