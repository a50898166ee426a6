// Start-up progress lines: "… step" while it runs, "✓ step (1.2 s)" or "✗ step: reason" when done.
export async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  process.stdout.write(`… ${title}\n`);
  try {
    const v = await fn();
    process.stdout.write(`✓ ${title} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    return v;
  } catch (err) {
    process.stdout.write(`✗ ${title}: ${(err as Error).message}\n`);
    throw err;
  }
}

export const info = (line: string): void => void process.stdout.write(`  ${line}\n`);
