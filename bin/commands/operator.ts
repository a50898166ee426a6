// `destra operator ...`: what operators and stakers do: init (keys), register (join: key, self-bond, node
// info), stake (register + self-bond), delegate,
// unbond, withdraw, claim ETH rewards, status. Amounts are human DSYNC ("1000", "0.5"). Every command
// prints one JSON line on success and, on failure, one line saying what was wrong and what to do, exit 1.
import { Command, InvalidArgumentError } from 'commander';
import type { Hex } from 'viem';
import { addressArg, jsonLine, parseDsync, parseSolanaAddress } from '@destra/adapter-ethereum/cli';
import { initKeys, initOptions, type InitOpts } from './init-keys.ts';
import { isVerbose, reportCliError } from '../errors.ts';

// The bodies (viem clients, the staking SDK, libp2p keys) load when a command runs.
type Impl = typeof import('./operator-actions.ts');
const actions = (): Promise<Impl> => import('./operator-actions.ts');

const solanaArg = (v: string): Hex => {
  try {
    return parseSolanaAddress(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const amountArg = (v: string): bigint => {
  try {
    return parseDsync(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** Runs a command body, printing its result as a JSON line; a failure in the one error style (bin/errors.ts). */
function action<T extends { verbose?: boolean }>(body: (o: T) => Promise<unknown>): (o: T, cmd?: Command) => Promise<void> {
  return async (o, cmd) => {
    try {
      const out = await body(o);
      process.stdout.write(`${jsonLine(out)}\n`);
    } catch (err) {
      reportCliError(cmd ?? 'destra operator', err, Boolean(o.verbose) || isVerbose(cmd));
    }
  };
}

/** The action of one command from operator-actions.ts, through `action`. */
const run = <K extends keyof Impl>(name: K) =>
  action(async (o: Parameters<Impl[K]>[0]) => (await actions())[name](o as never));

export function register(program: Command): void {
  const op = program.command('operator').description('operators and stakers on chain: init, register, stake, delegate, unbond, withdraw, claim, set-solana-payout, status (amounts in DSYNC)');
  const common = (c: Command) =>
    c
      .requiredOption('--rpc <url>', 'Ethereum JSON-RPC http URL')
      .requiredOption('--registry <address>', 'CommitteeRegistry address (the staking contract and DSYNC are found from it)', addressArg)
      .option('--keystore <file>', 'the signing account as a V3 keystore (geth / cast wallet format)')
      .option('--password-env <name>', 'environment variable holding the keystore password', 'DESTRA_ETH_PASSWORD')
      .option('--password-file <file>', 'file holding the keystore password (instead of --password-env)')
      .option('--key-env <name>', 'environment variable holding a raw private key (instead of --keystore)')
      .option('--verbose', 'print stack traces of errors')
      // One line for a bad argument too (the global setting prints the whole help after it).
      .showHelpAfterError(false);

  initOptions(op.command('init').description("create the operator's keys in --dir (BLS key in an EIP-2335 keystore, libp2p identity; the X25519 DKG key is derived from the BLS key); prints the registration"))
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError(false)
    .action(action(async (o: InitOpts & { verbose?: boolean }) => initKeys(o)));

  common(op.command('register').description('join: register the BLS key (with its proof of possession) if needed, self-bond --amount, publish node info (encryption key, peer id, multiaddrs) and the Solana payout address'))
    .option('--dir <dir>', 'data directory from `destra operator init` (operator.json, libp2p.key)')
    .option('--operator-keystore <file>', "the operator's BLS keystore (default: <dir>/operator.json)")
    .option('--operator-password-env <name>', 'environment variable holding the BLS keystore password', 'DESTRA_PASSWORD')
    .option('--amount <dsync>', 'DSYNC to self-bond, e.g. 1500 (omit to only register / update node info)', amountArg)
    .option('--peer-id <id>', "the node's libp2p peer id (default: from libp2p.key next to the keystore)")
    .option('--multiaddr <addr>', 'a multiaddr peers reach the node at, e.g. /dns4/node1.example/tcp/4001 (repeatable, 1..8)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--solana-payout <base58>', 'Solana address receiving this operator\'s share of Solana request fees', solanaArg)
    .action(run('registerOperator'));

  common(op.command('stake').description("bond DSYNC as this operator's self-bond; registers the operator key first if needed"))
    .requiredOption('--amount <dsync>', 'DSYNC to bond, e.g. 1000', amountArg)
    .option('--operator-keystore <file>', "the operator's BLS keystore (EIP-2335, from `destra node init`): needed to register")
    .option('--operator-password-env <name>', 'environment variable holding the BLS keystore password', 'DESTRA_PASSWORD')
    .action(run('stake'));

  common(op.command('delegate').description("bond DSYNC to an operator's pool (you earn its ETH rewards, less its commission, and share its slashing)"))
    .requiredOption('--operator <address>', 'operator to delegate to', addressArg)
    .requiredOption('--amount <dsync>', 'DSYNC to bond', amountArg)
    .action(run('delegate'));

  common(op.command('unbond').description('start unbonding DSYNC from an operator (withdraw after the unbonding delay)'))
    .option('--operator <address>', 'operator pool (default: your own)', addressArg)
    .requiredOption('--amount <dsync>', 'DSYNC to unbond', amountArg)
    .action(run('unbond'));

  common(op.command('withdraw').description('withdraw unbonded DSYNC once its delay (and any committee lock) has passed'))
    .option('--operator <address>', 'operator pool (default: your own)', addressArg)
    .action(run('withdraw'));

  common(op.command('claim').description('claim the ETH rewards of your position in an operator pool'))
    .option('--operator <address>', 'operator pool (default: your own)', addressArg)
    .action(run('claim'));

  common(op.command('set-solana-payout').description("register the Solana address this operator's share of Solana request fees is paid to (from the next handover)"))
    .requiredOption('--address <base58>', 'Solana address (base58 public key) receiving the fees', solanaArg)
    .action(run('setSolanaPayout'));

  common(op.command('directory').description('every registered operator with what peers need: BLS key, encryption key, peer id, multiaddrs, Solana payout (no signer needed)'))
    .action(run('directory'));

  common(op.command('status').description("an account's position in an operator pool, the pool and its balances"))
    .option('--account <address>', 'account to show (default: the signer)', addressArg)
    .option('--operator <address>', 'operator pool (default: the account itself)', addressArg)
    .action(run('status'));
}
