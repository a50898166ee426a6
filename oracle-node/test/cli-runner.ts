// Runs only the `destra node` command tree (bin/commands/node.ts) for CLI tests.
import { Command } from 'commander';
import { register } from '../../bin/commands/node.ts';

const program = new Command('destra');
register(program);
await program.parseAsync(process.argv);
