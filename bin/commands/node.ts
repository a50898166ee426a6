// `destra node ...`: run an oracle node (`start`), create an operator identity (`init`), validate a config.
import { Command } from 'commander';
import type { startNode as StartNode } from '@destra/oracle-node';
import { initKeys, initOptions, type InitOpts } from './init-keys.ts';
import { reportCliError } from '../errors.ts';

// The node (libp2p, ONNX Runtime, IPFS) is imported when a command runs, so `destra --help` and every other
// command start without loading it.
const oracleNode = () => import('@destra/oracle-node');

/** Start-up failures end the process (a half-started node holds sockets open). */
function fatal(err: unknown, command = 'destra node'): never {
  reportCliError(command, err);
  process.exit(1);
}

export function register(program: Command): void {
  const node = program.command('node').description('oracle node: run, initialise, check configuration');

  node
    .command('start')
    .description('start an oracle node (libp2p, DKG, rounds, HTTP API on 127.0.0.1); logs JSON lines to stdout')
    .requiredOption('--config <file>', 'node config JSON (see docs/node.md)')
    .action(async (o: { config: string }) => {
      const { applyHeapPolicy, installRejectionPolicy, loadNodeConfig, startNode } = await oracleNode();
      let running: Awaited<ReturnType<typeof StartNode>>;
      try {
        applyHeapPolicy();
        running = await startNode(loadNodeConfig(o.config));
      } catch (err) {
        fatal(err, 'destra node start');
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

  initOptions(node.command('init').description('create an operator BLS key (EIP-2335 keystore) and a libp2p identity; prints the registration'))
    .action(async (o: InitOpts) => {
      // a failure is reported by the one error style (bin/cli.ts runProgram), exit code 1
      const { keystore, registration } = await initKeys(o);
      process.stdout.write(`${JSON.stringify({ keystore, registration }, null, 2)}\n`);
    });

  node
    .command('check-config')
    .description('validate a node config file and print the normalised result')
    .requiredOption('--config <file>', 'node config JSON')
    .action(async (o: { config: string }) => {
      const { loadNodeConfig } = await oracleNode();
      const c = loadNodeConfig(o.config);
      process.stdout.write(
        c.committee
          ? `config ok: network ${c.network}, epoch ${c.committee.epoch}, ${c.committee.threshold}-of-${c.committee.members.length}, data in ${c.dataDir}\n`
          : `config ok: network ${c.network}, committee and epochs from CommitteeRegistry ${c.control!.registry} at ${c.control!.rpcUrl}, data in ${c.dataDir}\n`,
      );
      const watched = [
        ...(c.chains.ethereum ? [`ethereum (router ${c.chains.ethereum.router} at ${c.chains.ethereum.rpcUrl})`] : []),
        ...(c.chains.solana ? [`solana (program ${c.chains.solana.programId}, cluster ${c.chains.solana.clusterId.replace(/^(0x)?/, '0x')} at ${c.chains.solana.rpcUrl})`] : []),
      ];
      process.stdout.write(`chain watchers: ${watched.length ? watched.join('; ') : 'none (requests only from feeds and /v1/infer)'}\n`);
    });
}
