// `npm run bench -- <suite...>`: runs the named benchmark suites (all when none is named).
const suites: Record<string, { module: string; about: string }> = {
  crypto: { module: '../protocol/bench/crypto.ts', about: 'sign, verify, batch-verify partials, combine, hash-to-G1, DKG' },
  gas: { module: '../contracts/bench/gas.ts', about: 'gas per contract operation on anvil' },
  'eth-relay': { module: '../adapters/ethereum/bench/relay.ts', about: 'Ethereum relay latency/gas and watcher throughput' },
  cu: { module: '../adapters/solana/bench/cu.ts', about: 'compute units per Solana program instruction' },
  inference: { module: '../oracle-node/bench/inference.ts', about: 'rows/s per model, batch sizes and threads' },
  node: { module: '../oracle-node/bench/node.ts', about: 'DKG over libp2p, on-demand latency, chain-request throughput' },
  e2e: { module: '../test/bench/e2e.ts', about: 'round latency and signed results/s over libp2p' },
  epoch: { module: '../test/bench/epoch.ts', about: 'live rotation with node processes: stake → new key active on both chains, DKG attempts, on-demand latency during the handover (DESTRA_EPOCH_BENCH_SIZES, default 7,16)' },
  product: { module: '../test/bench/product.ts', about: "the product at n=7 (DESTRA_PRODUCT_BENCH_N): `destra node start` and `destra aggregator start` processes driven over HTTP and the chain: /v1/infer p50/p99, batch API verified results/s, chain requests signed/s" },
  'models-fetch': { module: '../test/bench/models-fetch.ts', about: 'fetch + verify a model package by CID from 1 and 3 peers: the largest zoo model and a synthetic DESTRA_MODELS_FETCH_MB MiB package (default 64)' },
  chaos: { module: '../test/bench/chaos.ts', about: 'fault matrix at n=7 with node processes in network namespaces (loss, delay, partitions, kill -9, clock skew, Byzantine members, epoch rotation): lost, wrong accepted, p99, recovery after heal' },
  soak: { module: '../test/bench/soak.ts', about: 'steady load with periodic faults (`-- --minutes 30`): per-window answered/lost/p50/p99, process memory and file handles at start and end' },
  fuzz: { module: '../protocol/bench/fuzz.ts', about: 'decoders on mutated and random inputs: inputs/s and findings (DESTRA_FUZZ_RUNS, default 100000)' },
};

// Suite names first; from the first --option (or a `--` after a name) on, the suites' own options
// (`npm run bench -- soak -- --minutes 30`), which they read from process.argv.
const requested: string[] = [];
for (const a of process.argv.slice(2)) {
  if (a === '--' && requested.length === 0) continue;
  if (a.startsWith('--')) break;
  requested.push(a);
}
const unknown = requested.filter((s) => !(s in suites));
if (unknown.length > 0) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}. Known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
for (const name of requested.length > 0 ? requested : Object.keys(suites)) {
  const suite = suites[name]!;
  console.log(`\n# bench ${name}: ${suite.about}`);
  const mod = (await import(suite.module)) as { run: () => Promise<void> };
  await mod.run();
}
