// The Ethereum account that signs an operator's or staker's transactions: a Web3 Secret Storage (V3)
// keystore (as geth, foundry's `cast wallet` and most wallets write them) unlocked with a password from
// the environment or a file, or a raw key from an environment variable. Never from argv (shell history).
import { readFileSync } from 'node:fs';
import { isHex, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { Wallet } from '@ethereumjs/wallet';
import { AdapterConfigError } from './errors.ts';

export type SignerSource =
  | { keystore: string; password: { env: string } | { file: string } }
  | { keyEnv: string };

function password(src: { env: string } | { file: string }): string {
  if ('env' in src) {
    const v = process.env[src.env];
    if (v === undefined) throw new AdapterConfigError(`environment variable ${src.env} is not set; export the keystore password in it`);
    return v;
  }
  try {
    return readFileSync(src.file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new AdapterConfigError(`cannot read password file ${src.file}: ${(e as Error).message}`);
  }
}

/** Unlocks the signer; errors say which file or variable is wrong and how. */
export async function loadSigner(src: SignerSource): Promise<PrivateKeyAccount> {
  if ('keyEnv' in src) {
    const key = process.env[src.keyEnv];
    if (!key || !isHex(key) || key.length !== 66) throw new AdapterConfigError(`set ${src.keyEnv} to the account's 32-byte private key (0x + 64 hex digits)`);
    return privateKeyToAccount(key as Hex);
  }
  let json: string;
  try {
    json = readFileSync(src.keystore, 'utf8');
  } catch (e) {
    throw new AdapterConfigError(`cannot read keystore ${src.keystore}: ${(e as Error).message}`);
  }
  let wallet: Wallet;
  try {
    wallet = await Wallet.fromV3(json, password(src.password), true);
  } catch (e) {
    if (e instanceof AdapterConfigError) throw e;
    const msg = (e as Error).message;
    throw new AdapterConfigError(/passphrase|mac/i.test(msg) ? `wrong password for keystore ${src.keystore}` : `${src.keystore} is not a V3 keystore: ${msg}`);
  }
  return privateKeyToAccount(`0x${Buffer.from(wallet.getPrivateKey()).toString('hex')}`);
}

/** Writes nothing: returns a V3 keystore JSON for `privateKey` (tests, `destra operator` set-up). */
export async function encryptV3(privateKey: Hex, pw: string, scryptN = 262144): Promise<string> {
  const w = Wallet.fromPrivateKey(Buffer.from(privateKey.slice(2), 'hex'));
  return JSON.stringify(await w.toV3(pw, { n: scryptN }));
}
