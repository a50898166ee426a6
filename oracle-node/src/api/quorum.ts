// The committee-reachability part of /health: can this node still get a threshold signature?
// A signature needs `threshold` members (t of n). Reachable = this node (when it is a member) plus the
// members of the current committee it is connected to:
//   reachable >  t  → ok        (one more member can fail and rounds still sign)
//   reachable == t  → degraded  (rounds still sign; one more fault stops them) — HTTP 200, so load
//                                balancers keep routing to a node that still answers
//   reachable <  t  → down      (no round can sign) — HTTP 503
// Every member reachable is `ok` even when n = t (a 1-of-1 dev committee has no margin by design; only
// members actually lost make a node degraded).
import type { CommitteeView, NodeStatus } from './views.ts';

export type QuorumState = 'ok' | 'degraded' | 'down';

export interface QuorumView {
  state: QuorumState;
  /** Members this node can reach, itself included. */
  reachable: number;
  threshold: number;
  size: number;
}

/** The rule above, on counts alone. A committee with no threshold yet (t = 0) is not judged: `ok`. */
export function quorumState(reachable: number, threshold: number, size: number): QuorumState {
  if (threshold <= 0) return 'ok';
  if (reachable > threshold || reachable >= size) return 'ok';
  return reachable === threshold ? 'degraded' : 'down';
}

export function quorumOf(c: CommitteeView): QuorumView {
  const reachable = c.members.filter((m) => m.self || m.connected).length;
  return { state: quorumState(reachable, c.threshold, c.size), reachable, threshold: c.threshold, size: c.size };
}

/**
 * The node's own status with the quorum rule applied: only a member that is otherwise `ok` is judged
 * (a starting node, or one degraded for another reason, keeps its status and reasons). An observer is
 * not in the committee, so its own health does not depend on reaching one.
 */
export function withQuorum(s: NodeStatus, c: CommitteeView): NodeStatus {
  const self = c.members.some((m) => m.self);
  if (!self || !s.hasKeyShare) return s;
  const q = quorumOf(c);
  const withView = { ...s, quorum: q };
  if (s.status !== 'ok' || q.state === 'ok') return withView;
  const why =
    q.state === 'degraded'
      ? `only ${q.reachable} of ${q.size} members reachable, exactly the threshold ${q.threshold}: one more fault stops signing`
      : `only ${q.reachable} of ${q.size} members reachable, below the threshold ${q.threshold}: no round can be signed`;
  return { ...withView, status: q.state, reasons: [...(s.reasons ?? []), why] };
}

/**
 * HTTP code of /health: 200 while this node answers (`ok`, or `degraded` by the quorum rule alone),
 * 503 otherwise (`starting`, `down`, or a base status already degraded for a reason that stops answers:
 * no relay path, DKG failed, chain unreadable). `base` is the node's status before withQuorum.
 */
export function healthHttpCode(base: NodeStatus, judged: NodeStatus): 200 | 503 {
  return base.status === 'ok' && judged.status !== 'down' ? 200 : 503;
}
