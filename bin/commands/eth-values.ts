// `destra eth request --values ...`: the one input convention on the Ethereum request command too. The
// adapter's command (adapters/ethereum/src/cli.ts) takes the canonical bytes (--input); this adds
// --values, encoded by the model's input codec as `destra models encode` does (the adapter cannot import
// the node's codec: dependencies point down).
import { Command, InvalidArgumentError } from 'commander';
import { encodeModelInput, manifestOf, parseValues } from './models-encode.ts';

export function extendEthRequest(program: Command): void {
  const request = program.commands.find((c) => c.name() === 'eth')?.commands.find((c) => c.name() === 'request');
  if (!request) return;
  const input = request.options.find((o) => o.long === '--input');
  if (!input) return;
  input.mandatory = false;
  input.description = `${input.description}; or give --values`;
  request.option('--values <list>', "feature values in the model's manifest order, comma-separated: encoded as `destra models encode` does (instead of --input)", parseValues);
  request.hook('preAction', (cmd) => {
    const o = cmd.opts() as { input?: string; values?: number[]; model: string };
    if (o.input && o.values) throw new InvalidArgumentError('give --input (canonical bytes) or --values (feature values), not both');
    if (o.values) {
      if (/^0x[0-9a-fA-F]{64}$/.test(o.model)) throw new InvalidArgumentError('--values needs the model by name (its manifest gives the encoding), not a bytes32 id; or encode with `destra models encode` and pass --input');
      // the adapter's --input parser yields 0x hex; the same form here
      cmd.setOptionValue('input', encodeModelInput(manifestOf(o.model), o.values).input);
      return;
    }
    if (!o.input) {
      throw new InvalidArgumentError(`give the request input: --values x,y,… (feature values in the model's manifest order) or --input 0x… (the canonical bytes \`destra models encode --model ${o.model} --values x,y,…\` prints)`);
    }
  });
}
