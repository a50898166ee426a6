// `npm run bench -- gas`: gas per contract operation on a real anvil (prague, EIP-2537 precompiles).
import { hexToBytes, parseEther, parseEventLogs, toHex, type Hex } from 'viem';
import { buildMerkleTree, encodeHandover, membersRoot, merkleProof, reportLeaf, sharesRoot } from '@destra/protocol';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { LocalCommittee, deployContract } from '../src-ts/index.ts';
import { committeeRegistryAbi, oracleRouterAbi, riskLendingMarketAbi } from '../src-ts/abi.ts';
import { canonicalInput, memberId, requestReport, setupFixture, write, type Fixture } from '../test/fixture.ts';

async function requestIds(f: Fixture, count: number, salt: number): Promise<{ id: Hex; input: Uint8Array }[]> {
  const out: { id: Hex; input: Uint8Array }[] = [];
  const router = f.deployed.addresses.router;
  for (let i = 0; i < count; i++) {
    const input = canonicalInput([BigInt(salt * 100_000 + i)]);
    const receipt = await write(f.clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(input), 0], 10n ** 15n);
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
    out.push({ id: ev!.args.requestId, input });
  }
  return out;
}

export async function run(): Promise<void> {
  const f = await setupFixture();
  const rows: BenchRow[] = [];
  const router = f.deployed.addresses.router;
  try {
    // BLS verification alone, measured inside the EVM (hash-to-G1 + one 2-pair PAIRING_CHECK)
    const harness = await deployContract(f.clients, 'BLSHarness');
    const msg = new Uint8Array(33).fill(1);
    const sig = f.committee.signRoot(msg.subarray(1));
    const [verifyGas] = (await f.clients.publicClient.readContract({ address: harness.address, abi: harness.abi, functionName: 'verifyGas', args: [f.committee.groupKeyEip2537, toHex(msg), sig] })) as [bigint, boolean];
    rows.push({ operation: 'BLS verify (execution only)', gas: Number(verifyGas), 'per report': '', goal: '≤ 121,000' });

    // fulfil one request with a consumer callback (the lending market)
    const market = (await deployContract(f.clients, 'RiskLendingMarket', [router, f.modelId])).address;
    const input = canonicalInput([1n, 2n, 3n]);
    const rq = await write(f.clients, market, riskLendingMarketAbi, 'requestRiskScore', [toHex(input)], 10n ** 15n);
    rows.push({ operation: 'request (via consumer)', gas: Number(rq.gasUsed), 'per report': '', goal: '' });
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: rq.logs, eventName: 'InferenceRequested' });
    const report = requestReport(f, ev!.args.requestId, input, [420_000n]);
    const one = await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(report), f.committee.signRoot(reportLeaf(report))]);
    rows.push({ operation: 'fulfil one (with callback)', gas: Number(one.gasUsed), 'per report': Number(one.gasUsed), goal: '' });

    // fulfil one callback-free request (the event is the delivery)
    const [plain] = await requestIds(f, 1, 999);
    const plainReport = requestReport(f, plain!.id, plain!.input, [7n]);
    const bare = await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(plainReport), f.committee.signRoot(reportLeaf(plainReport))]);
    rows.push({ operation: 'fulfil one (no callback)', gas: Number(bare.gasUsed), 'per report': Number(bare.gasUsed), goal: '' });

    // a failure report (status 3, no outputs): closes the request, credits fee less the processing fee
    const [failed] = await requestIds(f, 1, 998);
    const failureReport = requestReport(f, failed!.id, failed!.input, [], { status: 3 });
    const fail = await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(failureReport), f.committee.signRoot(reportLeaf(failureReport))]);
    rows.push({ operation: 'fulfil one failure report (credit refund)', gas: Number(fail.gasUsed), 'per report': Number(fail.gasUsed), goal: '' });

    for (const [size, withProofs] of [[1, false], [16, false], [256, false], [16, true], [256, true]] as const) {
      const reqs = await requestIds(f, size, size * (withProofs ? 7 : 1));
      const reports = reqs.map((r, i) => requestReport(f, r.id, r.input, [BigInt(i)]));
      const tree = buildMerkleTree(reports.map(reportLeaf));
      const proofs = withProofs ? reports.map((_, i) => merkleProof(tree, i).map((p) => toHex(p))) : [];
      const receipt = await write(f.clients, router, oracleRouterAbi, 'fulfillBatch', [toHex(tree.root), f.committee.signRoot(tree.root), reports.map((r) => toHex(r)), proofs], 0n, 60_000_000n);
      rows.push({
        operation: `fulfil batch of ${size} (${withProofs ? 'per-report proofs' : 'whole batch, root rebuilt'})`,
        gas: Number(receipt.gasUsed),
        'per report': Math.round(Number(receipt.gasUsed) / size),
        goal: size === 256 && !withProofs ? '≤ 15,000 per report' : '',
      });
    }

    // stake (first stake of a new operator: proof-of-possession check + key pointer)
    const { localClients } = await import('../src-ts/index.ts');
    const { g1ToEip2537, g2ToEip2537, provePossession, publicKeyOf, randomSecretKey } = await import('@destra/protocol');
    const c = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[7]!);
    const sk = randomSecretKey();
    const st = await write(c, f.deployed.addresses.registry, committeeRegistryAbi, 'stake', [toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk)))], parseEther('5'));
    rows.push({ operation: 'stake (new operator, PoP verified)', gas: Number(st.gasUsed), 'per report': '', goal: '' });

    // handover to a fresh DKG key
    const next = await LocalCommittee.create(f.committee.n, f.committee.t);
    const members = (await f.clients.publicClient.readContract({ address: f.deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'nextCommittee', args: [BigInt(f.committee.n)] })) as Hex[];
    const handover = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: next.t, committeeSize: next.n,
      groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(members.map((m) => memberId(m))),
    });
    const ho = await write(f.clients, f.deployed.addresses.registry, committeeRegistryAbi, 'handover', [toHex(handover), f.committee.signHandover(handover)]);
    rows.push({ operation: `handover (n=${next.n})`, gas: Number(ho.gasUsed), 'per report': '', goal: '' });
  } finally {
    await f.stop();
  }
  printTable('gas per operation (anvil, prague; transaction gas incl. 21k base and calldata unless noted)', rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
