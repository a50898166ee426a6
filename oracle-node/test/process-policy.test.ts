// The process-wide rejection policy of node processes: an unhandled rejection is logged with its stack
// and counted; the process keeps running (Node's default would end it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('unhandled rejections in a node process', () => {
  it('are logged and counted, never fatal', () => {
    const child = fileURLToPath(new URL('./rejecting-child.ts', import.meta.url));
    const out = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const logged = lines.find((l) => l.msg?.startsWith('unhandled promise rejection'));
    expect(logged?.err.message).toBe('request-scoped failure nobody awaited');
    expect(logged?.err.stack).toMatch(/rejecting-child\.ts/);
    expect(lines.at(-1)).toEqual({ alive: true, count: 1 });
  }, 30_000);
});
