// Passing a governance proposal end to end (propose, vote, queue after the voting period, execute after
// the timelock), for deployments and tests where the voters' keys are at hand (the devnet, contract tests).
import { decodeEventLog, encodeFunctionData, type Abi, type Address, type Hex } from 'viem';
import { destraGovernorAbi } from './abi.ts';
import { sendTx, type Clients } from './deploy-util.ts';

export interface ProposalCall {
  target: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  description: string;
}

export interface PassOptions {
  /**
   * Moves chain time forward by `seconds` (e.g. anvil's evm_increaseTime + evm_mine). Default: wait in real
   * time until a new block's timestamp is past the deadline (a chain whose blocks follow the wall clock).
   */
  advance?: (seconds: number) => Promise<void>;
  /** Polling interval while waiting in real time (default 500 ms). */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitPast(c: Clients, deadline: bigint, o: PassOptions): Promise<void> {
  const now = (await c.publicClient.getBlock({ blockTag: 'latest' })).timestamp;
  if (now > deadline) return;
  if (o.advance) return o.advance(Number(deadline - now) + 1);
  // automining chains stamp the next block with the wall clock: wait until that is past the deadline
  while (BigInt(Math.floor(Date.now() / 1000)) <= deadline) await sleep(o.pollMs ?? 500);
}

/**
 * Proposes `call` on the governor as voters[0], lets every voter vote for it, and queues and executes it
 * once the voting period and the timelock have passed. Returns the proposal id. Throws (with the
 * governor's revert) when the proposal cannot pass, e.g. the voters' stake is below the quorum.
 */
export async function passProposal(voters: readonly Clients[], governor: Address, call: ProposalCall, o: PassOptions = {}): Promise<bigint> {
  if (voters.length === 0) throw new Error('passProposal needs at least one voter (an operator with bonded stake)');
  const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args } as never) as Hex;
  const receipt = await sendTx(voters[0]!, governor, destraGovernorAbi, 'propose', [call.target, data, call.description]);
  let id: bigint | undefined;
  let voteEnd = 0n;
  for (const log of receipt.logs) {
    try {
      const ev = decodeEventLog({ abi: destraGovernorAbi, data: log.data, topics: log.topics });
      if (ev.eventName === 'ProposalCreated') ({ id, voteEnd } = ev.args as { id: bigint; voteEnd: bigint });
    } catch {
      /* a log of another contract */
    }
  }
  if (id === undefined) throw new Error('propose emitted no ProposalCreated event');
  // every voter is its own account: the votes go out together and land before a short voting period ends
  await Promise.all(voters.map((v) => sendTx(v, governor, destraGovernorAbi, 'castVote', [id, true])));
  await waitPast(voters[0]!, voteEnd, o);
  const queued = await sendTx(voters[0]!, governor, destraGovernorAbi, 'queue', [id]);
  let eta = 0n;
  for (const log of queued.logs) {
    try {
      const ev = decodeEventLog({ abi: destraGovernorAbi, data: log.data, topics: log.topics });
      if (ev.eventName === 'ProposalQueued') eta = (ev.args as { eta: bigint }).eta;
    } catch {
      /* not the governor's */
    }
  }
  await waitPast(voters[0]!, eta - 1n, o);
  await sendTx(voters[0]!, governor, destraGovernorAbi, 'execute', [id]);
  return id;
}
