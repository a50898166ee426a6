// Prometheus metrics of the range protocol and the batch API, on the node's registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export class RangeMetrics {
  readonly proposals: Counter<'outcome'>;
  readonly rows: Counter<'stage'>;
  readonly jobs: Counter<'outcome'>;
  readonly runningJobs: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.proposals = new Counter({ name: 'destra_range_proposals_total', help: 'Range proposals handled here: committed, or refused/failed by reason', labelNames: ['outcome'] as const, registers });
    this.rows = new Counter({ name: 'destra_range_rows_total', help: 'Rows of ranges by stage: committed here; certified-here (the certificate checked here); certificate-unchecked (kept unchecked until a lookup: ranges of jobs other members took; counted again under certified-here if a lookup checks it)', labelNames: ['stage'] as const, registers });
    this.jobs = new Counter({ name: 'destra_batch_jobs_total', help: 'Batch jobs by outcome (created, done, refused)', labelNames: ['outcome'] as const, registers });
    this.runningJobs = new Gauge({ name: 'destra_batch_jobs_running', help: 'Batch jobs running on this node', registers });
  }
}
