// The one `init` of an operator's keys, shared by `destra node init` and `destra operator init`: options,
// password source, and the data directory written by oracle-node's initOperatorDir.
import { Command, InvalidArgumentError } from 'commander';
import { initOperatorDir, readPassword, type OperatorRegistration } from '@destra/oracle-node/keys';

export interface InitOpts {
  dir: string;
  passwordEnv: string;
  passwordFile?: string;
  scryptN: number;
}

/** Adds --dir, --password-env, --password-file and --scrypt-n. */
export function initOptions(c: Command): Command {
  return c
    .requiredOption('--dir <dir>', 'data directory to create (operator.json, libp2p.key)')
    .option('--password-env <name>', 'environment variable holding the keystore password', 'DESTRA_PASSWORD')
    .option('--password-file <file>', 'file holding the keystore password (instead of --password-env)')
    .option('--scrypt-n <n>', 'scrypt cost of the keystore (EIP-2335 default 262144)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new InvalidArgumentError('--scrypt-n must be a power of two >= 2');
      return n;
    }, 262144);
}

/** Creates the operator key (EIP-2335, mode 0600) and the libp2p identity in --dir; refuses an empty password. */
export function initKeys(o: InitOpts): Promise<{ keystore: string; libp2pKey: string; registration: OperatorRegistration }> {
  const password = readPassword(o.passwordFile ? { file: o.passwordFile } : { env: o.passwordEnv });
  return initOperatorDir({
    dir: o.dir,
    password,
    passwordFrom: o.passwordFile ?? `$${o.passwordEnv}`,
    passwordField: o.passwordFile ? 'password-file' : 'password-env',
    scryptN: o.scryptN,
  });
}
