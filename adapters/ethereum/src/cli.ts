// `destra eth ...`: the requester SDK, committee reader and request watcher from the command line. Output
// is one JSON object per line (bigints as decimal strings). The requester key comes from the environment
// (DESTRA_ETH_PRIVATE_KEY by default), never from argv, so it does not land in shell history.
import { Command, InvalidArgumentError } from 'commander';
import { addressArg, hexArg } from './cli-args.ts';

export { jsonLine } from './json-line.ts';
export { addressArg, hexArg, isAddress } from './cli-args.ts';
// What other commands validate arguments with, without loading the SDK.
export { formatDsync, formatSolanaAddress, parseDsync, parseSolanaAddress } from './staking-values.ts';

// The actions (viem clients, the SDK, the watcher) load when an `eth` command runs.
const actions = () => import('./cli-actions.ts');

const intArg = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(v);
};
const bigArg = (v: string): bigint => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return BigInt(v);
};

export function register(program: Command): void {
  const eth = program.command('eth').description('Ethereum: request inferences, read results and the committee, watch requests');
  const chainOpts = (c: Command) =>
    c.requiredOption('--rpc <url>', 'JSON-RPC http URL').requiredOption('--router <address>', 'OracleRouter address', addressArg);

  chainOpts(eth.command('request').description("send a request (ETH from the router's quote unless --fee; the model's DSYNC burn approved when short, or --permit) and print its id; --wait prints the result too"))
    .requiredOption('--model <name|id>', 'model name (namehashed) or bytes32 ModelRegistry node')
    .requiredOption('--input <hex>', 'canonical input bytes (int64 big-endian values)', hexArg)
    .option('--callback-gas <n>', 'gas for the requester contract callback (0 for none)', intArg, 0)
    .option('--fee <wei>', 'ETH to send in wei (default: the quote, model fee + callback gas prepayment)', bigArg)
    .option('--permit', "authorise the model's DSYNC burn with an ERC-2612 permit (one transaction) instead of an approval")
    .option('--approve-amount <base units>', 'DSYNC allowance an approval sets when short (default 100 × the burn)', bigArg)
    .option('--wait', 'wait for the result')
    .option('--timeout <ms>', 'how long --wait waits', intArg, 120_000)
    .option('--key-env <name>', 'environment variable holding the private key', 'DESTRA_ETH_PRIVATE_KEY')
    .action(async (o) => (await actions()).request(o));

  chainOpts(eth.command('refund').description("refund a request nobody answered before its deadline (fee and gas prepayment; anyone may send it), or, as its requester, an answered request's unused callback gas prepayment"))
    .requiredOption('--id <requestId>', 'request id (bytes32)', hexArg)
    .option('--key-env <name>', 'environment variable holding the private key of the account that sends it', 'DESTRA_ETH_PRIVATE_KEY')
    .action(async (o) => (await actions()).refund(o));

  chainOpts(eth.command('result').description('wait for a request to be fulfilled and print its signed output'))
    .requiredOption('--id <requestId>', 'request id (bytes32)', hexArg)
    .option('--timeout <ms>', 'how long to wait', intArg, 120_000)
    .option('--from-block <n>', 'first block to search for the fulfilment', bigArg)
    .action(async (o) => (await actions()).result(o));

  chainOpts(eth.command('committee').description('print the current epoch, its group key, registry parameters and operators'))
    .action(async (o) => (await actions()).committee(o));

  chainOpts(eth.command('watch').description('print each InferenceRequested event as a JSON line'))
    .option('--ws <url>', 'WebSocket URL for push delivery (polling otherwise)')
    .option('--from-block <n>', 'first block to scan without a checkpoint (default: new requests only)', bigArg)
    .option('--confirmations <n>', 'blocks to wait before printing', intArg, 0)
    .option('--checkpoint <file>', 'JSON file to resume from across runs')
    .option('--count <n>', 'exit after this many requests', intArg)
    .action(async (o) => (await actions()).watch(o));

  eth
    .command('verify')
    .description("fetch an on-demand signed report from a node and verify it off chain and with the router's verifyReport")
    .requiredOption('--node <url>', 'node HTTP API base URL')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--input <hex>', 'canonical input bytes', hexArg)
    .requiredOption('--rpc <url>', 'JSON-RPC http URL (for the group key and verifyReport)')
    .requiredOption('--router <address>', 'OracleRouter address', addressArg)
    .action(async (o) => (await actions()).verify(o));
}
