// libp2p protocol ids (direct streams) and gossipsub topic names. Topics include the network name so two
// deployments sharing peers never mix messages.

/** Admission handshake: dialer sends Hello, listener answers Admission (with its own Hello). */
export const PROTOCOL_HELLO = '/destra/hello/1';
/** Member → aggregator: PartialSignature and BatchPartial frames. */
export const PROTOCOL_PARTIAL = '/destra/partial/1';
/** Member → aggregator (batch mode): ReportAnnouncement frames. */
export const PROTOCOL_ANNOUNCE = '/destra/announce/1';
/** Member → members (batch jobs): RangeProposal frames, the rows of one range each. */
export const PROTOCOL_RANGE_PROPOSAL = '/destra/range-proposal/1';

export const topics = (network: string) => ({
  /** RoundProposal from the on-demand leader. */
  rounds: `/destra/${network}/rounds/1`,
  /** BatchProposal from aggregators. */
  batches: `/destra/${network}/batches/1`,
  /** Combined results from aggregators. */
  combined: `/destra/${network}/combined/1`,
  /** DKG envelopes. */
  dkg: `/destra/${network}/dkg/1`,
  /** Epoch handover: DKG results of the next committee, the current committee's partials, signed handovers. */
  epochs: `/destra/${network}/epochs/1`,
});
export type Topics = ReturnType<typeof topics>;
