// The chaos scenario matrix: network faults (loss, delay, partitions), crashes (kill -9), a skewed clock
// and Byzantine members, alone and combined, each within the fault budget f = n − t (faulty members of
// any kind together). `npm run bench -- chaos` runs all of it; test/chaos/chaos.test.ts a small part.
import { thresholdOf } from '../devnet/live-network.ts';
import type { ByzantineMode } from './byzantine.ts';
import { delayUnavailable, type LinkShape } from './netns.ts';
import type { Scenario, ScenarioContext } from './scenarios.ts';

export interface MatrixOptions {
  n: number;
  /** How long a fault lasts before it heals (the issue's partitions: 30 s). */
  faultMs: number;
}

const sec = (ms: number) => `${Math.round(ms / 1000)} s`;

/** Delay, jitter and loss on every member's egress (`delay.ms ± jitterMs` uniform per packet, which
 *  reorders; a link between two members is delayed both ways). Throws when delay is asked for and cannot be made. */
async function lossy(ctx: ScenarioContext, lossPct: number, delay?: { ms: number; jitterMs: number; reorderPct?: number }, on: readonly number[] = ctx.members): Promise<string> {
  const shape: LinkShape = { lossPct, ...(delay ? { delayMs: delay.ms, jitterMs: delay.jitterMs, reorderPct: delay.reorderPct ?? 0 } : {}) };
  await Promise.all(on.map((k) => ctx.c.netns.shape(k, shape)));
  return delay ? `${lossPct}% loss, ${delay.ms}±${delay.jitterMs} ms${delay.reorderPct ? `, ${delay.reorderPct}% reordered` : ''}` : `${lossPct}% loss`;
}

/** Rows that need delay (`needsDelay`) say why they cannot run here; the test and the benches skip them then. */
const delayNote = (): string => {
  const why = delayUnavailable();
  return why ? ` [no delay here: ${why}]` : '';
};

const byzantine = (modes: ByzantineMode[]) => (ctx: ScenarioContext) => new Map(ctx.pick(modes.length).map((k, i) => [k, modes[i]!] as const));

export function matrix(o: MatrixOptions): Scenario[] {
  const f = o.n - thresholdOf(o.n);
  const t = o.faultMs;
  const list: Scenario[] = [
    {
      needsDelay: true,
      name: `100±50 ms delay + 5% loss on every link, ${sec(t)}${delayNote()}`,
      run: async (ctx) => {
        ctx.log(`  every member's egress: ${await lossy(ctx, 5, { ms: 100, jitterMs: 50 })}`);
        await ctx.hold(t);
      },
    },
    {
      needsDelay: true,
      name: `200 ms delay on a minority (${f}) + 50±25 ms on the rest + 10% loss everywhere, ${sec(t)}${delayNote()}`,
      run: async (ctx) => {
        const slow = ctx.pick(f);
        const rest = ctx.members.filter((m) => !slow.includes(m));
        ctx.log(`  [${slow}]: ${await lossy(ctx, 10, { ms: 200, jitterMs: 0 }, slow)}; [${rest}]: ${await lossy(ctx, 10, { ms: 50, jitterMs: 25, reorderPct: 2 }, rest)}`);
        await ctx.hold(t);
      },
    },
    {
      name: `minority partition (${f}), ${sec(t)}`,
      run: async (ctx) => {
        const minority = ctx.pick(f);
        ctx.c.netns.partition(minority, ctx.members.filter((m) => !minority.includes(m)));
        ctx.log(`  partition [${minority}] | rest`);
        await ctx.hold(t);
      },
    },
    {
      name: `majority partition (no side has t), ${sec(t)}`,
      run: async (ctx) => {
        const a = ctx.pick(Math.floor(o.n / 2));
        const b = ctx.members.filter((m) => !a.includes(m));
        ctx.c.netns.partition(a, b);
        ctx.log(`  partition [${a}] | [${b}]`);
        await ctx.hold(t);
      },
    },
    {
      name: `one-way cut + isolation, ${sec(t)}`,
      run: async (ctx) => {
        const [x, y] = ctx.pick(2);
        ctx.c.netns.cut(x!, y!);
        if (f >= 2) ctx.c.netns.isolate(y!);
        ctx.log(`  node ${x} cannot send to ${y}${f >= 2 ? `; node ${y} isolated` : ''}`);
        await ctx.hold(t);
      },
    },
    {
      name: `kill -9 ${f} + restart after ${sec(t / 2)}`,
      run: async (ctx) => {
        const victims = ctx.pick(f);
        for (const k of victims) await ctx.kill9(k);
        await ctx.hold(t / 2);
        for (const k of victims) await ctx.restart(k);
      },
    },
    {
      name: `clock 30 s ahead and 30 s behind, ${sec(t)}`,
      skew: (ctx) => new Map(ctx.pick(Math.min(f, 2)).map((k, i) => [k, i === 0 ? 30_000 : -30_000] as const)),
      run: (ctx) => ctx.hold(t),
    },
  ];
  // Byzantine members, f at a time, every mode at least once.
  const modes: ByzantineMode[] = ['wrong-output', 'invalid-partial', 'other-report', 'equivocate', 'replay', 'oversized', 'malformed', 'flood', 'withhold'];
  for (let i = 0; i < modes.length; i += f) {
    const group = modes.slice(i, i + f);
    list.push({ name: `byzantine ${group.join(' + ')}, ${sec(t)}`, byzantine: byzantine(group), run: (ctx) => ctx.hold(t) });
  }
  list.push(...combined(o));
  return list;
}

/** Faults at once: the small matrix the vitest runs, and the last rows of the full one. */
export function combined(o: MatrixOptions): Scenario[] {
  const f = o.n - thresholdOf(o.n);
  const t = o.faultMs;
  const rows: Scenario[] = [
    {
      needsDelay: true,
      name: `combined: 75±25 ms delay + 3% loss + equivocating member + minority partition, ${sec(t)}${delayNote()}`,
      byzantine: byzantine(['equivocate']),
      run: async (ctx) => {
        ctx.log(`  every member's egress: ${await lossy(ctx, 3, { ms: 75, jitterMs: 25, reorderPct: 1 })}`);
        if (f >= 2) {
          const honest = ctx.pick(1, [...ctx.c.byzantineMembers().keys()]);
          ctx.c.netns.partition(honest, ctx.members.filter((m) => !honest.includes(m)));
          ctx.log(`  partition [${honest}] | rest`);
        }
        await ctx.hold(t);
      },
    },
    {
      name: `combined: 3% loss + kill -9 + restart${f >= 2 ? ' + invalid-partial member' : ''}, ${sec(t)}`,
      ...(f >= 2 ? { byzantine: byzantine(['invalid-partial']) } : {}),
      run: async (ctx) => {
        await lossy(ctx, 3);
        const [victim] = ctx.pick(1, [...ctx.c.byzantineMembers().keys()]);
        await ctx.kill9(victim!);
        await ctx.hold(t / 2);
        await ctx.restart(victim!);
        await ctx.hold(t / 2);
      },
    },
    {
      needsDelay: true,
      name: `combined: clock 30 s off + 100±50 ms delay + 5% loss${f >= 2 ? ' + withholding member' : ''}, ${sec(t)}${delayNote()}`,
      skew: (ctx) => new Map([[ctx.pick(1)[0]!, 30_000]]),
      ...(f >= 2 ? { byzantine: (ctx: ScenarioContext) => new Map([[ctx.pick(1, [...ctx.c.byzantineMembers().keys()])[0]!, 'withhold' as ByzantineMode]]) } : {}),
      run: async (ctx) => {
        ctx.log(`  every member's egress: ${await lossy(ctx, 5, { ms: 100, jitterMs: 50 })}`);
        await ctx.hold(t);
      },
    },
  ];
  return rows;
}
