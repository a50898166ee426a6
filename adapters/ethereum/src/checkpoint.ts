// Where the request watcher remembers how far it got, so a restarted node resumes without missing or
// repeating requests. The store is pluggable (the oracle node backs it with SQLite); an in-memory and a
// JSON-file implementation live here.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isHex, type Hex } from 'viem';
import { CheckpointError } from './errors.ts';

/**
 * Position of the last request handed to the application. `logIndex === null` means every log of
 * `blockNumber` was processed; otherwise logs up to and including `logIndex` in that block were.
 */
export interface Checkpoint {
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number | null;
}

export interface CheckpointStore {
  load(key: string): Promise<Checkpoint | undefined>;
  save(key: string, checkpoint: Checkpoint): Promise<void>;
}

/** True when the log at (block, logIndex) is at or before the checkpoint, i.e. already processed. */
export function isProcessed(cp: Checkpoint | undefined, blockNumber: bigint, logIndex: number): boolean {
  if (!cp) return false;
  if (blockNumber !== cp.blockNumber) return blockNumber < cp.blockNumber;
  return cp.logIndex === null || logIndex <= cp.logIndex;
}

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly entries = new Map<string, Checkpoint>();
  async load(key: string): Promise<Checkpoint | undefined> {
    const cp = this.entries.get(key);
    return cp && { ...cp };
  }
  async save(key: string, checkpoint: Checkpoint): Promise<void> {
    this.entries.set(key, { ...checkpoint });
  }
}

const MAX_FILE_BYTES = 1 << 20;

interface StoredCheckpoint {
  blockNumber: string;
  blockHash: string;
  logIndex: number | null;
}

function parseCheckpoint(raw: unknown, where: string): Checkpoint {
  const r = raw as Partial<StoredCheckpoint> | null;
  if (typeof r !== 'object' || r === null) throw new CheckpointError(`${where}: expected an object`);
  if (typeof r.blockNumber !== 'string' || !/^\d{1,20}$/.test(r.blockNumber)) throw new CheckpointError(`${where}: blockNumber must be a decimal string`);
  if (typeof r.blockHash !== 'string' || !isHex(r.blockHash, { strict: true }) || r.blockHash.length !== 66) {
    throw new CheckpointError(`${where}: blockHash must be 32-byte 0x hex`);
  }
  if (r.logIndex !== null && !(Number.isSafeInteger(r.logIndex) && (r.logIndex as number) >= 0)) {
    throw new CheckpointError(`${where}: logIndex must be null or a non-negative integer`);
  }
  return { blockNumber: BigInt(r.blockNumber), blockHash: r.blockHash as Hex, logIndex: r.logIndex ?? null };
}

/**
 * Checkpoints in one JSON file (`{ key: { blockNumber, blockHash, logIndex } }`), rewritten atomically
 * (temp file + rename) so a crash mid-write leaves the previous version intact. Writes are serialised.
 */
export class JsonFileCheckpointStore implements CheckpointStore {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly path: string) {}

  async load(key: string): Promise<Checkpoint | undefined> {
    const all = await this.readAll();
    const raw = all[key];
    return raw === undefined ? undefined : parseCheckpoint(raw, `${this.path} [${key}]`);
  }

  save(key: string, checkpoint: Checkpoint): Promise<void> {
    const run = this.queue.then(async () => {
      const all = await this.readAll();
      all[key] = { blockNumber: checkpoint.blockNumber.toString(), blockHash: checkpoint.blockHash, logIndex: checkpoint.logIndex };
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(all, null, 2));
        await rename(tmp, this.path);
      } catch (e) {
        throw new CheckpointError(`cannot write checkpoint file ${this.path}: ${(e as Error).message}; check the directory is writable`, { cause: e });
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readAll(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      const info = await stat(this.path);
      if (info.size > MAX_FILE_BYTES) throw new CheckpointError(`checkpoint file ${this.path} is ${info.size} bytes (max ${MAX_FILE_BYTES}); it is not a checkpoint file, move it away`);
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      if (e instanceof CheckpointError) throw e;
      throw new CheckpointError(`cannot read checkpoint file ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new CheckpointError(`checkpoint file ${this.path} is not valid JSON; delete it to rescan from the configured start block`, { cause: e });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CheckpointError(`checkpoint file ${this.path} must hold a JSON object keyed by watcher; delete it to rescan`);
    }
    return parsed as Record<string, unknown>;
  }
}
