// Amounts, Solana payout addresses and node info as the staking contracts take them: parsed and checked
// before a transaction is spent. Light on purpose: the CLI checks every command line's arguments with these,
// and the shape is validated first, so base units are plain string arithmetic (no viem at start-up).
import type { Hex } from 'viem';
import { AdapterConfigError } from './errors.ts';

export const DSYNC_DECIMALS = 18;

/** "1000", "0.5", "1_000.25" DSYNC → base units; throws naming what is wrong. */
export function parseDsync(amount: string): bigint {
  const s = amount.replace(/_/g, '').trim();
  if (!/^\d+(\.\d+)?$/.test(s)) throw new AdapterConfigError(`amount '${amount}' is not a decimal number of DSYNC (e.g. 1000 or 0.5)`);
  if ((s.split('.')[1]?.length ?? 0) > DSYNC_DECIMALS) throw new AdapterConfigError(`amount '${amount}' has more than ${DSYNC_DECIMALS} decimals`);
  const [whole, frac = ''] = s.split('.');
  const v = BigInt(whole!) * 10n ** BigInt(DSYNC_DECIMALS) + BigInt(frac.padEnd(DSYNC_DECIMALS, '0') || '0');
  if (v === 0n) throw new AdapterConfigError('amount must be greater than zero');
  return v;
}

/** Base units → "1000", "0.5", "-2.25" (no trailing zeros), as viem's formatUnits. */
export function formatDsync(v: bigint): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const unit = 10n ** BigInt(DSYNC_DECIMALS);
  const frac = (abs % unit).toString().padStart(DSYNC_DECIMALS, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / unit}${frac ? `.${frac}` : ''}`;
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A Solana address (base58 of a 32-byte public key) → the bytes32 `setSolanaPayout` takes; throws naming what is wrong. */
export function parseSolanaAddress(address: string): Hex {
  const s = address.trim();
  if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(s)) throw new AdapterConfigError(`'${address}' is not a base58 Solana address`);
  let n = 0n;
  for (const c of s) n = n * 58n + BigInt(B58.indexOf(c));
  const zeros = s.length - s.replace(/^1+/, '').length;
  let body = n === 0n ? '' : n.toString(16);
  if (body.length % 2) body = `0${body}`;
  const bytes = zeros + body.length / 2;
  if (bytes !== 32) throw new AdapterConfigError(`'${address}' is not a Solana address (it decodes to ${bytes} bytes, not 32)`);
  return `0x${'00'.repeat(zeros)}${body}`;
}

/** Bitcoin-alphabet base58 (Solana addresses, libp2p peer ids in text form: base58btc of the multihash). */
export function encodeBase58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)]! + out;
    n /= 58n;
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  return '1'.repeat(zeros) + out;
}

/** bytes32 → base58 Solana address; null for zero (no payout address registered). */
export function formatSolanaAddress(payout: Hex): string | null {
  if (BigInt(payout) === 0n) return null;
  return encodeBase58(Buffer.from(payout.slice(2), 'hex'));
}

/** Node info bounds of `CommitteeRegistry.setNodeInfo`. */
export const NODE_INFO_LIMITS = { peerIdBytes: 64, multiaddrs: 8, multiaddrBytes: 256 } as const;

/** What `setNodeInfo` publishes: X25519 key (32 bytes), libp2p peer id (multihash bytes), multiaddrs (text). */
export interface NodeInfoInput {
  encryptionKey: Hex;
  peerId: Hex;
  multiaddrs: readonly string[];
}

/** Checks node info against the contract's bounds before a transaction is spent on it; throws naming what is wrong. */
export function checkNodeInfo(info: NodeInfoInput): void {
  if (!/^0x[0-9a-fA-F]{64}$/.test(info.encryptionKey) || BigInt(info.encryptionKey) === 0n) throw new AdapterConfigError('the encryption key must be 32 non-zero bytes (X25519 public key)');
  const peerIdBytes = (info.peerId.length - 2) / 2;
  if (!/^0x([0-9a-fA-F]{2})+$/.test(info.peerId) || peerIdBytes > NODE_INFO_LIMITS.peerIdBytes) throw new AdapterConfigError(`the peer id must be 1..${NODE_INFO_LIMITS.peerIdBytes} bytes of multihash`);
  const n = info.multiaddrs.length;
  if (n === 0 || n > NODE_INFO_LIMITS.multiaddrs) throw new AdapterConfigError(`give 1..${NODE_INFO_LIMITS.multiaddrs} multiaddrs (--multiaddr, repeatable), not ${n}`);
  for (const a of info.multiaddrs) {
    const len = Buffer.byteLength(a, 'utf8');
    if (!a.startsWith('/') || len > NODE_INFO_LIMITS.multiaddrBytes) throw new AdapterConfigError(`multiaddr '${a.slice(0, 40)}${a.length > 40 ? '…' : ''}' must start with '/' and be at most ${NODE_INFO_LIMITS.multiaddrBytes} bytes`);
  }
}
