// Which stream a batch job's range is on (protocol/src/report/range.ts jobRangeStream): the proposer's job
// stream and everything the proposal puts into the range's reports. The proposer and every member derive
// it the same way from the proposal, so one range id always means one content.
import { jobRangeStream } from '@destra/protocol';
import type { FastHasher } from '@destra/aggregator/fast-hash';
import type { RangeProposal } from '../wire.ts';

export function rangeStreamOf(jobStream: Uint8Array, p: RangeProposal, hasher: Pick<FastHasher, 'keccak' | 'keccakFlat'>): Uint8Array {
  // The rows as one message through the batch path (native Keccak when built: hundreds of kB per range).
  const rowsHash = p.rows.length > 0 ? hasher.keccakFlat(p.rows, p.rows.length) : hasher.keccak(p.rows);
  return jobRangeStream(jobStream, { model: p.model, timestamp: p.timestamp, epoch: p.epoch, rowLength: p.rowLength, rowsHash });
}
