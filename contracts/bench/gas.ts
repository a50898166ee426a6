// `npm run bench -- gas`: gas per contract operation on a real anvil (prague, EIP-2537 precompiles).
import { hexToBytes, maxUint256, parseEther, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ReportKind, anyDestination, buildMerkleTree, encodeHandover, encodeReport, evmDestination, feedId, g1ToEip2537, membersRoot, merkleProof, reportLeaf, rootSigningMessage,
  payoutsRoot, sharesRoot, signPartial,
} from '@destra/protocol';
import { printTable, type BenchRow } from '../../scripts/bench-table.ts';
import { FeedSource, LocalCommittee, delegateDsync, deployContract, feedArgs, localClients, payoutTable, transferDsync } from '../src-ts/index.ts';
import { blockScoresAbi, committeeRegistryAbi, delegatedStakingAbi, destraTokenAbi, feedRegistryAbi, feedStoreAbi, oracleRouterAbi, riskLendingMarketAbi } from '../src-ts/abi.ts';
import { canonicalInput, memberId, requestReport, setupFixture, write, type Fixture } from '../test/fixture.ts';

async function requestIds(f: Fixture, count: number, salt: number): Promise<{ id: Hex; input: Uint8Array; gasUsed: bigint }[]> {
  const out: { id: Hex; input: Uint8Array; gasUsed: bigint }[] = [];
  const router = f.deployed.addresses.router;
  for (let i = 0; i < count; i++) {
    const input = canonicalInput([BigInt(salt * 100_000 + i)]);
    const receipt = await write(f.clients, router, oracleRouterAbi, 'request', [f.modelId, toHex(input), 0], 10n ** 15n);
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: receipt.logs, eventName: 'InferenceRequested' });
    out.push({ id: ev!.args.requestId, input, gasUsed: receipt.gasUsed });
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
    await write(f.clients, f.deployed.addresses.token, destraTokenAbi, 'approve', [market, maxUint256]);
    const input = canonicalInput([1n, 2n, 3n]);
    const [marketValue] = (await f.clients.publicClient.readContract({ address: market, abi: riskLendingMarketAbi, functionName: 'quote' })) as [bigint, bigint];
    const rq = await write(f.clients, market, riskLendingMarketAbi, 'requestRiskScore', [toHex(input)], marketValue);
    rows.push({ operation: 'request (via consumer: DSYNC pulled + burned, fee + callback gas escrowed)', gas: Number(rq.gasUsed), 'per report': '', goal: '' });
    const [ev] = parseEventLogs({ abi: oracleRouterAbi, logs: rq.logs, eventName: 'InferenceRequested' });

    // direct requests from an EOA: the model's DSYNC burned with burnFrom (approved once), or with a permit
    const [direct] = await requestIds(f, 1, 998);
    rows.push({ operation: 'request with burn (EOA, approved router; DSYNC burnFrom, ETH fee escrowed)', gas: Number(direct!.gasUsed), 'per report': '', goal: '' });
    const p = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[9]!);
    const pAccount = privateKeyToAccount(f.anvil.privateKeys[9]!);
    await transferDsync(f.clients, f.deployed.addresses, pAccount.address, parseEther('10'));
    const deadline = (await f.clients.publicClient.getBlock()).timestamp + 3600n;
    const permitSig = await pAccount.signTypedData({
      domain: { name: 'Destra Sync', version: '1', chainId: Number(f.chainId), verifyingContract: f.deployed.addresses.token },
      types: { Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
      primaryType: 'Permit',
      message: { owner: pAccount.address, spender: router, value: parseEther('1'), nonce: 0n, deadline },
    });
    const withPermit = await write(p, router, oracleRouterAbi, 'requestWithPermit', [
      f.modelId, toHex(canonicalInput([77n])), 0, parseEther('1'), deadline, Number.parseInt(permitSig.slice(130, 132), 16), `0x${permitSig.slice(2, 66)}`, `0x${permitSig.slice(66, 130)}`,
    ], 10n ** 15n);
    rows.push({ operation: 'request with permit (EOA, ERC-2612 permit + burn in one tx)', gas: Number(withPermit.gasUsed), 'per report': '', goal: '' });

    // warm-up (not a row): the first fulfilment turns the stakers' fee counter from zero to non-zero
    const [warm] = await requestIds(f, 1, 997);
    const warmReport = requestReport(f, warm!.id, warm!.input, [7n]);
    await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(warmReport), f.committee.signRoot(reportLeaf(warmReport))]);

    const report = requestReport(f, ev!.args.requestId, input, [420_000n]);
    const one = await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(report), f.committee.signRoot(reportLeaf(report))]);
    rows.push({ operation: 'fulfil one (with callback; stakers owed the fee, relayer reimbursed the callback gas)', gas: Number(one.gasUsed), 'per report': Number(one.gasUsed), goal: '' });
    const [settled] = parseEventLogs({ abi: oracleRouterAbi, logs: one.logs, eventName: 'CallbackGasSettled' });

    // fulfil one callback-free request (the event is the delivery)
    const [plain] = await requestIds(f, 1, 999);
    const plainReport = requestReport(f, plain!.id, plain!.input, [7n]);
    const bare = await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(plainReport), f.committee.signRoot(reportLeaf(plainReport))]);
    rows.push({ operation: 'fulfil one (no callback)', gas: Number(bare.gasUsed), 'per report': Number(bare.gasUsed), goal: '' });
    // CALLBACK_GAS_OVERHEAD check: what the callback path costs the relayer beyond what it is reimbursed
    rows.push({
      operation: `callback gas not reimbursed (with − without callback − reimbursed ${settled!.args.gasUsed}; ≈ 0 if CALLBACK_GAS_OVERHEAD fits)`,
      gas: Number(one.gasUsed - bare.gasUsed - settled!.args.gasUsed), 'per report': '', goal: '',
    });

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

    // operator registration (proof-of-possession check + key pointer), then its first self-bond
    const { g2ToEip2537, provePossession, publicKeyOf, randomSecretKey } = await import('@destra/protocol');
    const { staking, token, registry } = f.deployed.addresses;
    const c = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[7]!);
    const sk = randomSecretKey();
    await transferDsync(f.clients, f.deployed.addresses, c.walletClient.account!.address, parseEther('5'));
    const reg = await write(c, registry, committeeRegistryAbi, 'registerOperator', [toHex(g2ToEip2537(publicKeyOf(sk))), toHex(g1ToEip2537(provePossession(sk)))]);
    rows.push({ operation: 'register operator (PoP verified, key pointer)', gas: Number(reg.gasUsed), 'per report': '', goal: '' });
    const bond = await delegateDsync(c, f.deployed.addresses, c.walletClient.account!.address, parseEther('5'));
    rows.push({ operation: 'self-bond (first, new pool)', gas: Number(bond.gasUsed), 'per report': '', goal: '' });
    const payout = await write(c, registry, committeeRegistryAbi, 'setSolanaPayout', [`0x${'5a'.repeat(32)}`]);
    rows.push({ operation: 'set Solana payout address (first)', gas: Number(payout.gasUsed), 'per report': '', goal: '' });
    // node info as `destra operator register` publishes it: X25519 key, Ed25519 peer id (38-byte multihash), 2 multiaddrs
    const nodeInfo = [`0x${'ab'.repeat(32)}`, `0x0024${'11'.repeat(36)}`, ['/ip4/203.0.113.7/tcp/4001', '/dns4/node1.operator.example/tcp/4001']];
    const info1 = await write(c, registry, committeeRegistryAbi, 'setNodeInfo', nodeInfo);
    rows.push({ operation: 'set node info (first: encryption key, 38-byte peer id, 2 multiaddrs)', gas: Number(info1.gasUsed), 'per report': '', goal: '' });
    const info2 = await write(c, registry, committeeRegistryAbi, 'setNodeInfo', [nodeInfo[0], nodeInfo[1], ['/ip4/203.0.113.8/tcp/4001', '/dns4/node1.operator.example/tcp/4002']]);
    rows.push({ operation: 'set node info (overwrite, same sizes)', gas: Number(info2.gasUsed), 'per report': '', goal: '' });

    // delegation by a holder to a committee member (pool already earning fees)
    const d = localClients(f.anvil.rpcUrl, f.anvil.privateKeys[8]!);
    const op = f.operators[1]!;
    await transferDsync(f.clients, f.deployed.addresses, d.walletClient.account!.address, parseEther('100'));
    await write(d, token, destraTokenAbi, 'approve', [staking, parseEther('100')]);
    const del = await write(d, staking, delegatedStakingAbi, 'delegate', [op.address, parseEther('50')]);
    rows.push({ operation: 'delegate (new delegator, pool synced)', gas: Number(del.gasUsed), 'per report': '', goal: '' });
    const del2 = await write(d, staking, delegatedStakingAbi, 'delegate', [op.address, parseEther('10')]);
    rows.push({ operation: 'delegate (top-up)', gas: Number(del2.gasUsed), 'per report': '', goal: '' });

    // fees from a fulfilment, then claims
    const [feeReq] = await requestIds(f, 1, 4242);
    const feeReport = requestReport(f, feeReq!.id, feeReq!.input, [1n]);
    await write(f.clients, router, oracleRouterAbi, 'fulfill', [toHex(feeReport), f.committee.signRoot(reportLeaf(feeReport))]);
    const claimD = await write(d, staking, delegatedStakingAbi, 'claimRewards', [op.address]);
    rows.push({ operation: 'claim rewards (delegator)', gas: Number(claimD.gasUsed), 'per report': '', goal: '' });
    const claimOp = await write(op.clients, staking, delegatedStakingAbi, 'claimRewards', [op.address]);
    rows.push({ operation: 'claim rewards (operator: commission + self-bond)', gas: Number(claimOp.gasUsed), 'per report': '', goal: '' });
    const unbond = await write(d, staking, delegatedStakingAbi, 'requestUnbond', [op.address, parseEther('20')]);
    rows.push({ operation: 'request unbond (delegator)', gas: Number(unbond.gasUsed), 'per report': '', goal: '' });

    // feeds: one window of k timed feeds under one signed root (FeedStore.updateFeeds: one pairing check),
    // and one block's root in BlockScores (any one of its transaction reports with the proof)
    const feedStore = f.deployed.addresses.feeds;
    const windowReports = (k: number, round: bigint) => Array.from({ length: k }, (_, i) => encodeReport({
      kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: feedId(`bench-feed-${i}`),
      modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: round, round, output: [BigInt(i + 1)],
    }));
    const single = windowReports(1, 10n)[0]!;
    const upd = await write(f.clients, feedStore, feedStoreAbi, 'updateFeed', [toHex(single), f.committee.signRoot(reportLeaf(single))]);
    rows.push({ operation: 'feed round (updateFeed, one report)', gas: Number(upd.gasUsed), 'per report': Number(upd.gasUsed), goal: '' });
    for (const [k, round] of [[4, 20n], [16, 30n]] as const) {
      const reports = windowReports(k, round);
      const tree = buildMerkleTree(reports.map(reportLeaf));
      const rx = await write(f.clients, feedStore, feedStoreAbi, 'updateFeeds', [toHex(tree.root), f.committee.signRoot(tree.root), reports.map((r) => toHex(r)), reports.map((_, i) => merkleProof(tree, i).map((p) => toHex(p)))]);
      rows.push({ operation: `feed window of ${k} (updateFeeds, one signature)`, gas: Number(rx.gasUsed), 'per report': Math.round(Number(rx.gasUsed) / k), goal: '' });
    }
    const gov = await f.governance();
    await write(gov, f.deployed.addresses.feedRegistry, feedRegistryAbi, 'addFeed', ['bench-blocks', f.modelId, ...feedArgs({ name: 'bench-blocks', model: f.modelId, source: FeedSource.BlockTransactions, confirmations: 2 })]);
    const txLeaves = Array.from({ length: 150 }, (_, i) => encodeReport({
      kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: evmDestination(f.chainId, hexToBytes(f.deployed.addresses.blockScores)), id: feedId('bench-blocks'),
      modelHash: new Uint8Array(32), inputHash: new Uint8Array(32).fill(i), timestamp: 1n, round: 1_000n, output: [BigInt(i)],
    }));
    const blockTree = buildMerkleTree(txLeaves.map(reportLeaf));
    const scored = await write(f.clients, f.deployed.addresses.blockScores, blockScoresAbi, 'submitRoot', [toHex(blockTree.root), f.committee.signRoot(blockTree.root), toHex(txLeaves[0]!), merkleProof(blockTree, 0).map((p) => toHex(p))]);
    rows.push({ operation: 'block root (BlockScores.submitRoot, 150 transactions)', gas: Number(scored.gasUsed), 'per report': Math.round(Number(scored.gasUsed) / 150), goal: '' });

    // equivocation slash: two partials by one member for one (id, round, epoch, kind)
    const feed = (out: bigint) => encodeReport({
      kind: ReportKind.Feed, domain: hexToBytes(f.deployed.domain), epoch: 1n, destination: anyDestination(), id: feedId('bench'),
      modelHash: new Uint8Array(32), inputHash: new Uint8Array(32), timestamp: 1n, round: 1n, output: [out],
    });
    const [ra, rb] = [feed(1n), feed(2n)];
    const partial = (r: Uint8Array) => toHex(g1ToEip2537(signPartial(f.committee.share(1), rootSigningMessage(reportLeaf(r))).signature));
    const shares = toHex(Uint8Array.from(f.committee.publicSharesUncompressed.flatMap((s) => [...s])));
    const slash = await write(f.clients, registry, committeeRegistryAbi, 'slashEquivocation', [1n, 1, shares, f.members, toHex(ra), partial(ra), toHex(rb), partial(rb)]);
    rows.push({ operation: `slash equivocation (n=${f.committee.n}: 2 share verifies, pool cut, burn)`, gas: Number(slash.gasUsed), 'per report': '', goal: '' });

    // handover to a fresh DKG key
    const next = await LocalCommittee.create(f.committee.n, f.committee.t);
    const members = (await f.clients.publicClient.readContract({ address: f.deployed.addresses.registry, abi: committeeRegistryAbi, functionName: 'nextCommittee', args: [BigInt(f.committee.n)] })) as Hex[];
    const handover = encodeHandover({
      domain: hexToBytes(f.deployed.domain), oldEpoch: 1n, newEpoch: 2n, threshold: next.t, committeeSize: next.n,
      groupKey: next.groupKeyUncompressed, sharesRoot: sharesRoot(next.publicSharesUncompressed), membersRoot: membersRoot(members.map((m) => memberId(m))),
      payoutsRoot: payoutsRoot(await payoutTable(f.clients.publicClient, f.deployed.addresses.registry, members as Address[])),
    });
    const ho = await write(f.clients, f.deployed.addresses.registry, committeeRegistryAbi, 'handover', [toHex(handover), f.committee.signHandover(handover)]);
    rows.push({ operation: `handover (n=${next.n})`, gas: Number(ho.gasUsed), 'per report': '', goal: '' });
  } finally {
    await f.stop();
  }
  printTable('gas per operation (anvil, prague; transaction gas incl. 21k base and calldata unless noted)', rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
