// Prints a plain "N passed, N failed, N skipped" closing line that any CI log reader understands.
import type { Reporter } from 'vitest/reporters';

type Task = { type: string; mode?: string; name?: string; filepath?: string; result?: { state?: string; duration?: number }; tasks?: Task[] };

function count(tasks: Task[], acc = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, acc);
    if (t.type !== 'test') continue;
    const state = t.result?.state;
    if (state === 'pass') acc.passed++;
    else if (state === 'fail') acc.failed++;
    else acc.skipped++;
  }
  return acc;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: Task[] = [], errors: unknown[] = []): void {
    const { passed, failed, skipped } = count(files);
    const fileFailures = files.filter((f) => f.result?.state === 'fail' && !(f.tasks ?? []).length).length;
    // The slowest files, so a suite creeping towards CI's budget shows where its time goes.
    const slow = files
      .map((f) => ({ name: f.name ?? f.filepath ?? '?', ms: f.result?.duration ?? 0 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12);
    if (slow.length) console.log(`\nslowest files:\n${slow.map((f) => `  ${(f.ms / 1000).toFixed(1).padStart(7)} s  ${f.name}`).join('\n')}`);
    console.log(`\ntests: ${passed} passed, ${failed + fileFailures + errors.length} failed, ${skipped} skipped`);
  }
}
