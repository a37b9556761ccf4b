/**
 * Prometheus metrics of the CDS Hooks service, on the engine's registry: calls by service and HTTP status, and the
 * answer time by service (the 500 ms CDS Hooks asks for is watched here). The service label takes only the served
 * ids (anything else counts as `unknown`), so a caller cannot grow the label set.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** The CDS metrics. */
export interface CdsMetrics {
  calls: Counter<'service' | 'status'>;
  seconds: Histogram<'service'>;
  feedback: Counter<'service' | 'outcome'>;
}

/** Registers the CDS metrics on `registry`. */
export function createCdsMetrics(registry: Registry): CdsMetrics {
  const registers = [registry];
  return {
    calls: new Counter({
      name: 'ecgcad_cds_calls_total',
      help: 'CDS Hooks service calls by service id and HTTP status (401 refused JWT, 412 FHIR data unavailable).',
      labelNames: ['service', 'status'],
      registers,
    }),
    seconds: new Histogram({
      name: 'ecgcad_cds_call_duration_seconds',
      help: 'Time to answer a CDS Hooks service call, by service id.',
      labelNames: ['service'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    feedback: new Counter({
      name: 'ecgcad_cds_feedback_total',
      help: 'Card outcomes the EHR reported (accepted, overridden), by service id.',
      labelNames: ['service', 'outcome'],
      registers,
    }),
  };
}
