import { compareShadow, type ShadowRecord } from '@ecgcad/infer';
import { describe, expect, it } from 'vitest';
import { formatShadowReport } from './shadow-report.js';

const rec = (ecgId: string, live: 'low' | 'high', shadow: 'low' | 'high', written = true): ShadowRecord => ({
  ecgId,
  at: '2026-12-01T00:00:00.000Z',
  written,
  live: { model: 'demo@1.0.0', vessels: [{ vessel: 'LAD', probability: 0.1, stratum: live }] },
  shadow: { model: 'demo@1.1.0', vessels: [{ vessel: 'LAD', probability: 0.3, stratum: shadow }] },
});

describe('formatShadowReport', () => {
  it('prints the matrix rows with their counts, the agreement and the changed written results', () => {
    const text = formatShadowReport(
      compareShadow([
        rec('a', 'low', 'high'),
        rec('b', 'low', 'low'),
        rec('c', 'high', 'high'),
        rec('d', 'high', 'low', false),
      ]),
      'test',
    );
    expect(text).toContain('live demo@1.0.0 vs shadow demo@1.1.0: 4 ECG(s) scored by both');
    expect(text).toContain('LAD: n 4, agreement 50.0 %, kappa 0.000, mean |dp| 0.2000');
    expect(text).toMatch(/live \\ shadow\s+low\s+intermediate\s+high/);
    expect(text).toMatch(/\n\s+low\s+1\s+0\s+1\n/);
    expect(text).toMatch(/\n\s+intermediate\s+0\s+0\s+0\n/);
    expect(text).toMatch(/\n\s+high\s+1\s+0\s+1\n/);
    expect(text).toContain('1 of 3 written results would have changed stratum (up 1, down 0)');
    expect(text).toContain('1 of 3 written results would have changed stratum in at least one vessel');
  });

  it('says so when there is nothing to compare yet', () => {
    expect(formatShadowReport(compareShadow([]), 'empty.jsonl')).toContain('no shadow records yet');
  });
});
