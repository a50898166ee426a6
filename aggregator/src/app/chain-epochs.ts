// Chain-driven epochs: polls CommitteeRegistry for the current epoch, the committee and installed keys of
// the current and previous epoch (EpochBook.setCommittee: sharings are accepted only when they match), and
// the operator directory — every registered operator is admitted as a member-role peer (Hello index = its
// 1-based registry position, bound to its operator key and published peer id) and dialled at its published
// multiaddrs, so members need not know the aggregator's address.
import type { Logger } from 'pino';
import { hexToBytes, type Hex } from 'viem';
import type { DirectoryEntry, EpochInfo, GroupKey } from '@destra/adapter-ethereum';
import type { Registration, Registry } from '@destra/oracle-node';
import type { EpochBook, EpochCommitteeInfo } from '../core/epochs.ts';

/** The registry reads the follower makes (the Ethereum adapter's CommitteeReader fits). */
export interface RegistryView {
  currentEpoch(): Promise<bigint>;
  epochInfo(epoch: bigint): Promise<EpochInfo>;
  groupKey(epoch: bigint): Promise<GroupKey>;
  committeeDirectory(epoch: bigint): Promise<DirectoryEntry[]>;
  operatorDirectory(): Promise<DirectoryEntry[]>;
}

export interface ChainEpochFollowerOptions {
  reader: RegistryView;
  book: EpochBook;
  /** The host's registry: replaced by the chain's operators (role member) plus `aggregators`. */
  registry: Registry;
  /** Aggregator registrations (from the config), kept next to the chain's operators. */
  aggregators?: readonly Registration[];
  /** Dials one multiaddr (host.connect); absent: the aggregator dials nobody. */
  dial?: (addr: string) => Promise<void>;
  /** Whether the operator at registry position `index` is connected and admitted (host.peerFor('member', index)). */
  isConnected?: (index: number) => boolean;
  log: Logger;
  /** Between registry polls (default 5 s). */
  pollIntervalMs?: number;
  /** Between operator directory reads when the epoch does not change (default 60 s). */
  directoryRefreshMs?: number;
  /** Longest wait before dialling an unreachable operator again (default 60 s; doubles from pollIntervalMs). */
  maxRedialMs?: number;
}

interface DialState {
  next: number;
  delay: number;
  warned: boolean;
}

const MIN_REFRESH_GAP_MS = 500;

export class ChainEpochFollower {
  /** Unix ms of the last successful poll; the last poll's error, if it failed. */
  lastPollAt: number | undefined;
  lastError: string | undefined;
  private directory: DirectoryEntry[] = [];
  private directoryKey = '';
  private directoryAt = -Infinity;
  private readonly dials = new Map<string, DialState>();
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastRefreshStart = -Infinity;

  constructor(private readonly o: ChainEpochFollowerOptions) {}

  /** The operator directory as last read (registry order). */
  get operators(): readonly DirectoryEntry[] {
    return this.directory;
  }

  /** Polls now and every pollIntervalMs. Resolves after the first poll (which logs, never throws). */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.soon);
    await this.running?.catch(() => undefined);
  }

  /** One poll (concurrent callers share it; a call during a poll runs one more after it). Never throws. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.lastRefreshStart = Date.now();
    const run = this.poll()
      .then(() => {
        this.lastPollAt = Date.now();
        this.lastError = undefined;
      })
      .catch((err: unknown) => {
        const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
        if (msg !== this.lastError) this.o.log.warn({ err: msg }, 'reading the committee registry failed; retrying on the next poll');
        this.lastError = msg;
      })
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.refresh();
        }
      });
    this.running = run;
    return run;
  }

  /** A poll soon (input for an epoch the book does not know arrived, a handover was relayed); rate-limited. */
  refreshSoon(): void {
    if (this.stopped || this.soon) return;
    const wait = Math.max(0, this.lastRefreshStart + MIN_REFRESH_GAP_MS - Date.now());
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, wait);
    this.soon.unref();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.o.pollIntervalMs ?? 5_000);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const { reader, book } = this.o;
    const current = Number(await reader.currentEpoch());
    if (this.stopped) return;
    const changed = current !== book.current;
    if (current === 0) {
      if (changed) this.o.log.info({}, 'the committee registry has no genesis yet');
    } else {
      if (changed) this.o.log.info({ epoch: current, previous: book.current }, 'registry epoch');
      book.setCurrent(current);
      for (const e of [current - 1, current]) if (e >= 1 && !book.committee(e)) await this.readEpoch(e);
    }
    if (changed || Date.now() - this.directoryAt >= (this.o.directoryRefreshMs ?? 60_000)) await this.readDirectory();
    this.dialMissing();
  }

  private async readEpoch(epoch: number): Promise<void> {
    const e = BigInt(epoch);
    const [info, key, dir] = await Promise.all([this.o.reader.epochInfo(e), this.o.reader.groupKey(e), this.o.reader.committeeDirectory(e)]);
    if (dir.length !== info.committeeSize) {
      this.o.log.warn({ epoch, members: dir.length, committeeSize: info.committeeSize }, 'the registry lists a committee of another size than the epoch records');
    }
    const committee: EpochCommitteeInfo = {
      epoch,
      threshold: info.threshold,
      size: info.committeeSize,
      members: dir.map((d, i) => ({ index: i + 1, operatorKey: d.operatorKey.toLowerCase(), address: d.address })),
      expected: { groupKey: key.compressed, sharesRoot: hexToBytes(info.sharesRoot as Hex) },
    };
    this.o.log.info({ epoch, t: info.threshold, n: info.committeeSize, members: dir.map((d) => d.address) }, 'epoch committee read from the registry');
    await this.o.book.setCommittee(committee);
  }

  private async readDirectory(): Promise<void> {
    const dir = await this.o.reader.operatorDirectory();
    this.directoryAt = Date.now();
    const regs: Registration[] = dir.map((d, i) => ({
      role: 'member',
      index: i + 1,
      operatorKey: hexToBytes(d.operatorKey as Hex),
      ...(d.peerId ? { peerId: d.peerId } : {}),
      addrs: d.multiaddrs,
    }));
    const key = JSON.stringify(dir.map((d) => [d.operatorKey.toLowerCase(), d.peerId, d.multiaddrs]));
    this.directory = dir;
    if (key === this.directoryKey) return;
    this.directoryKey = key;
    this.o.registry.replace([...regs, ...(this.o.aggregators ?? [])]);
    this.o.log.info({ operators: dir.length, withNodeInfo: dir.filter((d) => d.peerId && d.multiaddrs.length > 0).length }, 'operator directory read from the registry');
  }

  /** Dials every operator with published addresses that is not connected (backing off per operator). */
  private dialMissing(): void {
    const { dial, isConnected } = this.o;
    if (!dial || this.stopped) return;
    const now = Date.now();
    this.directory.forEach((d, i) => {
      const index = i + 1;
      if (!d.peerId || d.multiaddrs.length === 0) return;
      const id = d.operatorKey.toLowerCase();
      if (isConnected?.(index)) {
        this.dials.delete(id);
        return;
      }
      const st = this.dials.get(id) ?? { next: 0, delay: this.o.pollIntervalMs ?? 5_000, warned: false };
      if (now < st.next) return;
      st.next = now + st.delay;
      st.delay = Math.min(st.delay * 2, this.o.maxRedialMs ?? 60_000);
      this.dials.set(id, st);
      const addrs = d.multiaddrs.map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${d.peerId}`));
      void (async () => {
        const errors: string[] = [];
        for (const a of addrs) {
          try {
            await dial(a);
            return;
          } catch (err) {
            errors.push(`${a}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
        if (this.stopped) return;
        const entry = { operator: d.address, index, errors };
        if (!st.warned) this.o.log.warn(entry, 'could not dial an operator at its published addresses (it may dial us)');
        else this.o.log.debug(entry, 'operator still unreachable');
        st.warned = true;
      })();
    });
  }
}
