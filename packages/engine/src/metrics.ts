/**
 * Prometheus metrics (prom-client, one registry per engine): jobs by stage and outcome, stage latency, receipt-to-EHR
 * latency, batch sizes from the dynamic batcher, feed outcomes, and queue depths collected on each scrape.
 */
import type { StageEvent } from '@ecgcad/ecg';
import type { WriteResult } from '@ecgcad/fhir-writer';
import type { BatchEvent } from '@ecgcad/infer';
import type { FeedOutcome } from '@ecgcad/ingest';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { LabelCap } from './label-cap.js';
import type { EngineQueues } from './redis.js';

/**
 * How often the event loop's delay is sampled for `ecgcad_nodejs_eventloop_lag_*`, ms. prom-client's default (10 ms)
 * wakes an idle engine 100 times a second, which cost 2-6 ms of CPU per second on a virtual machine where each
 * wake-up is dear (bench/e2e's idle line); at 100 ms a stall of the loop still shows in the lag's maximum and
 * percentiles whenever a sample falls in it, and one longer than 100 ms always does.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** The engine's metrics. */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'stage' | 'outcome'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly receiptToWriteSeconds: Histogram;
  readonly batchSize: Histogram;
  readonly batchRunSeconds: Histogram;
  readonly feedOutcomes: Counter<'feed' | 'outcome'>;
  readonly feedSeconds: Histogram<'feed'>;
  readonly feedSenders: Counter<'feed' | 'sender' | 'outcome'>;
  /** Caps the sender label (AE titles, API key ids): the first 50 keep their name, later ones count as other. */
  private readonly senderLabels = new LabelCap(50);
  readonly ptp: Counter<'status' | 'level'>;
  private queues: EngineQueues | undefined;

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'ecgcad_',
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    const registers = [this.registry];
    this.jobs = new Counter({
      name: 'ecgcad_jobs_total',
      help: 'Job attempts by stage and outcome (done, retry, failed).',
      labelNames: ['stage', 'outcome'],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'ecgcad_stage_duration_seconds',
      help: 'Time one job attempt took, by stage.',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.receiptToWriteSeconds = new Histogram({
      name: 'ecgcad_receipt_to_write_seconds',
      help: 'Time from receipt at a feed to the Bundle accepted by the sink.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ecgcad_batch_size',
      help: 'ECGs per model run (dynamic batcher).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.batchRunSeconds = new Histogram({
      name: 'ecgcad_batch_run_seconds',
      help: 'Time one model run took.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.feedOutcomes = new Counter({
      name: 'ecgcad_feed_outcomes_total',
      help: 'Payloads received by feed and outcome (accepted, refused, retry).',
      labelNames: ['feed', 'outcome'],
      registers,
    });
    this.feedSeconds = new Histogram({
      name: 'ecgcad_feed_handover_seconds',
      help: 'Time from receipt to the job being in Redis (what the sender waits for).',
      labelNames: ['feed'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.feedSenders = new Counter({
      name: 'ecgcad_feed_sender_outcomes_total',
      help: 'Payloads received per feed, sender (ae:<calling AE title>, key:<API key id>, cert, anonymous) and outcome.',
      labelNames: ['feed', 'sender', 'outcome'],
      registers,
    });
    this.ptp = new Counter({
      name: 'ecgcad_ptp_total',
      help: 'Written results with PTP on: computed (by PTP level low, intermediate, high) or not computed (level none).',
      labelNames: ['status', 'level'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'ecgcad_queue_depth',
      help: 'Jobs per queue and state, read from Redis at scrape time.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        if (!self.queues) return;
        this.reset();
        for (const queue of Object.values(self.queues)) {
          try {
            const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
            for (const [state, n] of Object.entries(counts)) this.set({ queue: queue.name, state }, Number(n));
          } catch {
            // Redis away: the gauge stays empty; /readyz reports the outage.
          }
        }
      },
    });
    new Gauge({
      name: 'ecgcad_queue_oldest_waiting_seconds',
      help: 'Age of the oldest waiting job per queue (0 when none waits), read from Redis at scrape time.',
      labelNames: ['queue'],
      registers,
      async collect() {
        if (!self.queues) return;
        this.reset();
        for (const queue of Object.values(self.queues)) {
          try {
            const [oldest] = await queue.getJobs(['waiting'], 0, 0, true);
            this.set({ queue: queue.name }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
          } catch {
            // Redis away: as above.
          }
        }
      },
    });
  }

  /** Queues whose depth the gauge reports. */
  watchQueues(queues: EngineQueues): void {
    this.queues = queues;
  }

  /** StageEventListener for the workers. */
  readonly onStageEvent = (event: StageEvent): void => {
    this.jobs.inc({ stage: event.stage, outcome: event.outcome });
    this.stageSeconds.observe({ stage: event.stage }, event.ms / 1000);
    if (event.stage === 'write' && event.outcome === 'done' && event.receivedAt) {
      const ms = Date.now() - Date.parse(event.receivedAt);
      if (Number.isFinite(ms) && ms >= 0) this.receiptToWriteSeconds.observe(ms / 1000);
    }
  };

  /** Listener for the batcher's 'batch' event. */
  readonly onBatch = (event: BatchEvent): void => {
    this.batchSize.observe(event.size);
    this.batchRunSeconds.observe(event.runMs / 1000);
  };

  /** Listener for the write worker's deliveries: the PTP category mix. */
  readonly onWritten = (result: Pick<WriteResult, 'ptp'>): void => {
    if (result.ptp) this.ptp.inc({ status: result.ptp.status, level: result.ptp.level ?? 'none' });
  };

  /** OutcomeCallback for the feeds. */
  readonly onFeedOutcome = (feed: string, outcome: FeedOutcome, ms: number, sender?: string): void => {
    this.feedOutcomes.inc({ feed, outcome });
    this.feedSenders.inc({ feed, sender: this.senderLabels.value(sender), outcome });
    this.feedSeconds.observe({ feed }, ms / 1000);
  };
}
