// A hook the relayers call as each relay goes: when it starts (after the journal write, before the first
// attempt), on each failed attempt, and when it ends. The relay log (relay-log.ts) records these for the
// status endpoint's /v1/relays. An observer that throws is ignored: recording must never stop a relay.
import type { ChainName, RelayOutcome } from './relayer.ts';
import type { RangeOutcome } from './range-relayer.ts';

export interface RelayStart {
  /** 'report': one signed report (Relayer); 'range': a certified range of a chain request stream (RangeRelayer). */
  kind: 'report' | 'range';
  chain: ChainName;
  /** The request (report) ids the relay lands: one for a report, every report's for a range. */
  requestIds: Uint8Array[];
  /** rangeKey of a range relay. */
  range?: string;
}

export interface RelayWatch {
  attemptFailed(attempt: number, err: unknown): void;
  finished(outcome: RelayOutcome | RangeOutcome): void;
}

export interface RelayObserver {
  started(s: RelayStart): RelayWatch;
}

const NOOP: RelayWatch = { attemptFailed: () => undefined, finished: () => undefined };

/** The observer's watch for one relay, every call guarded (a throwing observer changes nothing). */
export function watchRelay(observer: RelayObserver | undefined, s: RelayStart): RelayWatch {
  if (!observer) return NOOP;
  let w: RelayWatch;
  try {
    w = observer.started(s);
  } catch {
    return NOOP;
  }
  return {
    attemptFailed: (attempt, err) => {
      try {
        w.attemptFailed(attempt, err);
      } catch {
        /* recording only */
      }
    },
    finished: (out) => {
      try {
        w.finished(out);
      } catch {
        /* recording only */
      }
    },
  };
}
