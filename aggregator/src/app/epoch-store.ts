// Sharings the aggregator accepted (they matched the registry), kept in <dataDir>/epochs.json so a restart
// does not have to wait for a dkg-result the committee may no longer publish. Read back through
// EpochBook.offer: still checked against the registry, never trusted as is.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fromHex, toHex } from '@destra/protocol';

/** Epochs kept in the file (newest). */
const KEEP = 8;

export interface StoredSharing {
  epoch: number;
  commitments: Uint8Array[];
}

export class EpochStore {
  constructor(readonly path: string) {}

  /** What the file holds; an unreadable file reads as empty (it is only a cache). */
  load(): StoredSharing[] {
    if (!existsSync(this.path)) return [];
    try {
      const raw = JSON.parse(readFileSync(this.path, 'utf8')) as { epochs?: { epoch: number; commitments: string[] }[] };
      return (raw.epochs ?? []).flatMap((e) =>
        Number.isSafeInteger(e.epoch) && Array.isArray(e.commitments) ? [{ epoch: e.epoch, commitments: e.commitments.map((c) => fromHex(c)) }] : [],
      );
    } catch {
      return [];
    }
  }

  save(s: StoredSharing): void {
    const all = this.load().filter((e) => e.epoch !== s.epoch);
    all.push(s);
    all.sort((a, b) => a.epoch - b.epoch);
    const kept = all.slice(-KEEP);
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ epochs: kept.map((e) => ({ epoch: e.epoch, commitments: e.commitments.map((c) => toHex(c)) })) }, null, 2), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
