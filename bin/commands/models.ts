// `destra models list` and `destra models check`: the model zoo and the proof that every execution
// configuration yields bit-identical canonical outputs (docs/determinism.md).
// `destra models publish | fetch | ls`: model packages by content address (docs/models.md).
import { Command, InvalidArgumentError } from 'commander';
import { loadModels, MODELS_DIR } from '@destra/models';

// Loaded when a package command runs: libp2p, Helia and viem stay out of every other `destra` command.
const ops = () => import('../../oracle-node/src/models/commands.ts');
const jsonLine = async (v: unknown): Promise<string> => (await import('@destra/adapter-ethereum/cli')).jsonLine(v);
// ONNX Runtime loads only for `models check`.
const inference = async () => ({ ...(await import('../../oracle-node/src/inference/check.ts')), ...(await import('../../oracle-node/src/inference/session.ts')) });
import { printTable } from '../../scripts/bench-table.ts';
import { cliAction } from '../errors.ts';
import { registerEncode } from './models-encode.ts';

function intList(name: string, min: number, max: number) {
  return (v: string): number[] => {
    const xs = v.split(',').map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((n) => !Number.isInteger(n) || n < min || n > max)) throw new InvalidArgumentError(`${name} must be a comma-separated list of integers in ${min}..${max}`);
    return xs;
  };
}

function backendList(v: string): ('cpu' | 'cuda')[] {
  const xs = v.split(',').map((s) => s.trim().toLowerCase());
  if (xs.length === 0 || xs.some((x) => x !== 'cpu' && x !== 'cuda')) throw new InvalidArgumentError('--backends must be a comma-separated list of cpu, cuda');
  return xs as ('cpu' | 'cuda')[];
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

function metricSummary(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .filter(([k, v]) => typeof v === 'number' && k !== 'heldOutRows')
    .slice(0, 3)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The one error style (bin/errors.ts): `destra models <cmd>: what was wrong. what to do`, exit code 1. */
function action<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return cliAction(body);
}

const storeOptions = (c: Command): Command =>
  c
    .option('--config <file>', "the node's config (its models.ipfs: store directory, registry, chain)")
    .option('--store <dir>', 'the model store directory (default: from --config, <dataDir>/ipfs)')
    .option('--registry <address>', 'ModelRegistry address (default: from --config)')
    .option('--rpc <url>', 'JSON-RPC URL of the chain holding ModelRegistry (default: from --config)');

/** Submits DestraGovernor.propose(target, data, description) as the account in --key-env/--keystore. */
async function submitProposal(rpc: string, governor: `0x${string}`, p: { target: `0x${string}`; data: `0x${string}`; description: string }, signer: { keyEnv?: string; keystore?: string; passwordEnv: string }) {
  const [{ createPublicClient, createWalletClient, decodeEventLog, http }, { destraGovernorAbi }, { loadSigner }, { ModelCommandError }] = await Promise.all([
    import('viem'), import('@destra/contracts'), import('@destra/adapter-ethereum'), ops(),
  ]);
  const source = signer.keystore ? { keystore: signer.keystore, password: { env: signer.passwordEnv } } : signer.keyEnv ? { keyEnv: signer.keyEnv } : undefined;
  if (!source) throw new ModelCommandError('--propose sends a transaction: give the proposer with --key-env <VAR> or --keystore <file>');
  const probe = createPublicClient({ transport: http(rpc) });
  const id = await probe.getChainId();
  const chain = { id, name: `chain-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpc] } } } as import('viem').Chain;
  const publicClient = createPublicClient({ chain, transport: http(rpc), pollingInterval: 250 });
  const wallet = createWalletClient({ chain, transport: http(rpc), account: await loadSigner(source) });
  const { request } = await publicClient
    .simulateContract({ address: governor, abi: destraGovernorAbi, functionName: 'propose', args: [p.target, p.data, p.description], account: wallet.account })
    .catch((e: Error) => {
      throw new ModelCommandError(`the governor refused the proposal: ${e.message.split('\n')[0]}; the proposer needs voting power (bonded DSYNC)`);
    });
  const txHash = await wallet.writeContract(request);
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
  for (const log of receipt.logs) {
    try {
      const ev = decodeEventLog({ abi: destraGovernorAbi, data: log.data, topics: log.topics });
      if (ev.eventName === 'ProposalCreated') return { proposalId: (ev.args as { id: bigint }).id, txHash, voteEnd: (ev.args as { voteEnd: bigint }).voteEnd };
    } catch {
      /* another contract's log */
    }
  }
  throw new ModelCommandError(`propose (tx ${txHash}) emitted no ProposalCreated event; check --governor is DestraGovernor`);
}

export function register(program: Command): void {
  const models = program.command('models').description('the ONNX model zoo: list, check determinism; model packages by CID: publish, fetch, ls');
  registerEncode(models);

  storeOptions(models.command('publish <dir>'))
    .description("add a model directory (manifest.json + its ONNX file) to the node's store as one UnixFS package; print its CID and the governance proposal that registers it")
    .option('--name <name>', 'registered name, ENS-style (default: the manifest name), e.g. liquidation-risk.destra')
    .option('--version <n>', 'registration version (default: the registry\'s current version + 1)', intArg('--version', 1, 2 ** 32 - 1))
    .option('--governor <address>', 'DestraGovernor address (with --propose: submit the proposal)')
    .option('--propose', 'submit the proposal to the governor (needs --governor, --rpc and a proposer account)')
    .option('--key-env <name>', "environment variable holding the proposer's private key")
    .option('--keystore <file>', "the proposer's V3 keystore")
    .option('--password-env <name>', 'environment variable holding the keystore password', 'DESTRA_ETH_PASSWORD')
    .action(
      action(async (dir: string, o: { config?: string; store?: string; registry?: string; rpc?: string; name?: string; version?: number; governor?: `0x${string}`; propose?: boolean; keyEnv?: string; keystore?: string; passwordEnv: string }) => {
        const { publish, resolve: resolveStore, ModelCommandError } = await ops();
        const out = await publish(dir, o);
        let submitted: unknown;
        if (o.propose) {
          if (!out.proposal || !o.rpc && !o.config) throw new ModelCommandError('--propose needs the registry and chain: --registry and --rpc (or --config)');
          if (!o.governor) throw new ModelCommandError('--propose needs --governor <DestraGovernor address>');
          const rpc = resolveStore(o).rpc!;
          submitted = await submitProposal(rpc, o.governor, out.proposal, o);
        }
        process.stdout.write(`${await jsonLine({ ...out, ...(submitted ? { submitted } : {}) })}\n`);
        if (!out.proposal) process.stderr.write('note: no --registry given: register the CID with ModelRegistry.setModelPackage through governance (docs/models.md)\n');
      }),
    );

  storeOptions(models.command('fetch <nameOrCid>'))
    .description("make the node's store hold a registered model (by name) or a package (by CID): verified from the store, or fetched from the registered operators as this node (run it while the node is stopped)")
    .option('--timeout <ms>', 'give up after this long', intArg('--timeout', 1000, 3_600_000), 120_000)
    .option('--password-env <name>', 'environment variable holding the operator keystore password (default: the config\'s)')
    .action(
      action(async (target: string, o: { config?: string; store?: string; registry?: string; rpc?: string; timeout: number; passwordEnv?: string }) => {
        const out = await (await ops()).fetchModel(target, { ...o, timeoutMs: o.timeout });
        process.stdout.write(`${await jsonLine(out)}\n`);
      }),
    );

  storeOptions(models.command('ls'))
    .description("registered models (ModelRegistry) beside the store's packages: CID, registered or removed, pinned here or missing")
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (o: { config?: string; store?: string; registry?: string; rpc?: string; json?: boolean }) => {
        const rows = await (await ops()).list(o);
        if (o.json) {
          process.stdout.write(`${await jsonLine(rows)}\n`);
          return;
        }
        printTable('models', rows.map((r) => ({ name: r.name, version: r.version, cid: r.cid, registry: r.registry, local: r.local, sha256: r.modelHash ? `${r.modelHash.slice(0, 16)}…` : '-' })));
      }),
    );

  models
    .command('list')
    .description('every model with its task, domain, exactness (any-hardware | same-family), parameters, reference rows, sha256 (the report modelHash) and held-out metrics')
    .option('--dir <dir>', 'models directory', MODELS_DIR)
    .option('--json', 'print JSON instead of a table')
    .action((o: { dir: string; json?: boolean }) => {
      const list = loadModels(o.dir);
      if (o.json) {
        console.log(JSON.stringify(list.map((m) => ({ name: m.manifest.name, version: m.manifest.version, task: m.manifest.task, domain: m.manifest.domain, exactness: m.manifest.exactness, parameters: m.manifest.parameters, referenceRows: m.manifest.reference?.rows ?? 0, sha256: m.hashHex, bytes: m.bytes.length, metrics: m.manifest.metrics })), null, 2));
        return;
      }
      printTable(`models in ${o.dir}`, list.map((m) => ({
        model: m.manifest.name,
        version: m.manifest.version,
        domain: m.manifest.domain,
        task: m.manifest.task,
        exactness: m.manifest.exactness,
        parameters: m.manifest.parameters,
        'ref rows': m.manifest.reference?.rows ?? 0,
        inputs: m.manifest.inputs.map((i) => `${i.dtype}[${i.shape[1]}]`).join(' '),
        k: m.manifest.outputs.reduce((n, x) => n + x.columns.length, 0),
        sha256: `${m.hashHex.slice(0, 16)}…`,
        metrics: metricSummary(m.manifest.metrics),
      })));
    });

  models
    .command('check')
    .description('run every model under intra-op threads × batch sizes × graph optimisation per backend (CPU, and CUDA when a GPU exists) and compare canonical outputs bit for bit with the CPU reference configuration and with the model\'s reference vectors; exits 1 on any disagreement')
    .option('--model <name>', 'check one model only')
    .option('--dir <dir>', 'models directory', MODELS_DIR)
    .option('--rows <n>', 'input rows per model (first two are the all-min and all-max rows)', intArg('--rows', 2, 1 << 20), 8192)
    .option('--threads <list>', 'intra-op thread counts', intList('--threads', 1, 64), [1, 2])
    .option('--batches <list>', 'batch sizes', intList('--batches', 1, 1 << 20), [1, 64, 8192])
    .option('--backends <list>', 'execution providers to compare: cpu, cuda (default: cpu, plus cuda when a GPU exists)', backendList)
    .option('--seed <n>', 'input generator seed', intArg('--seed', 0, 2 ** 31), 1)
    .option('--row-quantum <n>', 'pad every run to a multiple of n rows (the engine default is 16; 1 shows the raw GEMV effect)', intArg('--row-quantum', 1, 4096))
    .action(async (o: { model?: string; dir: string; rows: number; threads: number[]; batches: number[]; backends?: ('cpu' | 'cuda')[]; seed: number; rowQuantum?: number }) => {
      const { checkAgreement, checkConfigs, configLabel, gpuPresent } = await inference();
      let providers = o.backends ?? (gpuPresent() ? ['cpu', 'cuda'] : ['cpu']);
      if (providers.includes('cuda') && !gpuPresent()) {
        console.log('note: no GPU on this machine (no /dev/nvidiactl or /dev/nvidia0): the cuda backend is skipped; CPU configurations only');
        providers = providers.filter((p) => p !== 'cuda');
        if (providers.length === 0) providers = ['cpu'];
      }
      // the reference configuration is always CPU: the other backends are compared with it
      if (!providers.includes('cpu')) providers = ['cpu', ...providers];
      const configs = checkConfigs({ threads: o.threads, batches: o.batches, providers: [...new Set(providers)].sort() as ('cpu' | 'cuda')[] });
      const started = performance.now();
      const r = await checkAgreement({
        dir: o.dir,
        ...(o.model ? { models: [o.model] } : {}),
        configs,
        rows: o.rows,
        seed: o.seed,
        engineOptions: o.rowQuantum ? { rowQuantum: o.rowQuantum } : {},
      });
      const secs = (performance.now() - started) / 1000;
      const pct = (same: number, all: number, diff?: number): string => (same === all ? '100%' : `${((100 * same) / all).toFixed(2)}%${diff === undefined ? '' : ` Δ${diff}`}`);
      printTable(
        `agreement with "${configLabel(configs[0]!)}" (${o.rows} rows per model, ${secs.toFixed(1)} s)`,
        r.models.map((m) => {
          const row: Record<string, string | number> = { model: m.model, exactness: m.exactness, reference: m.reference ? pct(m.reference.identical, m.reference.rows) : '-' };
          configs.forEach((c, i) => {
            row[configLabel(c)] = r.fellBack.includes(configLabel(c)) ? 'no CUDA EP' : pct(m.identical[i]!, m.rows, m.maxDiff[i]);
          });
          return row;
        }),
      );
      // per backend: agreement with the CPU reference over all its configurations, and its best rows/s
      const backends = [...new Set(configs.map((c) => c.provider))];
      printTable(
        'per backend (agreement over all its configurations; rows/s at its fastest configuration)',
        r.models.map((m) => {
          const row: Record<string, string | number> = { model: m.model, exactness: m.exactness, parameters: m.parameters };
          for (const b of backends) {
            const idx = configs.map((c, i) => (c.provider === b && !r.fellBack.includes(configLabel(c)) ? i : -1)).filter((i) => i >= 0);
            if (idx.length === 0) {
              row[`${b} agree`] = 'not run';
              row[`${b} rows/s`] = '-';
              continue;
            }
            row[`${b} agree`] = pct(Math.min(...idx.map((i) => m.identical[i]!)), m.rows);
            row[`${b} rows/s`] = Math.round(Math.max(...idx.map((i) => m.rows / Math.max(m.seconds[i]!, 1e-9))));
          }
          return row;
        }),
      );
      for (const n of r.notes) console.log(`note: ${n}`);
      const bad = r.models.filter((m) => m.identical.some((n) => n !== m.rows));
      const badRef = r.models.filter((m) => m.reference && m.reference.identical !== m.reference.rows);
      if (bad.length || badRef.length) {
        if (bad.length) console.log(`\nDISAGREEMENT in ${bad.map((m) => `${m.model} (${m.exactness})`).join(', ')}: canonical outputs differ between configurations (Δ = largest difference in output units). See docs/determinism.md.`);
        if (badRef.length) console.log(`\nREFERENCE MISMATCH in ${badRef.map((m) => m.model).join(', ')}: this machine does not reproduce the published reference vectors; a node here refuses these models.`);
        process.exitCode = 1;
      } else {
        console.log(`\nall ${r.models.length} model(s) bit-identical across ${configs.length} configurations${r.models.some((m) => m.reference) ? ' and with their reference vectors' : ''}`);
      }
    });
}
