// Batch-mode input (member → aggregator): ReportAnnouncement lives in protocol/src/wire; re-exported
// here for the aggregator's modules.
export { MAX_ANNOUNCE_ENTRIES, PROTOCOL_ANNOUNCE, ReportAnnouncementCodec, type ReportAnnouncement } from '../wire.ts';
