/**
 * Model monitoring (post-deployment surveillance): Prometheus metrics about what the model sees and says, and drift
 * of both against the model folder's reference profile, as population stability indices over a rolling window
 * kept in Redis (./drift-store.ts). docs/MONITORING.md explains each metric and alert.
 *
 * The reference is `reference-profile.json` in the model folder (written by `ecgcad calibrate` / `evaluate`); the
 * measures it lacks (all of them when there is no file) are captured from the first `captureEcgs` live ECGs.
 * Labels are bounded: reasons by code, feeds and devices capped at `maxLabelValues` distinct values each (the rest
 * is `other`); no label ever holds patient data.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  binIndex,
  buildReferenceProfile,
  type DriftRow,
  driftRows,
  INPUT_MEASURES,
  measureValues,
  type ProfileSample,
  parseReferenceProfile,
  REFERENCE_PROFILE_FILE,
  type ReferenceProfile,
  type StratumBand,
  stratumBands,
} from '@ecgcad/clinical';
import { type Ecg, type InputStats, inputStats, type Prediction, qualityReasonCode, type Vessel } from '@ecgcad/ecg';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DriftStore } from './drift-store.js';
import { LabelCap } from './label-cap.js';

/** Monitoring settings (config key `monitor`). */
export interface MonitorSettings {
  /** Rolling window: at most this many days... */
  windowDays: number;
  /** ...and at most this many ECGs (whole time buckets). */
  windowEcgs: number;
  /** Window bucket length in minutes. */
  bucketMinutes: number;
  /** ECGs captured as the reference when the model folder has no (complete) profile. */
  captureEcgs: number;
  /** Distinct values per label (feed, device) before the rest is folded into `other`. */
  maxLabelValues: number;
}

export const MONITOR_DEFAULTS: MonitorSettings = {
  windowDays: 7,
  windowEcgs: 2000,
  bucketMinutes: 60,
  captureEcgs: 500,
  maxLabelValues: 20,
};

/** What `ecgcad monitor` and the gauges show. */
export interface DriftReport {
  /** The effective reference (undefined while capturing with no file). */
  reference: ReferenceProfile | undefined;
  /** Where the reference came from: the model folder file, live capture, both, or none yet. */
  referenceSource: 'model folder' | 'live capture' | 'model folder + live capture' | 'none';
  /** ECGs captured so far while a live reference is being built. */
  captured: number;
  windowEcgs: number;
  windowSince?: string;
  rows: DriftRow[];
  bands: Array<StratumBand & { window: number | undefined }>;
}

/** Options of {@link ModelMonitor.open}. */
export interface ModelMonitorOptions {
  redis: Redis;
  /** Redis key prefix of the engine (`redis.prefix`). */
  prefix: string;
  modelDir: string;
  model: { id: string; version: string };
  settings?: Partial<MonitorSettings>;
  /** Registry for the metrics; none for a read-only monitor (`ecgcad monitor`). */
  registry?: Registry;
  onError?: (err: Error) => void;
  /** Clock in ms (tests). */
  now?: () => number;
}

const INPUT_FIELDS = Object.values(INPUT_MEASURES);

function fingerprintOf(profile: ReferenceProfile): string {
  const edges = Object.entries(profile.measures).map(([m, p]) => [m, p.edges]);
  return createHash('sha256').update(JSON.stringify(edges)).digest('hex').slice(0, 12);
}

/** Model monitoring for one model version. Create with {@link ModelMonitor.open}. */
export class ModelMonitor {
  readonly settings: MonitorSettings;
  private readonly store: DriftStore;
  private fileProfile: ReferenceProfile | undefined;
  private liveProfile: ReferenceProfile | undefined;
  private profile: ReferenceProfile | undefined;
  private fingerprint = '';
  private captureCount = 0;
  private readonly pending = new Set<Promise<void>>();
  private building: Promise<void> | undefined;
  private readonly feeds: LabelCap;
  private readonly devices: LabelCap;
  private metrics: ReturnType<typeof registerMetrics> | undefined;
  private cachedReport: { at: number; report: Promise<DriftReport> } | undefined;
  private readonly now: () => number;

  private constructor(private readonly options: ModelMonitorOptions) {
    this.settings = { ...MONITOR_DEFAULTS, ...options.settings };
    this.now = options.now ?? Date.now;
    this.store = new DriftStore(options.redis, {
      scope: `${options.prefix}:monitor:${options.model.id}@${options.model.version}`,
      bucketS: this.settings.bucketMinutes * 60,
      windowDays: this.settings.windowDays,
      windowEcgs: this.settings.windowEcgs,
      now: this.now,
    });
    this.feeds = new LabelCap(this.settings.maxLabelValues);
    this.devices = new LabelCap(this.settings.maxLabelValues);
  }

  /** Reads the model folder's profile (a malformed one is an error) and any live reference kept in Redis. */
  static async open(options: ModelMonitorOptions): Promise<ModelMonitor> {
    const monitor = new ModelMonitor(options);
    let text: string | undefined;
    try {
      text = await readFile(join(options.modelDir, REFERENCE_PROFILE_FILE), 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) monitor.fileProfile = parseReferenceProfile(text);
    if (monitor.needsCapture()) {
      const stored = await monitor.store.storedReference();
      if (stored) monitor.liveProfile = parseReferenceProfile(stored);
      else monitor.captureCount = (await monitor.store.captured()).length;
    }
    monitor.adopt();
    if (options.registry) monitor.metrics = registerMetrics(options.registry, monitor);
    return monitor;
  }

  /** True while the file profile is missing input measures and no live reference exists yet. */
  private needsCapture(): boolean {
    if (this.liveProfile) return false;
    const file = this.fileProfile;
    return !file || Object.keys(INPUT_MEASURES).some((m) => !(m in file.measures));
  }

  /** The effective profile: the file's measures first, the live capture's for the rest. */
  private adopt(): void {
    const file = this.fileProfile;
    const live = this.liveProfile;
    if (file && !this.needsCapture()) {
      this.profile = live ? { ...file, measures: { ...live.measures, ...file.measures } } : file;
    } else {
      this.profile = live;
    }
    this.fingerprint = this.profile ? fingerprintOf(this.profile) : '';
  }

  /** Records one ECG and what the model said (call after every prediction). Never throws. */
  observe(ecg: Ecg, prediction: Prediction): void {
    const stats = inputStats(ecg);
    const m = this.metrics;
    if (m) {
      m.inputs.inc({
        feed: this.feeds.value(ecg.source.feed),
        device: this.devices.value([ecg.device.manufacturer, ecg.device.model].filter(Boolean).join(' ')),
      });
      m.sampleRate.observe(stats.sampleRateHz);
      m.duration.observe(stats.durationS);
      m.amplitude.observe(stats.amplitudeMv);
      m.noise.observe(stats.noiseUv);
      m.wander.observe(stats.baselineWanderUv);
      if (stats.derivedLeadShare > 0) m.derived.inc();
      m.outcomes.inc({ status: prediction.status });
      if (prediction.status === 'scored') {
        for (const v of prediction.vessels) {
          m.predictions.inc({ vessel: v.vessel, stratum: v.stratum });
          m.probability.observe({ vessel: v.vessel }, v.probability);
        }
      } else {
        for (const code of new Set(prediction.reasons.map(qualityReasonCode))) m.notAnalysable.inc({ reason: code });
      }
    }
    const work = this.record(stats, prediction).catch((err: unknown) => {
      m?.storeErrors.inc();
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private async record(stats: InputStats, prediction: Prediction): Promise<void> {
    const probabilities: Partial<Record<Vessel, number>> = {};
    const strata: Record<string, string> = {};
    if (prediction.status === 'scored') {
      for (const v of prediction.vessels) {
        probabilities[v.vessel] = v.probability;
        strata[v.vessel] = v.stratum;
      }
    }
    const values = measureValues(stats, probabilities);
    if (this.needsCapture()) {
      const sample: ProfileSample = { values, strata: strata as ProfileSample['strata'] };
      this.captureCount = await this.store.capture(sample, this.settings.captureEcgs);
      if (this.captureCount < this.settings.captureEcgs) return;
      // The ECGs of one batch reach the limit together: one of them builds the reference.
      this.building ??= this.buildLiveReference().finally(() => {
        this.building = undefined;
      });
      await this.building;
      return;
    }
    const profile = this.profile as ReferenceProfile;
    const bins: Record<string, number> = {};
    for (const [measure, ref] of Object.entries(profile.measures)) {
      const v = values[measure];
      if (typeof v === 'number' && Number.isFinite(v)) bins[measure] = binIndex(ref.edges, v);
    }
    await this.store.record({ bins, strata }, this.fingerprint);
  }

  private async buildLiveReference(): Promise<void> {
    if (this.liveProfile) return;
    const rows = (await this.store.captured()) as ProfileSample[];
    const built = buildReferenceProfile(rows, {
      source: 'live',
      createdAt: new Date(this.now()).toISOString(),
      model: this.options.model,
    });
    this.liveProfile = parseReferenceProfile(await this.store.storeReference(JSON.stringify(built)));
    this.adopt();
  }

  /** Waits for the Redis writes of the ECGs observed so far (they go out at the end of each turn, per turn). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** The current window against the reference. */
  async report(): Promise<DriftReport> {
    const profile = this.profile;
    const referenceSource =
      this.fileProfile && this.liveProfile && profile
        ? 'model folder + live capture'
        : this.fileProfile && profile
          ? 'model folder'
          : profile
            ? 'live capture'
            : 'none';
    if (!profile) {
      return { reference: undefined, referenceSource, captured: this.captureCount, windowEcgs: 0, rows: [], bands: [] };
    }
    const binCounts = Object.fromEntries(Object.entries(profile.measures).map(([m, p]) => [m, p.counts.length]));
    const window = await this.store.window(this.fingerprint, binCounts);
    const bands = stratumBands(profile, window.n).map((b) => {
      const row = window.strata[b.vessel];
      const total = row ? Object.values(row).reduce((a, c) => a + c, 0) : 0;
      return { ...b, window: total > 0 ? (row?.[b.stratum] ?? 0) / total : undefined };
    });
    return {
      reference: profile,
      referenceSource,
      captured: this.captureCount,
      windowEcgs: window.n,
      ...(window.since ? { windowSince: window.since } : {}),
      rows: driftRows(profile, window.measures),
      bands,
    };
  }

  /** The report, computed at most once per 10 s (each scrape of each process would otherwise read the window). */
  cachedDriftReport(): Promise<DriftReport> {
    const now = this.now();
    if (!this.cachedReport || now - this.cachedReport.at > 10_000) {
      this.cachedReport = { at: now, report: this.report() };
    }
    return this.cachedReport.report;
  }
}

function registerMetrics(registry: Registry, monitor: ModelMonitor) {
  const registers = [registry];
  // Each gauge fills itself from one cached report: the registry collects its metrics concurrently.
  const report = () => monitor.cachedDriftReport().catch(() => undefined);
  new Gauge({
    name: 'ecgcad_drift_psi',
    help: 'Population stability index of each measure (vessel output, input statistic): rolling window vs reference.',
    labelNames: ['measure'],
    registers,
    async collect() {
      const r = await report();
      this.reset();
      for (const row of r?.rows ?? []) if (Number.isFinite(row.psi)) this.set({ measure: row.measure }, row.psi);
    },
  });
  new Gauge({
    name: 'ecgcad_drift_window_ecgs',
    help: 'ECGs in the rolling drift window.',
    registers,
    async collect() {
      this.set((await report())?.windowEcgs ?? 0);
    },
  });
  new Gauge({
    name: 'ecgcad_drift_reference_ecgs',
    help: 'ECGs (or cohort rows) the reference profile summarises; 0 while none exists.',
    registers,
    async collect() {
      this.set((await report())?.reference?.n ?? 0);
    },
  });
  new Gauge({
    name: 'ecgcad_drift_reference_captured_ecgs',
    help: 'ECGs captured so far for a live reference (when the model folder has no complete profile).',
    registers,
    async collect() {
      this.set((await report())?.captured ?? 0);
    },
  });
  new Gauge({
    name: 'ecgcad_stratum_reference_share',
    help: "Reference share of each stratum per vessel, and the band (lower, upper) the window's share should stay in.",
    labelNames: ['vessel', 'stratum', 'bound'],
    registers,
    async collect() {
      const r = await report();
      this.reset();
      for (const b of r?.bands ?? []) {
        const labels = { vessel: b.vessel, stratum: b.stratum };
        this.set({ ...labels, bound: 'expected' }, b.share);
        this.set({ ...labels, bound: 'lower' }, b.lower);
        this.set({ ...labels, bound: 'upper' }, b.upper);
      }
    },
  });
  new Gauge({
    name: 'ecgcad_stratum_window_share',
    help: 'Share of each stratum per vessel over the rolling drift window.',
    labelNames: ['vessel', 'stratum'],
    registers,
    async collect() {
      const r = await report();
      this.reset();
      for (const b of r?.bands ?? [])
        if (b.window !== undefined) this.set({ vessel: b.vessel, stratum: b.stratum }, b.window);
    },
  });
  return {
    outcomes: new Counter({
      name: 'ecgcad_prediction_outcomes_total',
      help: 'ECGs through the model, by status (scored, not-analysable).',
      labelNames: ['status'],
      registers,
    }),
    predictions: new Counter({
      name: 'ecgcad_predictions_total',
      help: 'Scored ECGs per vessel and stratum.',
      labelNames: ['vessel', 'stratum'],
      registers,
    }),
    probability: new Histogram({
      name: 'ecgcad_vessel_probability',
      help: "Each vessel's model probability.",
      labelNames: ['vessel'],
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
      registers,
    }),
    notAnalysable: new Counter({
      name: 'ecgcad_not_analysable_total',
      help: 'ECGs the quality gate refused, per reason code (an ECG with two reasons counts under each).',
      labelNames: ['reason'],
      registers,
    }),
    inputs: new Counter({
      name: 'ecgcad_inputs_total',
      help: 'ECGs that reached the model, per feed and device (manufacturer and model; capped, the rest is other).',
      labelNames: ['feed', 'device'],
      registers,
    }),
    sampleRate: new Histogram({
      name: 'ecgcad_input_sample_rate_hz',
      help: 'Source sample rate of the ECGs.',
      buckets: [100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000],
      registers,
    }),
    duration: new Histogram({
      name: 'ecgcad_input_duration_seconds',
      help: 'Record length.',
      buckets: [5, 8, 9, 9.5, 10, 10.5, 11, 12, 15, 20, 30, 60],
      registers,
    }),
    amplitude: new Histogram({
      name: 'ecgcad_input_amplitude_mv',
      help: 'Signal size: median over leads of the SD less the broadband noise, in mV.',
      buckets: [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2],
      registers,
    }),
    noise: new Histogram({
      name: 'ecgcad_input_noise_uv',
      help: 'Broadband (muscle, quantisation) noise: median over leads of the second-difference estimate, in uV.',
      buckets: [1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 200],
      registers,
    }),
    wander: new Histogram({
      name: 'ecgcad_input_baseline_wander_uv',
      help: 'Baseline wander: median over leads of the SD of one-second means, in uV.',
      buckets: [5, 10, 20, 30, 50, 75, 100, 200, 500],
      registers,
    }),
    derived: new Counter({
      name: 'ecgcad_inputs_derived_leads_total',
      help: 'ECGs with at least one of the twelve standard leads absent (derived from I and II).',
      registers,
    }),
    storeErrors: new Counter({
      name: 'ecgcad_drift_store_errors_total',
      help: 'Failed writes of the drift window to Redis (the window then misses those ECGs).',
      registers,
    }),
  };
}

/** The input statistics' field names, in measure order (for tables). */
export const INPUT_STAT_FIELDS = INPUT_FIELDS;
