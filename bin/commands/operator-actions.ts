// The `destra operator ...` actions, loaded when one runs: operator.ts registers the commands and checks
// their arguments without loading viem's clients, the staking SDK or libp2p's key code.
import { createPublicClient, createWalletClient, formatEther, http, type Address, type Chain, type Hex, type PublicClient } from 'viem';
import { decryptKeystore, g2ToEip2537, publicKeyOf, secretKeyFromBytes, toHex, type SecretKey } from '@destra/protocol';
import {
  CommitteeReader, StakingClient, checkNodeInfo, formatDsync, formatSolanaAddress, loadSigner, type SignerSource, type SubmissionResult,
} from '@destra/adapter-ethereum';
import { checkMultiaddr, checkPrivateFile, dkgEncryptionKeyPair, peerIdBytes, peerIdOfKeyFile, readPassword } from '@destra/oracle-node/keys';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CommonOpts {
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

export async function registerOperator(o: CommonOpts & {
  dir?: string; operatorKeystore?: string; operatorPasswordEnv: string; amount?: bigint; peerId?: string; multiaddr?: string[]; solanaPayout?: Hex;
}): Promise<unknown> {
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
}

export async function stake(o: CommonOpts & { amount: bigint; operatorKeystore?: string; operatorPasswordEnv: string }): Promise<unknown> {
  const c = await connect(o, true);
  const secret = o.operatorKeystore ? unlockBls(o.operatorKeystore, o.operatorPasswordEnv) : undefined;
  const r = await c.stake(o.amount, secret);
  return { operator: c.account, bonded: formatDsync(o.amount), ...(r.registered ? { registered: tx(r.registered) } : {}), tx: tx(r.bonded) };
}

export async function delegate(o: CommonOpts & { operator: Address; amount: bigint }): Promise<unknown> {
  const c = await connect(o, true);
  return { delegator: c.account, operator: o.operator, bonded: formatDsync(o.amount), tx: tx(await c.delegate(o.operator, o.amount)) };
}

export async function unbond(o: CommonOpts & { operator?: Address; amount: bigint }): Promise<unknown> {
  const c = await connect(o, true);
  const operator = o.operator ?? c.account;
  const r = await c.unbond(operator, o.amount);
  const s = await c.status(c.account, operator);
  return { account: c.account, operator, unbonding: formatDsync(s.unbonding), withdrawableAt: new Date(Number(s.unbondAt) * 1000).toISOString(), tx: tx(r) };
}

export async function withdraw(o: CommonOpts & { operator?: Address }): Promise<unknown> {
  const c = await connect(o, true);
  const operator = o.operator ?? c.account;
  const before = await c.status(c.account, operator);
  const r = await c.withdraw(operator);
  return { account: c.account, operator, withdrawn: formatDsync(before.unbonding), tx: tx(r) };
}

export async function claim(o: CommonOpts & { operator?: Address }): Promise<unknown> {
  const c = await connect(o, true);
  const operator = o.operator ?? c.account;
  const before = await c.status(c.account, operator);
  const r = await c.claim(operator);
  return { account: c.account, operator, claimedEth: formatEther(before.pendingRewardsWei), tx: tx(r) };
}

export async function setSolanaPayout(o: CommonOpts & { address: Hex }): Promise<unknown> {
  const c = await connect(o, true);
  const r = await c.setSolanaPayout(o.address);
  return { operator: c.account, solanaPayout: formatSolanaAddress(o.address), tx: tx(r) };
}

export async function directory(o: CommonOpts): Promise<unknown> {
  const c = await connect(o, false);
  const operators = await new CommitteeReader(c.publicClient, o.registry).operatorDirectory();
  return { registry: o.registry, operators };
}

export async function status(o: CommonOpts & { account?: Address; operator?: Address }): Promise<unknown> {
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
}
