// The `destra` command tree. Each area registers its own subcommands; this file only assembles them.
import { Command } from 'commander';
import { register as registerBls } from './commands/bls.ts';
import { register as registerDkg } from './commands/dkg.ts';
import { register as registerModels } from './commands/models.ts';
import { register as registerEth } from '@destra/adapter-ethereum/cli';
import { register as registerNode } from './commands/node.ts';
import { register as registerOperator } from './commands/operator.ts';
import { register as registerReport } from './commands/report.ts';
import { registerAggregatorCommands } from '@destra/aggregator';

export function buildProgram(): Command {
  const program = new Command('destra')
    .description('Cross-chain AI oracle network: deterministic ONNX inference, BLS12-381 threshold signatures')
    .version('0.1.0')
    .showHelpAfterError();
  registerBls(program);
  registerDkg(program);
  registerModels(program);
  registerEth(program);
  registerNode(program);
  registerOperator(program);
  registerReport(program);
  registerAggregatorCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
