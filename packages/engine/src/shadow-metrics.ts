/**
 * Shadow mode's Prometheus metrics (docs/MONITORING.md): per vessel, the live x shadow stratum pairs, the running
 * agreement ratio and the |p_shadow - p_live| distribution, and the shadow faults by step. Counted since the process
 * started, per process; `ecgcad shadow report` gives the durable totals from the shadow store.
 */
import { type ShadowRecord, vesselPairs } from '@ecgcad/infer';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class ShadowMetrics {
  readonly pairs: Counter<'vessel' | 'live' | 'shadow'>;
  readonly agreement: Gauge<'vessel'>;
  readonly absDiff: Histogram<'vessel'>;
  readonly failures: Counter<'step'>;
  /** Per vessel: records and agreements seen by this process (the gauge is their ratio). */
  private readonly tally = new Map<string, { n: number; agreed: number }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.pairs = new Counter({
      name: 'ecgcad_shadow_stratum_pairs_total',
      help: 'ECGs scored by the live and the shadow model, by vessel, live stratum and shadow stratum.',
      labelNames: ['vessel', 'live', 'shadow'],
      registers,
    });
    this.agreement = new Gauge({
      name: 'ecgcad_shadow_agreement_ratio',
      help: 'Share of ECGs the shadow model puts in the same stratum as the live model, by vessel (this process).',
      labelNames: ['vessel'],
      registers,
    });
    this.absDiff = new Histogram({
      name: 'ecgcad_shadow_prob_abs_diff',
      help: 'Absolute difference of the shadow and live probabilities per ECG, by vessel (_sum / _count: the mean).',
      labelNames: ['vessel'],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
      registers,
    });
    this.failures = new Counter({
      name: 'ecgcad_shadow_failures_total',
      help: 'Shadow faults (the live result is unaffected), by step: score (shadow model) or record (metrics, store).',
      labelNames: ['step'],
      registers,
    });
    // Both steps are reported from the start, so an alert on rate() sees a zero before the first fault.
    this.failures.inc({ step: 'score' }, 0);
    this.failures.inc({ step: 'record' }, 0);
  }

  /** Counts one ECG both models scored. */
  observe(record: ShadowRecord): void {
    for (const pair of vesselPairs(record)) {
      this.pairs.inc({ vessel: pair.vessel, live: pair.live.stratum, shadow: pair.shadow.stratum });
      this.absDiff.observe({ vessel: pair.vessel }, Math.abs(pair.shadow.probability - pair.live.probability));
      const t = this.tally.get(pair.vessel) ?? { n: 0, agreed: 0 };
      t.n++;
      if (pair.live.stratum === pair.shadow.stratum) t.agreed++;
      this.tally.set(pair.vessel, t);
      this.agreement.set({ vessel: pair.vessel }, t.agreed / t.n);
    }
  }

  /** Counts one shadow fault. */
  failed(step: 'score' | 'record'): void {
    this.failures.inc({ step });
  }
}
