// Prometheus metrics of one node. Each node owns its registry, so several nodes can share a process.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class NodeMetrics {
  readonly registry = new Registry();
  readonly rounds = new Counter({ name: 'destra_rounds_total', help: 'Rounds by kind and outcome', labelNames: ['kind', 'outcome'] as const, registers: [this.registry] });
  readonly roundLatency = new Histogram({
    name: 'destra_round_latency_seconds',
    help: 'From request received to threshold signature received',
    labelNames: ['kind'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly partialsSent = new Counter({ name: 'destra_partials_sent_total', help: 'Partial signatures delivered to aggregators', registers: [this.registry] });
  readonly batchPartials = new Counter({ name: 'destra_batch_partials_total', help: 'Batch roots signed', registers: [this.registry] });
  readonly peers = new Gauge({ name: 'destra_peers', help: 'Admitted peers by role', labelNames: ['role'] as const, registers: [this.registry] });
  readonly inferenceRows = new Counter({ name: 'destra_inference_rows_total', help: 'Model inferences run', labelNames: ['model'] as const, registers: [this.registry] });
  readonly inferenceSeconds = new Histogram({
    name: 'destra_inference_seconds',
    help: 'Inference time per request',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly rejected = new Counter({ name: 'destra_messages_rejected_total', help: 'Network messages dropped, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly epoch = new Gauge({ name: 'destra_epoch', help: 'Epoch of the active key share', registers: [this.registry] });
  readonly connectionsDropped = new Counter({ name: 'destra_api_connections_dropped_total', help: 'HTTP connections closed at the connection cap (evicted idle, or refused when all were busy)', labelNames: ['why'] as const, registers: [this.registry] });
  readonly unhandledRejections = new Counter({ name: 'destra_unhandled_rejections_total', help: 'Promise rejections nothing handled (logged, never fatal); any is a bug to report', registers: [this.registry] });
  readonly dkgRuns = new Counter({ name: 'destra_dkg_runs_total', help: 'DKG ceremonies by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  /** A model refused because this node did not reproduce its reference vectors bit for bit (docs/determinism.md). */
  readonly modelSelfCheckFailures = modelSelfCheckCounter(this.registry);
}

/** destra_model_selfcheck_failures_total{model}, created once per registry (the node and its model service share it). */
export function modelSelfCheckCounter(registry: Registry): Counter<'model'> {
  const name = 'destra_model_selfcheck_failures_total';
  return (registry.getSingleMetric(name) as Counter<'model'> | undefined) ?? new Counter({ name, help: 'Models refused at load: reference vectors not reproduced bit for bit, missing, or pinned to another hardware family', labelNames: ['model'] as const, registers: [registry] });
}
