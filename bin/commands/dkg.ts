// `destra dkg simulate`: a full DKG ceremony in one process, then a t-of-n signature under the new key.
import { Command, InvalidArgumentError } from 'commander';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { FAULT_KINDS, PartialVerifier, signPartial, simulateDkg, verify } from '@destra/protocol';
import { printTable } from '../../scripts/bench-table.ts';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

export function register(program: Command): void {
  const dkg = program.command('dkg').description('distributed key generation (Joint-Feldman with complaints)');
  dkg
    .command('simulate')
    .description('run a DKG among n in-process members, sign with t shares and verify under the group key')
    .requiredOption('--n <n>', 'committee size', intArg('--n', 1, 256))
    .requiredOption('--t <t>', 'threshold', intArg('--t', 1, 256))
    .option('--faulty <k>', `members that misbehave (cycling through: ${FAULT_KINDS.join(', ')})`, intArg('--faulty', 0, 255), 0)
    .option('--backend <name>', 'curve arithmetic backend: auto (mcl-wasm when it loads) or noble', 'auto')
    .action(async (o: { n: number; t: number; faulty: number; backend: 'auto' | 'noble' }) => {
      if (o.t > o.n) throw new InvalidArgumentError('--t must not exceed --n');
      if (o.faulty > o.n - o.t) console.warn(`warning: ${o.faulty} faulty members leave fewer than t=${o.t} honest dealers; the ceremony will fail`);
      const started = performance.now();
      const report = await simulateDkg({ n: o.n, t: o.t, faulty: o.faulty, backend: o.backend });
      const honest = [...report.results.values()];
      const msg = utf8ToBytes(`destra dkg simulate n=${o.n} t=${o.t}`);
      const signStart = performance.now();
      const partials = honest.slice(0, o.t).map((r) => signPartial(r.share, msg));
      const verifier = await PartialVerifier.create(honest[0]!.sharing, { backend: o.backend });
      const { invalid } = verifier.verifyBatch(msg, partials);
      const signature = verifier.combine(partials);
      const ok = invalid.length === 0 && verify(report.groupPublicKey, msg, signature);
      const signMs = performance.now() - signStart;
      printTable(`DKG n=${o.n} t=${o.t} faulty=${o.faulty} (backend ${verifier.backend})`, [
        ...report.timingsMs.map((p) => ({ phase: p.phase, 'ms (all members)': p.ms })),
        { phase: `sign with ${o.t} shares + combine + verify`, 'ms (all members)': signMs },
        { phase: 'total', 'ms (all members)': performance.now() - started },
      ]);
      const disq = honest[0]!.disqualified;
      console.log(`\nqualified dealers: ${report.qualified.length}/${o.n}${disq.length ? `; disqualified: ${disq.map((d) => `${d.dealer} (${d.reason})`).join(', ')}` : ''}`);
      console.log(`group public key: ${Buffer.from(report.groupPublicKey).toString('hex')}`);
      console.log(`group signature: ${Buffer.from(signature).toString('hex')} → ${ok ? 'valid' : 'INVALID'}`);
      process.exitCode = ok ? 0 : 1;
    });
}
