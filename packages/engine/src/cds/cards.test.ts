import type { Stratum, Vessel } from '@ecgcad/ecg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildCards,
  type CardOptions,
  detailOf,
  escapeMarkdown,
  indicatorOf,
  MAX_SUMMARY,
  percent,
  readableTime,
  summaryOf,
} from './cards.js';
import type { CombinedCategory, EcgResult } from './results.js';
import { cardSchema } from './spec.js';

const NOW = new Date('2026-12-03T12:00:00Z');
let n = 0;
const OPTIONS: CardOptions = {
  now: NOW,
  recentDays: 365,
  maxCards: 3,
  appLaunchUrl: 'https://engine.example.org/app/launch.html',
  newId: () => `card-${++n}`,
};

const VESSELS: Vessel[] = ['RCA', 'LM', 'LAD', 'LCx'];

function scored(strata: Stratum[], extra: Partial<EcgResult> = {}): EcgResult {
  return {
    ecgId: 'ecg-1',
    acquiredAt: '2026-11-26T08:59:40+01:00',
    status: 'scored',
    vessels: strata.map((stratum, i) => ({ vessel: VESSELS[i] as Vessel, stratum, probability: 0.1 * (i + 1) })),
    reasons: [],
    model: 'ecgcad-demo 1.0.0',
    ...extra,
  };
}

const stratum = fc.constantFrom<Stratum>('low', 'intermediate', 'high');
const combined = fc.option(fc.constantFrom<CombinedCategory>('low', 'intermediate', 'high'), { nil: undefined });
/** Any result the writer can produce: any strata and combined categories on any subset of vessels, any dates. */
const anyResult: fc.Arbitrary<EcgResult> = fc
  .record({
    status: fc.constantFrom<'scored' | 'not-analysable'>('scored', 'not-analysable'),
    vessels: fc.subarray(VESSELS, { minLength: 0 }).chain((vs) =>
      fc.tuple(
        ...vs.map((vessel) =>
          fc.record({
            vessel: fc.constant(vessel),
            stratum,
            combined,
            probability: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
        ),
      ),
    ),
    demo: fc.boolean(),
    date: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), {
      nil: undefined,
    }),
    reasons: fc.array(fc.string({ maxLength: 200 }), { maxLength: 3 }),
  })
  .map(({ status, vessels, demo, date, reasons }) => ({
    ecgId: 'ecg',
    status,
    vessels: status === 'scored' ? vessels.map(({ combined: c, ...v }) => (c ? { ...v, combined: c } : v)) : [],
    reasons,
    ...(date ? { acquiredAt: date.toISOString() } : {}),
    ...(demo ? { notForClinicalUse: 'Produced by a demonstration model that is not for clinical use.' } : {}),
  }));

describe('card summary', () => {
  it('is under 140 characters for every combination of strata, combined categories, dates and flags', () => {
    fc.assert(
      fc.property(anyResult, (result) => {
        const summary = summaryOf(result);
        expect(summary.length).toBeLessThan(140);
        expect(summary.length).toBeLessThanOrEqual(MAX_SUMMARY);
        expect(summary).not.toContain('\n');
      }),
      { numRuns: 2000 },
    );
  });

  it('names the high vessels, else the intermediate ones, and the top combined category', () => {
    const result = scored(['low', 'high', 'intermediate', 'high']);
    result.vessels[1] = { ...(result.vessels[1] as EcgResult['vessels'][number]), combined: 'high' };
    expect(summaryOf(result)).toBe(
      'ECG-AI (ECG 2026-11-26): high risk of severe stenosis in LM, LCx; with PTP: testing with priority',
    );
    expect(summaryOf(scored(['low', 'intermediate', 'intermediate', 'low']))).toBe(
      'ECG-AI (ECG 2026-11-26): intermediate stenosis risk in LM, LAD',
    );
    expect(summaryOf(scored(['low', 'low', 'low', 'low'], { notForClinicalUse: 'not for clinical use' }))).toBe(
      '[Demo model] ECG-AI (ECG 2026-11-26): low stenosis risk in all 4 vessels',
    );
  });

  it('says a not-analysable ECG could not be analysed', () => {
    const result: EcgResult = { ecgId: 'e', status: 'not-analysable', vessels: [], reasons: ['lead V2 is flat'] };
    expect(summaryOf(result)).toBe('ECG-AI: ECG not analysable, no coronary risk estimate');
    expect(indicatorOf(result)).toBe('info');
    expect(detailOf(result)).toContain('- lead V2 is flat');
  });
});

describe('card indicator', () => {
  it('is warning when a vessel is high and info otherwise', () => {
    expect(indicatorOf(scored(['low', 'low', 'high', 'low']))).toBe('warning');
    expect(indicatorOf(scored(['intermediate', 'low', 'low', 'intermediate']))).toBe('info');
    expect(indicatorOf(scored(['low', 'low', 'low', 'low']))).toBe('info');
  });
});

describe('buildCards', () => {
  it('gives no card when there is no result, or none recent', () => {
    expect(buildCards([], OPTIONS)).toEqual([]);
    expect(buildCards([scored(['high'], { acquiredAt: '2025-11-01T10:00:00Z' })], OPTIONS)).toEqual([]);
  });

  it('gives one card per recent result, newest first, at most maxCards, each valid against the spec shape', () => {
    const dates = ['2026-01-10T10:00:00Z', '2026-11-30T10:00:00Z', '2026-06-01T10:00:00Z', '2026-12-01T10:00:00Z'];
    const results = dates.map((acquiredAt, i) => scored(['low', 'high'], { ecgId: `ecg-${i}`, acquiredAt }));
    const cards = buildCards(results, OPTIONS);
    expect(cards.map((c) => JSON.parse(c.links?.[0]?.appContext ?? '{}').ecg)).toEqual(['ecg-3', 'ecg-1', 'ecg-2']);
    for (const card of cards) expect(cardSchema.parse(card)).toEqual(card);
    expect(cards[0]?.links?.[0]).toMatchObject({ label: 'Open ECG viewer', type: 'smart', url: OPTIONS.appLaunchUrl });
    expect(new Set(cards.map((c) => c.uuid)).size).toBe(3);
  });

  it('writes the probabilities, strata, combined categories and PTP into the detail', () => {
    const result = scored(['low', 'low', 'high', 'intermediate'], {
      ptp: {
        status: 'final',
        method: 'ESC 2024 RF-CL',
        probability: 0.339842,
        category: 'ESC 2024 RF-CL: moderate (34 %)',
      },
      notForClinicalUse: 'Produced by a demonstration model (ecgcad-demo 1.0.0) that is not for clinical use.',
    });
    result.vessels = result.vessels.map((v) => ({ ...v, combined: v.stratum === 'high' ? 'high' : 'intermediate' }));
    const detail = detailOf(result);
    expect(detail).toContain('**ECG of 2026-11-26 08:59 (+01:00)**, model ecgcad-demo 1.0.0');
    expect(detail).toContain('| LAD | 30 % | **high** | **testing with priority** |');
    expect(detail).toContain('| LCx | 40 % | intermediate | non-invasive testing |');
    expect(detail).toContain('Pre-test probability: **34 %** (ESC 2024 RF-CL: moderate (34 %))');
    expect(detail.startsWith('> **Not for clinical use.**')).toBe(true);
  });

  it('says why the PTP is missing when it was not computed', () => {
    const result = scored(['low', 'high'], {
      ptp: {
        status: 'cancelled',
        method: 'ESC 2024 RF-CL',
        reason: 'Pre-test probability not computed: missing smoking status.',
      },
    });
    expect(detailOf(result)).toContain(
      'Pre-test probability: Pre-test probability not computed: missing smoking status.',
    );
  });
});

describe('formatting', () => {
  it('escapes Markdown and table syntax in text taken from FHIR', () => {
    expect(escapeMarkdown('a|b *c* <script> [x](y)\nz')).toBe('a\\|b \\*c\\* \\<script\\> \\[x\\](y) z');
  });

  it('shows probabilities and times the way a reader expects', () => {
    expect([percent(0.052), percent(0.5), percent(0.339842), percent(undefined)]).toEqual([
      '5.2 %',
      '50 %',
      '34 %',
      'n/a',
    ]);
    expect(readableTime('2026-11-26T08:59:40+01:00')).toBe('2026-11-26 08:59 (+01:00)');
    expect(readableTime('2026-11-26T07:59:40.250Z')).toBe('2026-11-26 07:59 (UTC)');
    expect(readableTime('2026-11-26')).toBe('2026-11-26');
  });
});
