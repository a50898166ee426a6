// `destra operator ...`: what operators and stakers do: init (keys), register (join: key, self-bond, node
// info), stake (register + self-bond), delegate,
// unbond, withdraw, claim ETH rewards, status. Amounts are human DSYNC ("1000", "0.5"). Every command
// prints one JSON line on success and, on failure, one line saying what was wrong and what to do, exit 1.
import { Command, InvalidArgumentError } from 'commander';
import { createPublicClient, createWalletClient, formatEther, http, isAddress, type Address, type Chain, type Hex, type PublicClient } from 'viem';
import { decryptKeystore, g2ToEip2537, publicKeyOf, secretKeyFromBytes, toHex, type SecretKey } from '@destra/protocol';
import {
  CommitteeReader, StakingClient, checkNodeInfo, formatDsync, formatSolanaAddress, loadSigner, parseDsync, parseSolanaAddress, type SignerSource, type SubmissionResult,
} from '@destra/adapter-ethereum';
import { jsonLine } from '@destra/adapter-ethereum/cli';
import { checkMultiaddr, checkPrivateFile, dkgEncryptionKeyPair, peerIdBytes, peerIdOfKeyFile, readPassword } from '@destra/oracle-node';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initKeys, initOptions, type InitOpts } from './init-keys.ts';
import { isVerbose, reportCliError } from '../errors.ts';

const addressArg = (v: string): Address => {
  if (!isAddress(v)) throw new InvalidArgumentError('expected a 20-byte 0x address');
  return v;
};
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

interface CommonOpts {
  rpc: string;
  registry: Address;
  keystore?: string;
  passwordEnv: string;
  passwordFile?: string;
  keyEnv?: string;
  verbose?: boolean;
}

async function connect(o: CommonOpts, needSigner: boolean): Promise<StakingClient> {
  const probe = createPublicClient({ transport: http(o.rpc) });
  let id: number;
  try {
    id = await probe.getChainId();
  } catch (e) {
    throw new Error(`cannot reach the JSON-RPC endpoint ${o.rpc}: ${(e as Error).message.split('\n')[0]}`);
  }
  const chain = { id, name: `chain-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [o.rpc] } } } as Chain;
  const publicClient = createPublicClient({ chain, transport: http(o.rpc), pollingInterval: 250 }) as PublicClient;
  const source: SignerSource | undefined = o.keystore
    ? { keystore: o.keystore, password: o.passwordFile ? { file: o.passwordFile } : { env: o.passwordEnv } }
    : o.keyEnv
      ? { keyEnv: o.keyEnv }
      : undefined;
  if (needSigner && !source) throw new Error('this command sends a transaction: give the account with --keystore <file> (V3 JSON) or --key-env <VAR>');
  const walletClient = source ? createWalletClient({ chain, transport: http(o.rpc), account: await loadSigner(source) }) : undefined;
  return StakingClient.connect({ publicClient, ...(walletClient ? { walletClient } : {}), registry: o.registry });
}

const tx = (r: SubmissionResult) => ({ status: r.status, txHash: r.txHash, gasUsed: r.gasUsed });

/** Unlocks the operator's BLS keystore (EIP-2335, mode 0600). */
function unlockBls(path: string, passwordEnv: string): SecretKey {
  checkPrivateFile(path, 'operator-keystore');
  return secretKeyFromBytes(decryptKeystore(readFileSync(path, 'utf8'), readPassword({ env: passwordEnv })));
}

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
    .action(action(async (o: CommonOpts & {
      dir?: string; operatorKeystore?: string; operatorPasswordEnv: string; amount?: bigint; peerId?: string; multiaddr?: string[]; solanaPayout?: Hex;
    }) => {
      const keystore = o.operatorKeystore ?? (o.dir ? join(o.dir, 'operator.json') : undefined);
      if (!keystore) throw new Error('give the data directory from `destra operator init` (--dir) or the BLS keystore (--operator-keystore)');
      if (!o.multiaddr?.length) throw new Error('give the address peers reach the node at: --multiaddr /dns4/<host>/tcp/<port> (repeatable)');
      const multiaddrs = o.multiaddr.map(checkMultiaddr);
      const peerId = o.peerId ?? peerIdOfKeyFile(join(o.dir ?? dirname(keystore), 'libp2p.key'));
      const nodeInfo = { encryptionKey: '0x' as Hex, peerId: toHex(peerIdBytes(peerId)) as Hex, multiaddrs };
      const c = await connect(o, true);
      const secret = unlockBls(keystore, o.operatorPasswordEnv);
      nodeInfo.encryptionKey = toHex(dkgEncryptionKeyPair(secret).publicKey) as Hex;
      checkNodeInfo(nodeInfo);
      const me = c.account;
      // everything that can be checked is checked before the first transaction
      const before = await c.status(me, me);
      if (before.ethBalance === 0n) throw new Error(`${me} holds no ETH for gas: fund it first`);
      if (o.amount !== undefined && before.dsyncBalance < o.amount) throw new Error(`${me} holds ${formatDsync(before.dsyncBalance)} DSYNC, less than the ${formatDsync(o.amount)} to bond: fund it first`);
      const ownKey = toHex(g2ToEip2537(publicKeyOf(secret)));
      if (before.operatorInfo.registered && (await c.blsKeyOf(me)).toLowerCase() !== ownKey.toLowerCase()) {
        throw new Error(`${me} is registered with a different BLS key than ${keystore}; use the keystore it registered with`);
      }
      const registered = before.operatorInfo.registered ? undefined : await c.register(secret);
      const bonded = o.amount !== undefined ? await c.delegate(me, o.amount) : undefined;
      const info = await c.setNodeInfo(nodeInfo);
      const payout = o.solanaPayout ? await c.setSolanaPayout(o.solanaPayout) : undefined;
      const after = await c.status(me, me);
      return {
        operator: me,
        registered: registered ? tx(registered) : 'already',
        ...(bonded ? { bonded: formatDsync(o.amount!), bond: tx(bonded) } : {}),
        selfBond: formatDsync(after.bonded),
        nodeInfo: { encryptionKey: nodeInfo.encryptionKey, peerId, multiaddrs, tx: tx(info) },
        ...(payout ? { solanaPayout: formatSolanaAddress(o.solanaPayout!), payout: tx(payout) } : {}),
      };
    }));

  common(op.command('stake').description("bond DSYNC as this operator's self-bond; registers the operator key first if needed"))
    .requiredOption('--amount <dsync>', 'DSYNC to bond, e.g. 1000', amountArg)
    .option('--operator-keystore <file>', "the operator's BLS keystore (EIP-2335, from `destra node init`): needed to register")
    .option('--operator-password-env <name>', 'environment variable holding the BLS keystore password', 'DESTRA_PASSWORD')
    .action(action(async (o: CommonOpts & { amount: bigint; operatorKeystore?: string; operatorPasswordEnv: string }) => {
      const c = await connect(o, true);
      const secret = o.operatorKeystore ? unlockBls(o.operatorKeystore, o.operatorPasswordEnv) : undefined;
      const r = await c.stake(o.amount, secret);
      return { operator: c.account, bonded: formatDsync(o.amount), ...(r.registered ? { registered: tx(r.registered) } : {}), tx: tx(r.bonded) };
    }));

  common(op.command('delegate').description("bond DSYNC to an operator's pool (you earn its ETH rewards, less its commission, and share its slashing)"))
    .requiredOption('--operator <address>', 'operator to delegate to', addressArg)
    .requiredOption('--amount <dsync>', 'DSYNC to bond', amountArg)
    .action(action(async (o: CommonOpts & { operator: Address; amount: bigint }) => {
      const c = await connect(o, true);
      return { delegator: c.account, operator: o.operator, bonded: formatDsync(o.amount), tx: tx(await c.delegate(o.operator, o.amount)) };
    }));

  common(op.command('unbond').description('start unbonding DSYNC from an operator (withdraw after the unbonding delay)'))
    .option('--operator <address>', 'operator pool (default: your own)', addressArg)
    .requiredOption('--amount <dsync>', 'DSYNC to unbond', amountArg)
    .action(action(async (o: CommonOpts & { operator?: Address; amount: bigint }) => {
      const c = await connect(o, true);
      const operator = o.operator ?? c.account;
      const r = await c.unbond(operator, o.amount);
      const s = await c.status(c.account, operator);
      return { account: c.account, operator, unbonding: formatDsync(s.unbonding), withdrawableAt: new Date(Number(s.unbondAt) * 1000).toISOString(), tx: tx(r) };
    }));

  common(op.command('withdraw').description('withdraw unbonded DSYNC once its delay (and any committee lock) has passed'))
    .option('--operator <address>', 'operator pool (default: your own)', addressArg)
    .action(action(async (o: CommonOpts & { operator?: Address }) => {
      const c = await connect(o, true);
      const operator = o.operator ?? c.account;
      const before = await c.status(c.account, operator);
      const r = await c.withdraw(operator);
      return { account: c.account, operator, withdrawn: formatDsync(before.unbonding), tx: tx(r) };
    }));

  common(op.command('claim').description('claim the ETH rewards of your position in an operator pool'))
    .option('--operator <address>', 'operator pool (default: your own)', addressArg)
    .action(action(async (o: CommonOpts & { operator?: Address }) => {
      const c = await connect(o, true);
      const operator = o.operator ?? c.account;
      const before = await c.status(c.account, operator);
      const r = await c.claim(operator);
      return { account: c.account, operator, claimedEth: formatEther(before.pendingRewardsWei), tx: tx(r) };
    }));

  common(op.command('set-solana-payout').description("register the Solana address this operator's share of Solana request fees is paid to (from the next handover)"))
    .requiredOption('--address <base58>', 'Solana address (base58 public key) receiving the fees', solanaArg)
    .action(action(async (o: CommonOpts & { address: Hex }) => {
      const c = await connect(o, true);
      const r = await c.setSolanaPayout(o.address);
      return { operator: c.account, solanaPayout: formatSolanaAddress(o.address), tx: tx(r) };
    }));

  common(op.command('directory').description('every registered operator with what peers need: BLS key, encryption key, peer id, multiaddrs, Solana payout (no signer needed)'))
    .action(action(async (o: CommonOpts) => {
      const c = await connect(o, false);
      const operators = await new CommitteeReader(c.publicClient, o.registry).operatorDirectory();
      return { registry: o.registry, operators };
    }));

  common(op.command('status').description("an account's position in an operator pool, the pool and its balances"))
    .option('--account <address>', 'account to show (default: the signer)', addressArg)
    .option('--operator <address>', 'operator pool (default: the account itself)', addressArg)
    .action(action(async (o: CommonOpts & { account?: Address; operator?: Address }) => {
      const c = await connect(o, !o.account);
      const account = o.account ?? c.account;
      const s = await c.status(account, o.operator ?? account);
      return {
        account,
        operator: s.operator,
        registered: s.operatorInfo.registered,
        poolStake: formatDsync(s.operatorInfo.poolStake),
        commissionBps: s.operatorInfo.commissionBps,
        lastCommitteeEpoch: s.operatorInfo.lastEpoch,
        solanaPayout: formatSolanaAddress(s.operatorInfo.solanaPayout),
        bonded: formatDsync(s.bonded),
        unbonding: formatDsync(s.unbonding),
        withdrawableAt: s.unbondAt > 0n ? new Date(Number(s.unbondAt) * 1000).toISOString() : null,
        pendingRewardsEth: formatEther(s.pendingRewardsWei),
        dsync: formatDsync(s.dsyncBalance),
        eth: formatEther(s.ethBalance),
      };
    }));
}
