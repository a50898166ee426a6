// `destra bls ...`: verify, sign and generate keys from the command line (min-sig, hex in/out).
import { Command, InvalidArgumentError } from 'commander';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  DESTRA_DST, DestraError, provePossession, publicKeyOf, randomSecretKey, secretKeyFromBytes, secretKeyToBytes, sign, verify,
} from '@destra/protocol';

/** Parses 0x-optional hex; commander reports the option name on failure. */
export function hexArg(value: string): Uint8Array {
  const h = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new InvalidArgumentError('expected an even-length hex string');
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

export function register(program: Command): void {
  const bls = program.command('bls').description('BLS12-381 min-sig tools (signatures in G1, public keys in G2)');

  bls
    .command('verify')
    .description('verify a signature; prints "valid" (exit 0) or "invalid" / an error (exit 1)')
    .requiredOption('--pk <hex>', 'public key: G2, 96-byte compressed or 192-byte uncompressed', hexArg)
    .requiredOption('--sig <hex>', 'signature: G1, 48-byte compressed or 96-byte uncompressed', hexArg)
    .requiredOption('--msg <hex>', 'message bytes', hexArg)
    .option('--dst <string>', 'hash-to-curve domain separation tag', DESTRA_DST)
    .action((o: { pk: Uint8Array; sig: Uint8Array; msg: Uint8Array; dst: string }) => {
      try {
        const ok = verify(o.pk, o.msg, o.sig, o.dst);
        console.log(ok ? 'valid' : 'invalid');
        process.exitCode = ok ? 0 : 1;
      } catch (e) {
        if (!(e instanceof DestraError)) throw e;
        console.log(`invalid: ${e.name} [${e.code}] ${e.message}`);
        process.exitCode = 1;
      }
    });

  bls
    .command('keygen')
    .description('generate a secret key; prints secret key, public key and proof of possession (hex)')
    .action(() => {
      const sk = randomSecretKey();
      console.log(JSON.stringify({ secretKey: bytesToHex(secretKeyToBytes(sk)), publicKey: bytesToHex(publicKeyOf(sk)), proofOfPossession: bytesToHex(provePossession(sk)) }, null, 2));
    });

  bls
    .command('sign')
    .description('sign a message with a secret key; prints the 48-byte compressed G1 signature (hex)')
    .requiredOption('--sk <hex>', '32-byte secret key', hexArg)
    .requiredOption('--msg <hex>', 'message bytes', hexArg)
    .option('--dst <string>', 'hash-to-curve domain separation tag', DESTRA_DST)
    .action((o: { sk: Uint8Array; msg: Uint8Array; dst: string }) => {
      console.log(bytesToHex(sign(secretKeyFromBytes(o.sk), o.msg, o.dst)));
    });
}
