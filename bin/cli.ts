// The `destra` command tree. Each area registers its own subcommands; this file only assembles them.
import { Command, CommanderError } from 'commander';
import { register as registerBls } from './commands/bls.ts';
import { register as registerDkg } from './commands/dkg.ts';
import { register as registerModels } from './commands/models.ts';
import { register as registerEth } from '@destra/adapter-ethereum/cli';
import { register as registerNode } from './commands/node.ts';
import { register as registerOperator } from './commands/operator.ts';
import { register as registerReport } from './commands/report.ts';
import { register as registerAggregatorCommands } from '@destra/aggregator/cli';
import { commandPath, isVerbose, reportCliError } from './errors.ts';
import { extendEthRequest } from './commands/eth-values.ts';

export function buildProgram(): Command {
  const program = new Command('destra')
    .description('Cross-chain AI oracle network: deterministic ONNX inference, BLS12-381 threshold signatures')
    .version('0.1.0')
    .option('--verbose', 'print the stack trace of an error (any command)');
  registerBls(program);
  registerDkg(program);
  registerModels(program);
  registerEth(program);
  registerNode(program);
  registerOperator(program);
  registerReport(program);
  registerAggregatorCommands(program);
  extendEthRequest(program);
  oneErrorStyle(program);
  return program;
}

/** Usage errors (commander's: unknown option, bad argument) in the one error style, on every command. */
const printedUsageErrors = new Set<string>();
function oneErrorStyle(cmd: Command): void {
  const name = commandPath(cmd);
  cmd.showHelpAfterError(false).configureOutput({
    outputError: (str, write) => {
      printedUsageErrors.add(str.trim());
      write(`${name}: ${str.trim().replace(/^error: /, '').replace(/\.$/, '')}. See '${name} --help'.\n`);
    },
  });
  for (const sub of cmd.commands) oneErrorStyle(sub);
}

/** Parses and runs; a failure of any command is reported in the one error style (bin/errors.ts). */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  let running: Command | undefined;
  program.hook('preAction', (_root, action) => {
    running = action;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // a usage error commander printed already (it exits, or with exitOverride, as in tests, throws)
    if (err instanceof CommanderError && printedUsageErrors.has(err.message)) throw err;
    reportCliError(running ?? program, err, isVerbose(running));
  }
}

export async function main(argv: string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}
