// `destra node ...`: run an oracle node (`start`), create an operator identity (`init`), validate a config.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { DestraError, encryptKeystore, publicKeyOf, randomSecretKey, secretKeyToBytes, toHex } from '@destra/protocol';
import { ConfigError, dkgEncryptionKeyPair, installRejectionPolicy, loadNodeConfig, loadOrCreateLibp2pKey, readPassword, startNode } from '@destra/oracle-node';

function fatal(err: unknown): never {
  const e = err as Error;
  const line = err instanceof DestraError ? `${e.name} [${err.code}]: ${e.message}` : `error: ${e.message}`;
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

export function register(program: Command): void {
  const node = program.command('node').description('oracle node: run, initialise, check configuration');

  node
    .command('start')
    .description('start an oracle node (libp2p, DKG, rounds, HTTP API on 127.0.0.1); logs JSON lines to stdout')
    .requiredOption('--config <file>', 'node config JSON (see docs/node.md)')
    .action(async (o: { config: string }) => {
      let running: Awaited<ReturnType<typeof startNode>>;
      try {
        running = await startNode(loadNodeConfig(o.config));
      } catch (err) {
        fatal(err);
      }
      installRejectionPolicy(running.log, () => running.metrics.unhandledRejections.inc());
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        running.log.info({ signal }, 'shutting down');
        running.stop().then(
          () => process.exit(0),
          (err) => fatal(err),
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });

  node
    .command('init')
    .description('create an operator BLS key (EIP-2335 keystore) and a libp2p identity; prints the registration')
    .requiredOption('--dir <dir>', 'data directory to create (operator.json, libp2p.key)')
    .option('--password-env <name>', 'environment variable holding the keystore password', 'DESTRA_PASSWORD')
    .option('--password-file <file>', 'file holding the keystore password (instead of --password-env)')
    .option('--scrypt-n <n>', 'scrypt cost of the keystore (EIP-2335 default 262144)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new InvalidArgumentError('--scrypt-n must be a power of two >= 2');
      return n;
    }, 262144)
    .action(async (o: { dir: string; passwordEnv: string; passwordFile?: string; scryptN: number }) => {
      try {
        const dir = resolve(o.dir);
        const keystorePath = join(dir, 'operator.json');
        if (existsSync(keystorePath)) throw new Error(`${keystorePath} already exists; refusing to overwrite an operator key`);
        const password = readPassword(o.passwordFile ? { file: o.passwordFile } : { env: o.passwordEnv });
        if (password.length === 0) throw new ConfigError(`the keystore password is empty; set a non-empty password in ${o.passwordFile ?? `$${o.passwordEnv}`}`, o.passwordFile ? 'password-file' : 'password-env');
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const secret = randomSecretKey();
        const operatorKey = publicKeyOf(secret);
        writeFileSync(keystorePath, JSON.stringify(encryptKeystore(secretKeyToBytes(secret), password, { kdf: { function: 'scrypt', n: o.scryptN }, pubkey: toHex(operatorKey).slice(2) }), null, 2), { mode: 0o600 });
        const p2p = await loadOrCreateLibp2pKey(join(dir, 'libp2p.key'));
        const registration = {
          operatorKey: toHex(operatorKey),
          encryptionKey: toHex(dkgEncryptionKeyPair(secret).publicKey),
          peerId: peerIdFromPrivateKey(p2p).toString(),
        };
        process.stdout.write(`${JSON.stringify({ keystore: keystorePath, registration }, null, 2)}\n`);
      } catch (err) {
        fatal(err);
      }
    });

  node
    .command('check-config')
    .description('validate a node config file and print the normalised result')
    .requiredOption('--config <file>', 'node config JSON')
    .action((o: { config: string }) => {
      try {
        const c = loadNodeConfig(o.config);
        process.stdout.write(`config ok: network ${c.network}, epoch ${c.committee.epoch}, ${c.committee.threshold}-of-${c.committee.members.length}, data in ${c.dataDir}\n`);
      } catch (err) {
        fatal(err);
      }
    });
}
