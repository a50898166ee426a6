// `destra aggregator start --config <file>`: registered by bin/cli.ts (register(program)).
// The aggregator itself is imported when the command runs: every other `destra` command (and --help) would
// otherwise pay for loading libp2p, Solana and the relays first.
import type { Command } from 'commander';

export function register(program: Command): void {
  const agg = program.command('aggregator').description('Run a destra aggregator (combines partial signatures and relays results)');
  agg
    .command('start')
    .description('Start an aggregator from a JSON config file (see docs/aggregator.md)')
    .requiredOption('--config <path>', 'aggregator config file')
    .action(async (opts: { config: string }) => {
      const [{ applyHeapPolicy, installRejectionPolicy }, { loadAggregatorConfig }, { startAggregator }] = await Promise.all([
        import('@destra/oracle-node'),
        import('./app/config.ts'),
        import('./app/run.ts'),
      ]);
      applyHeapPolicy();
      const running = await startAggregator(loadAggregatorConfig(opts.config));
      installRejectionPolicy(running.log);
      running.service.on('result', (r) => running.log.info({ requestId: Buffer.from(r.signed.requestId).toString('hex'), latencyMs: +r.latencyMs.toFixed(2), signers: r.signers }, 'report signed'));
      running.service.on('relayed', ({ requestId, outcomes }) => {
        for (const o of outcomes) {
          if (o.status !== 'failed') running.log.info({ requestId: Buffer.from(requestId).toString('hex'), chain: o.chain, status: o.status, tx: o.status === 'submitted' ? o.tx : undefined, attempts: o.attempts }, 'report relayed');
        }
      });
      const stop = (sig: string) => {
        running.log.info({ signal: sig }, 'stopping aggregator');
        void running.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
