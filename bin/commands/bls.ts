// `destra bls ...`: verify, sign and generate keys from the command line (min-sig, hex in/out).
import { Command, InvalidArgumentError } from 'commander';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  DESTRA_DST, DestraError, provePossession, publicKeyOf, randomSecretKey, reportLeaf, rootSigningMessage, secretKeyFromBytes, secretKeyToBytes, sign, verify,
} from '@destra/protocol';

/** Parses 0x-optional hex; commander reports the option name on failure. */
export function hexArg(value: string): Uint8Array {
  const h = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new InvalidArgumentError('expected an even-length hex string');
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

/** The message a verification checks, what it was made from, and the hint printed when it fails. */
function checkedMessage(o: { msg?: Uint8Array; root?: Uint8Array; report?: Uint8Array }): { msg: Uint8Array; what: string; hint: string } {
  const convention = 'a Destra report signature signs 0x01 ‖ root, where a single report\'s root is its leaf keccak256(0x00 ‖ report) and a batch root comes from its Merkle proof (docs/report-format.md §2–3)';
  if (o.report) {
    const root = reportLeaf(o.report);
    return {
      msg: rootSigningMessage(root), what: `message 0x01 ‖ keccak256(0x00 ‖ report) = 0x${bytesToHex(rootSigningMessage(root))}`,
      hint: `hint: checked the report as a single report (root = its leaf ${'0x'}${bytesToHex(root)}); a batch member is signed through its batch root: give --root with the root from its proof, and check the proof with \`destra report verify\``,
    };
  }
  if (o.root) {
    if (o.root.length !== 32) throw new InvalidArgumentError(`--root must be 32 bytes, got ${o.root.length}`);
    return {
      msg: rootSigningMessage(o.root), what: `message 0x01 ‖ root = 0x${bytesToHex(rootSigningMessage(o.root))}`,
      hint: `hint: ${convention}; the key must be the group key of the report's epoch`,
    };
  }
  const msg = o.msg!;
  const hint = msg.length === 32
    ? `hint: this checked the 32 bytes as the message itself; if they are a report root, ${convention}: give --root instead of --msg`
    : msg.length === 33 && (msg[0] === 1 || msg[0] === 2)
      ? `hint: the message starts with purpose byte 0x0${msg[0]} (${msg[0] === 1 ? 'report root' : 'handover digest'}); check the key is the group key of the right epoch`
      : `hint: ${convention}: for a report give --report or --root instead of --msg`;
  return { msg, what: '', hint };
}

export function register(program: Command): void {
  const bls = program.command('bls').description('BLS12-381 min-sig tools (signatures in G1, public keys in G2)');

  bls
    .command('verify')
    .description('verify a signature; prints "valid" (exit 0) or "invalid" with what was checked (exit 1). A report signature signs 0x01 ‖ root: give --root, or --report for a single report (root = keccak256(0x00 ‖ report)), or the raw --msg')
    .requiredOption('--pk <hex>', 'public key: G2, 96-byte compressed or 192-byte uncompressed', hexArg)
    .requiredOption('--sig <hex>', 'signature: G1, 48-byte compressed or 96-byte uncompressed', hexArg)
    .option('--msg <hex>', 'message bytes, exactly as signed', hexArg)
    .option('--root <hex>', 'a 32-byte report root (a batch root, or a single report\'s leaf): checks the message 0x01 ‖ root', hexArg)
    .option('--report <hex>', 'a single report\'s bytes: checks 0x01 ‖ keccak256(0x00 ‖ report) (docs/report-format.md §2–3)', hexArg)
    .option('--dst <string>', 'hash-to-curve domain separation tag', DESTRA_DST)
    .action((o: { pk: Uint8Array; sig: Uint8Array; msg?: Uint8Array; root?: Uint8Array; report?: Uint8Array; dst: string }) => {
      const given = [o.msg && '--msg', o.root && '--root', o.report && '--report'].filter(Boolean);
      if (given.length !== 1) {
        throw new InvalidArgumentError(`give exactly one of --msg, --root or --report${given.length ? ` (got ${given.join(' and ')})` : ''}`);
      }
      const checked = checkedMessage(o);
      try {
        const ok = verify(o.pk, checked.msg, o.sig, o.dst);
        console.log(ok ? `valid${checked.what ? ` (${checked.what})` : ''}` : `invalid${checked.what ? ` (${checked.what})` : ''}`);
        if (!ok) process.stderr.write(`${checked.hint}\n`);
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
