// An off-chain client of a destra network: one signed inference from a node, checked against the
// committee's group key as CommitteeRegistry holds it; then a batch of rows, every result verified.
// Environment: DESTRA_NODE (a node's API), DESTRA_RPC_URL + DESTRA_ROUTER (Ethereum), DESTRA_MODEL.
import { createPublicClient, http, type Address } from 'viem';
import { DestraEthereumClient, inferBatch } from '@destra/adapter-ethereum';

const need = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name} (see docs/tutorials/offchain-client.md)`);
  return v;
};
const node = need('DESTRA_NODE');
const model = need('DESTRA_MODEL');
const client = new DestraEthereumClient({
  publicClient: createPublicClient({ transport: http(need('DESTRA_RPC_URL')) }),
  router: need('DESTRA_ROUTER') as Address,
});

// liquidation-risk's features, in manifest order: health factor, annual volatility %, horizon (days),
// log10 position USD, log10 liquidity USD, 30-day drift %, collateral correlation.
const position = [1.4, 60, 7, 5.5, 7, -10, 0.3];

// 1. One request: the node answers once the committee threshold-signed it.
const signed = await client.fetchSignedReport(node, { model, input: position });
const key = await client.groupKey(signed.epoch); // the epoch's key, from the chain: not from the node
const ok = client.verifyReportOffchain(signed.report, signed.signature, signed.proof, key.compressed);
console.log(`report ${signed.decoded.id} epoch ${signed.epoch} output [${signed.decoded.output.join(', ')}] signature valid: ${ok}`);
if (!ok) process.exit(1);

// 2. A batch: many rows in one job; the SDK checks every result's proof and root signature.
const rows = Array.from({ length: 8 }, (_, i) => [1 + i * 0.25, 60, 7, 5.5, 7, -10, 0.3]);
const batch = await inferBatch(node, { model, rows }, { groupKey: async (epoch) => (await client.groupKey(BigInt(epoch))).compressed });
console.log(`batch ${batch.jobId}: ${batch.results.length} rows, ${batch.verified} verified, ${batch.failed.length} failed`);
for (const r of batch.results) console.log(`  row ${r!.row}: health factor ${rows[r!.row]![0]} → risk ${r!.decoded.output[0]}`);
if (batch.verified !== rows.length) process.exit(1);
