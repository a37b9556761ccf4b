import { describe, expect, it } from 'vitest';
import { evaluateCohort, type PtpComparison } from '../evaluate/cohort.js';
import { syntheticCohort } from '../evaluate/testing-cohort.js';
import { formatPValue } from './html.js';
import { renderEvaluationReport } from './render.js';

const THRESHOLDS = {
  RCA: { ruleOut: 0.15, ruleIn: 0.4 },
  LM: { ruleOut: 0.04, ruleIn: 0.2 },
  LAD: { ruleOut: 0.12, ruleIn: 0.41 },
  LCx: { ruleOut: 0.1, ruleIn: 0.35 },
};
const ptp: PtpComparison = {
  model: 'toy',
  matrixSource: 'test',
  matrix: {
    low: { low: 'low', intermediate: 'low', high: 'intermediate' },
    intermediate: { low: 'low', intermediate: 'intermediate', high: 'high' },
    high: { low: 'intermediate', intermediate: 'high', high: 'high' },
  },
  level: (row) => (row.age === undefined ? { missing: 'age' } : { level: row.age < 50 ? 'low' : 'high' }),
};

function evaluation(clinicalUse: boolean) {
  return evaluateCohort(syntheticCohort({ n: 600, seed: 2, allNegative: ['LM'] }), {
    model: { id: 'ecgcad-demo', version: '1.0.0', clinicalUse, intendedUse: 'Demonstration <weights>.' },
    thresholds: THRESHOLDS,
    bootstrap: { resamples: 100 },
    ptp,
    source: { file: 'scores.csv', sha256: 'ab'.repeat(32) },
    generatedAt: '2026-01-01T00:00:00.000Z',
  });
}

/** Resolves a dotted JSON path ("vessels.0.auc.value"). */
const at = (root: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root);

describe('renderEvaluationReport', () => {
  const e = evaluation(false);
  const html = renderEvaluationReport(e);

  it('is one self-contained page: no scripts, no external resources', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(http|href="http/i);
    expect(html).toContain('@media print');
    expect(html).toContain('break-before: page');
  });

  it('says prominently that a model without clinical use has no clinical meaning, escaping the card text', () => {
    expect(html).toMatch(/<div class="banner" role="alert" id="clinical-use-banner">NOT FOR CLINICAL USE/);
    expect(html).toContain('Demonstration &lt;weights&gt;.');
    expect(renderEvaluationReport(evaluation(true))).toContain('class="banner ok"');
  });

  it('has the four charts per evaluable vessel and a not-evaluable notice for LM', () => {
    for (const vessel of ['RCA', 'LAD', 'LCx']) {
      for (const chart of ['roc', 'calibration', 'decision', 'km']) expect(html).toContain(`id="${chart}-${vessel}"`);
    }
    expect(html).not.toContain('id="roc-LM"');
    expect(html).toMatch(/data-not-evaluable="LM"><strong>Not evaluable.<\/strong> 0 positive and 600 negative/);
    expect(html).toContain('id="km-LM"'); // follow-up needs no label
  });

  it('shows every number as its JSON value, rounded as displayed', () => {
    const cells = [...html.matchAll(/data-json="([^"]+)" data-scale="([^"]+)" data-digits="(\d+|p)">([^<]*)</g)];
    expect(cells.length).toBeGreaterThan(300);
    for (const [, path, scale, digits, text] of cells) {
      const value = at(e, path as string);
      if (value === null || value === undefined) {
        expect(text).toBe('–');
        continue;
      }
      expect(typeof value, path).toBe('number');
      const expected =
        digits === 'p' ? formatPValue(value as number) : ((value as number) * Number(scale)).toFixed(Number(digits));
      expect(text, path).toBe(expected);
    }
  });
});
