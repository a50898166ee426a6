// Node processes of the devnet: spawned with their own stdout/stderr log files, stopped on exit/Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface NodeProcess {
  index: number;
  child: ChildProcess;
  api: string;
  logFile: string;
  stop(): Promise<void>;
}

const repoRoot = new URL('../../', import.meta.url).pathname;

export function spawnNode(index: number, configPath: string, chainsPath: string | undefined, logDir: string, timeoutMs = 60_000, env: Record<string, string> = {}): Promise<NodeProcess> {
  const logFile = join(logDir, `node${index}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/devnet/node-main.ts'), '--config', configPath, ...(chainsPath ? ['--chains', chainsPath] : [])], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stderr!.pipe(log);
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${index} did not start within ${timeoutMs} ms; see ${logFile}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${index} exited with code ${code} during start; see ${logFile}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('"devnet":"node-started"')) return;
      try {
        const msg = JSON.parse(line) as { api: string };
        clearTimeout(timer);
        resolve({ index, child, api: msg.api, logFile, stop });
      } catch {
        /* a log line that merely mentions it */
      }
    });
  });
}
