// Requester SDK against a real anvil: request → committee-signed report → fulfil → waitForResult, plus
// on-demand reports fetched from a node's HTTP API and verified off and on chain.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, createTestClient, hexToBytes, http, keccak256, parseEther, toHex, type Hex } from 'viem';
import { delegateDsync, destraTokenAbi, oracleRouterAbi, registerOperator, transferDsync } from '@destra/contracts';
import {
  ReportKind, ReportStatus, anyDestination, encodeReport, g1ToEip2537, g2ToEip2537, inputHash, merkleRoot, provePossession, publicKeyOf, randomSecretKey, reportLeaf,
} from '@destra/protocol';
import {
  CommitteeReader, DestraEthereumClient, FulfillmentSubmitter, NodeResponseError, ResultTimeoutError, TransactionRejectedError, AdapterConfigError,
  encodeInput,
} from '../src/index.ts';
import { MODEL_HASH, MODEL_NAME, answerReport, setupChain, signReport, signRoot, write, type ChainFixture } from './fixture.ts';

let f: ChainFixture;
let client: DestraEthereumClient;
let submitter: FulfillmentSubmitter;

beforeAll(async () => {
  f = await setupChain();
  const requester = f.account(5);
  client = new DestraEthereumClient({ publicClient: requester.publicClient, walletClient: requester.walletClient, router: f.deployed.addresses.router });
  const relayer = f.account(6);
  submitter = new FulfillmentSubmitter({ publicClient: relayer.publicClient, walletClient: relayer.walletClient, router: f.deployed.addresses.router });
});
afterAll(() => f?.stop());

describe('DestraEthereumClient', () => {
  it('round-trips request → signed report → fulfil → waitForResult', async () => {
    const input = encodeInput([1_500_000n, -250_000n]);
    const token = f.deployed.addresses.token;
    const supply = () => f.clients.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'totalSupply' });
    const supplyBefore = await supply();
    const sent = await client.request({ modelId: MODEL_NAME, input });
    expect(sent.requestId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(sent.fee).toBe(10n ** 15n);
    // the requester had no DSYNC allowance: the client approved the router, then the request burned 1 DSYNC
    expect(sent).toMatchObject({ burn: parseEther('1'), value: 10n ** 15n, dsyncAuth: 'approve' });
    expect(supplyBefore - (await supply())).toBe(parseEther('1'));
    expect(await f.clients.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'allowance', args: [f.account(5).walletClient.account!.address, f.deployed.addresses.router] })).toBe(parseEther('99'));
    const waiting = client.waitForResult(sent.requestId, { timeoutMs: 20_000, pollIntervalMs: 50 });
    const report = answerReport(f, { requestId: sent.requestId, modelHash: MODEL_HASH, input }, [731_000n, -42n]);
    const res = await submitter.fulfill(report, signReport(f, report));
    expect(res.status).toBe('submitted');
    const result = await waiting;
    expect(result.output).toEqual([731_000n, -42n]);
    expect(result.txHash).toBe(res.txHash);
    expect(bytesToHex(result.reportBytes)).toBe(bytesToHex(report));
    expect(result.report.kind).toBe(ReportKind.Request);
  });

  it('returns a failure report as a failed result naming its status', async () => {
    const input = encodeInput([10n ** 15n]);
    const sent = await client.request({ modelId: MODEL_NAME, input });
    const waiting = client.waitForResult(sent.requestId, { timeoutMs: 20_000, pollIntervalMs: 50 });
    const report = answerReport(f, { requestId: sent.requestId, modelHash: MODEL_HASH, input }, [], { status: ReportStatus.InputRange });
    const res = await submitter.fulfill(report, signReport(f, report));
    expect(res.status).toBe('submitted');
    const result = await waiting;
    expect(result).toMatchObject({ failed: true, status: ReportStatus.InputRange, statusName: 'INPUT_RANGE', output: [], callbackSucceeded: false, txHash: res.txHash });
    expect(bytesToHex(result.reportBytes)).toBe(bytesToHex(report));
    // the relayer sees it settled and does not send it again
    expect(await submitter.isFulfilled(sent.requestId)).toBe(true);
    expect((await submitter.fulfill(report, signReport(f, report))).status).toBe('already-fulfilled');
    // an answer reads OK
    const okInput = encodeInput([5n]);
    const ok = await client.request({ modelId: MODEL_NAME, input: okInput });
    const answer = answerReport(f, { requestId: ok.requestId, modelHash: MODEL_HASH, input: okInput }, [5n]);
    await submitter.fulfill(answer, signReport(f, answer));
    expect(await client.waitForResult(ok.requestId, { timeoutMs: 5_000 })).toMatchObject({ failed: false, status: 0, statusName: 'OK', output: [5n] });
  });

  it('finds its report inside a fulfilled batch', async () => {
    const inputs = [encodeInput([1n]), encodeInput([2n]), encodeInput([3n])];
    const ids: Hex[] = [];
    for (const input of inputs) ids.push((await client.request({ modelId: f.modelId, input })).requestId);
    const reports = ids.map((id, i) => answerReport(f, { requestId: id, modelHash: MODEL_HASH, input: inputs[i]! }, [BigInt(100 + i)]));
    const root = merkleRoot(reports.map(reportLeaf));
    const res = await submitter.fulfillBatch({ reports, signature: signRoot(f, root) });
    expect(res.status).toBe('submitted');
    const result = await client.waitForResult(ids[1]!, { timeoutMs: 5_000 });
    expect(result.output).toEqual([101n]);
  });

  it('finds a result from another client instance by scanning ranges newest first', async () => {
    const input = encodeInput([9n]);
    const sent = await client.request({ modelId: MODEL_NAME, input });
    const report = answerReport(f, { requestId: sent.requestId, modelHash: MODEL_HASH, input }, [99n]);
    await submitter.fulfill(report, signReport(f, report));
    const fresh = new DestraEthereumClient({ publicClient: f.clients.publicClient, router: f.deployed.addresses.router });
    const result = await fresh.waitForResult(sent.requestId, { maxBlockRange: 2n, timeoutMs: 5_000 });
    expect(result.output).toEqual([99n]);
    expect(result.blockNumber).toBeGreaterThan(sent.blockNumber);
  });

  it('reports a refunded request instead of waiting for it', async () => {
    const sent = await client.request({ modelId: MODEL_NAME, input: [8n] });
    const test = createTestClient({ mode: 'anvil', chain: f.clients.chain, transport: http(f.anvil.rpcUrl) });
    await test.increaseTime({ seconds: 3_601 });
    await test.mine({ blocks: 1 });
    const a = f.account(5);
    const hash = await a.walletClient.writeContract({ address: f.deployed.addresses.router, abi: oracleRouterAbi, functionName: 'refund', args: [sent.requestId], account: a.walletClient.account!, chain: a.chain });
    await f.clients.publicClient.waitForTransactionReceipt({ hash });
    await expect(client.waitForResult(sent.requestId, { timeoutMs: 2_000 })).rejects.toThrow(/was refunded/);
  });

  it('pays the DSYNC burn with a permit (one transaction) and reports a requester without DSYNC clearly', async () => {
    const a = f.account(7);
    const permitClient = new DestraEthereumClient({ publicClient: a.publicClient, walletClient: a.walletClient, router: f.deployed.addresses.router });
    const token = f.deployed.addresses.token;
    const me = a.walletClient.account!.address;
    const nonceBefore = await f.clients.publicClient.getTransactionCount({ address: me });
    const sent = await permitClient.request({ modelId: MODEL_NAME, input: [11n], dsyncAuth: 'permit' });
    expect(sent).toMatchObject({ burn: parseEther('1'), dsyncAuth: 'permit' });
    expect(await f.clients.publicClient.getTransactionCount({ address: me })).toBe(nonceBefore + 1); // no approval transaction
    expect(await f.clients.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'allowance', args: [me, f.deployed.addresses.router] })).toBe(0n);
    // without the client's help the router refuses, with a decoded error and a hint
    const none = permitClient.request({ modelId: MODEL_NAME, input: [12n], dsyncAuth: 'none' });
    await expect(none).rejects.toMatchObject({ errorName: 'ERC20InsufficientAllowance' });
    await expect(none).rejects.toThrow(/approve the router/);
    // an account holding no DSYNC is told so before anything is sent
    const poor = f.account(8);
    const held = await f.clients.publicClient.readContract({ address: token, abi: destraTokenAbi, functionName: 'balanceOf', args: [poor.walletClient.account!.address] });
    await write(poor, token, destraTokenAbi, 'transfer', [f.clients.walletClient.account!.address, held]);
    const poorClient = new DestraEthereumClient({ publicClient: poor.publicClient, walletClient: poor.walletClient, router: f.deployed.addresses.router });
    await expect(poorClient.request({ modelId: MODEL_NAME, input: [13n] })).rejects.toThrow(/holds 0 DSYNC/);
  });

  it('a callback request prepays its gas; the requester pulls the unused part back after the answer', async () => {
    // an EOA requester with a callback limit: no code runs, so nearly all the prepayment comes back
    const q = await client.quote(MODEL_NAME, 100_000);
    const cap = await f.clients.publicClient.readContract({ address: f.deployed.addresses.router, abi: oracleRouterAbi, functionName: 'callbackGasPrice' });
    const overhead = await f.clients.publicClient.readContract({ address: f.deployed.addresses.router, abi: oracleRouterAbi, functionName: 'CALLBACK_GAS_OVERHEAD' });
    expect(q.value).toBe(10n ** 15n + (100_000n + overhead) * cap);
    const input = encodeInput([21n]);
    const sent = await client.request({ modelId: MODEL_NAME, input, callbackGasLimit: 100_000 });
    expect(sent.value).toBe(q.value);
    expect(sent.fee).toBe(10n ** 15n);
    const report = answerReport(f, { requestId: sent.requestId, modelHash: MODEL_HASH, input }, [1n]);
    await submitter.fulfill(report, signReport(f, report));
    const back = await client.refund(sent.requestId);
    expect(back.amount).toBeGreaterThan(0n);
    expect(back.amount).toBeLessThan(q.value - sent.fee);
    await expect(client.refund(sent.requestId)).rejects.toMatchObject({ errorName: 'NothingToRefund' });
  });

  it('sends concurrent requests from one account', async () => {
    const sent = await Promise.all([1n, 2n, 3n, 4n, 5n].map((v) => client.request({ modelId: MODEL_NAME, input: [v] })));
    expect(new Set(sent.map((s) => s.requestId)).size).toBe(5);
  });

  it('times out with a typed error when nobody answers', async () => {
    const sent = await client.request({ modelId: MODEL_NAME, input: [7n] });
    await expect(client.waitForResult(sent.requestId, { timeoutMs: 300, pollIntervalMs: 50 })).rejects.toBeInstanceOf(ResultTimeoutError);
  });

  it('rejects bad requests with typed errors before and on chain', async () => {
    await expect(client.request({ modelId: MODEL_NAME, input: new Uint8Array(7) })).rejects.toBeInstanceOf(AdapterConfigError);
    const low = client.request({ modelId: MODEL_NAME, input: [1n], fee: 1n });
    await expect(low).rejects.toBeInstanceOf(TransactionRejectedError);
    await expect(low).rejects.toMatchObject({ errorName: 'FeeTooLow' });
    // raised by the ModelRegistry inside request(): decoded because the router's ABI declares it
    const unknown = client.request({ modelId: 'missing.destra', input: [1n] });
    await expect(unknown).rejects.toMatchObject({ errorName: 'UnknownModel' });
    await expect(unknown).rejects.toThrow(/register the model/);
    await expect(client.waitForResult(keccak256('0x1234'))).rejects.toThrow(/no request/);
  });

  it('reads the committee: epoch, group key, params', async () => {
    const reader: CommitteeReader = await client.committee();
    expect(await reader.currentEpoch()).toBe(1n);
    const key = await reader.groupKey();
    expect(key.eip2537).toBe(f.committee.groupKeyEip2537);
    expect(bytesToHex(key.compressed)).toBe(bytesToHex(f.committee.groupKey));
    const info = await reader.epochInfo();
    expect(info).toMatchObject({ epoch: 1n, threshold: 2, committeeSize: 3 });
    expect(info.activatedAt).toBeGreaterThan(0n);
    const params = await reader.params();
    expect(params).toMatchObject({ committeeSize: 3, minSelfBond: 10n ** 18n, handoverGrace: 300n, domain: f.deployed.domain });
    expect(params.staking.toLowerCase()).toBe(f.deployed.addresses.staking.toLowerCase());
    await expect(reader.groupKey(9n)).rejects.toThrow();
  });

  it('reads operators, stakes and the selected committee', async () => {
    const reader = await client.committee();
    const stakes = [parseEther('3'), parseEther('5')];
    const addrs: `0x${string}`[] = [];
    for (const [i, value] of stakes.entries()) {
      const op = f.account(3 + i);
      const sk = randomSecretKey();
      await transferDsync(f.clients, f.deployed.addresses, op.walletClient.account!.address, value);
      await registerOperator(op, f.deployed.addresses, toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk))), value);
      addrs.push(op.walletClient.account!.address);
    }
    // a delegation counts towards the operator's stake (and ranking), not its self-bond
    const delegator = f.account(5);
    await transferDsync(f.clients, f.deployed.addresses, delegator.walletClient.account!.address, parseEther('1'));
    await delegateDsync(delegator, f.deployed.addresses, addrs[0]!, parseEther('1'));
    const ops = await reader.operators();
    expect(ops.map((o) => [o.address, o.stake, o.selfBond, o.delegated, o.registered])).toEqual([
      [addrs[0], stakes[0]! + parseEther('1'), stakes[0], parseEther('1'), true],
      [addrs[1], stakes[1], stakes[1], 0n, true],
    ]);
    expect((await reader.operator(addrs[1]!)).unbonding).toBe(0n);
    expect(await reader.selectedCommittee()).toEqual([addrs[1], addrs[0]]); // top stake first
    expect((await reader.params()).totalBonded).toBe(stakes[0]! + stakes[1]! + parseEther('1'));
    // Genesis was set with an empty member list in this fixture.
    expect(await reader.isEpochMembership([])).toBe(true);
    expect(await reader.isEpochMembership(addrs)).toBe(false);
  });
});

describe('on-demand reports from a node HTTP API', () => {
  let server: Server;
  let url = '';
  let respond: (body: { model: string; input: string }) => { status: number; body: unknown };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/infer') {
          res.writeHead(404).end();
          return;
        }
        const out = respond(JSON.parse(raw));
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(typeof out.body === 'string' ? out.body : JSON.stringify(out.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** What a node signs for a caller of POST /v1/infer: a kind-3 report for any chain. */
  function onDemand(input: string, epoch = 1n) {
    const report = encodeReport({
      kind: ReportKind.OnDemand, domain: hexToBytes(f.deployed.domain), epoch, destination: anyDestination(),
      id: hexToBytes(keccak256(toHex(`on-demand:${input}`))), modelHash: hexToBytes(MODEL_HASH), inputHash: inputHash(hexToBytes(input as Hex)),
      timestamp: 1_764_000_000n, round: 0n, output: [123_456n],
    });
    const leaf = reportLeaf(report);
    return { report: bytesToHex(report), signature: bytesToHex(signReport(f, report)), root: bytesToHex(leaf), proof: [], epoch: Number(epoch) };
  }

  it('fetches, verifies off chain and with the router', async () => {
    respond = (b) => ({ status: 200, body: onDemand(b.input) });
    const signed = await client.fetchSignedReport(url, { model: MODEL_NAME, input: encodeInput([5n]) });
    expect(signed.decoded.output).toEqual([123_456n]);
    const key = await client.groupKey();
    expect(client.verifyReportOffchain(signed.report, signed.signature, signed.proof, key.eip2537)).toBe(true);
    expect(client.verifyReportOffchain(signed.report, signed.signature, signed.proof, key.compressed)).toBe(true);
    expect(await client.submitOnDemand(signed)).toBe(true);
    // A tampered report must fail both checks.
    const tampered = Uint8Array.from(signed.report);
    tampered[tampered.length - 1]! ^= 1;
    expect(client.verifyReportOffchain(tampered, signed.signature, signed.proof, key.compressed)).toBe(false);
    expect(await client.submitOnDemand({ ...signed, report: tampered, root: reportLeaf(tampered) })).toBe(false);
  });

  it('rejects error statuses and malformed bodies with NodeResponseError', async () => {
    respond = () => ({ status: 503, body: { error: 'NO_KEY_SHARE', message: 'DKG not finished' } });
    await expect(client.fetchSignedReport(url, { model: MODEL_NAME, input: '0x01' })).rejects.toThrow(/503 NO_KEY_SHARE/);
    respond = () => ({ status: 200, body: 'not json' });
    await expect(client.fetchSignedReport(url, { model: MODEL_NAME, input: '0x01' })).rejects.toBeInstanceOf(NodeResponseError);
    respond = (b) => ({ status: 200, body: { ...onDemand(b.input), signature: '0x1234' } });
    await expect(client.fetchSignedReport(url, { model: MODEL_NAME, input: '0x01' })).rejects.toThrow(/signature must be 48 bytes/);
    respond = (b) => ({ status: 200, body: { ...onDemand(b.input), epoch: 2 } });
    await expect(client.fetchSignedReport(url, { model: MODEL_NAME, input: '0x01' })).rejects.toThrow(/epoch/);
    respond = () => ({ status: 200, body: 'x'.repeat(300_000) });
    await expect(client.fetchSignedReport(url, { model: MODEL_NAME, input: '0x01' })).rejects.toThrow(/bytes/);
    await expect(client.fetchSignedReport('http://127.0.0.1:1', { model: MODEL_NAME, input: '0x01' })).rejects.toThrow(/cannot reach node/);
  });
});
