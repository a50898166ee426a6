// The process-wide policy for promise rejections nothing handled. Node's default ends the process, so a
// single request-scoped bug (one HTTP request, one peer message) would take the whole node down. A node
// process instead logs each one with its stack and counts it (destra_unhandled_rejections_total): it is
// a bug to report, never a reason to stop serving. Installed by process entries (CLI, devnet), not by
// startNode, so an in-process test runner still sees and fails on them.
import type { Logger } from 'pino';

let installed: ((reason: unknown) => void) | undefined;

export function installRejectionPolicy(log: Logger, count?: () => void): () => void {
  if (installed) process.off('unhandledRejection', installed);
  const handler = (reason: unknown): void => {
    count?.();
    const err = reason instanceof Error ? { message: reason.message, name: reason.name, stack: reason.stack } : { value: String(reason) };
    log.error({ err }, 'unhandled promise rejection (bug; the node keeps running)');
  };
  installed = handler;
  process.on('unhandledRejection', handler);
  return () => {
    process.off('unhandledRejection', handler);
    if (installed === handler) installed = undefined;
  };
}
