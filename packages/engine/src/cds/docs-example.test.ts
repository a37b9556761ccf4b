import { readFileSync } from 'node:fs';
import { buildBundleParts, examplePrediction, examplePtpAssessment } from '@ecgcad/fhir-writer';
import { describe, expect, it } from 'vitest';
import { asStored } from '../../../../test/support/cds-support.js';
import { buildCards } from './cards.js';
import { ecgResults } from './results.js';
import { discovery } from './services.js';

/** The card docs/CDS-HOOKS.md shows: the example prediction with the example PTP, as the EHR stores it. */
function exampleCards(): unknown {
  const prediction = examplePrediction();
  const { bundle } = buildBundleParts(prediction, {}, examplePtpAssessment(prediction));
  return {
    cards: buildCards(ecgResults(asStored(bundle)), {
      now: new Date('2026-12-03T12:00:00Z'),
      recentDays: 365,
      maxCards: 3,
      appLaunchUrl: 'https://ecgcad.hospital.example.org/app/launch.html',
      newId: () => '9b1f3c52-6a0e-4d7b-8f2a-1c5e7d9a3b40',
    }),
  };
}

const doc = (): string => readFileSync(new URL('../../../../docs/CDS-HOOKS.md', import.meta.url), 'utf8');
const block = (name: string): unknown => {
  const m = new RegExp(`<!-- ${name}:start -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(doc());
  return m?.[1] ? JSON.parse(m[1]) : undefined;
};

describe('docs/CDS-HOOKS.md examples', () => {
  it('shows the card the service builds from the example result', () => {
    if (process.env.PRINT_CDS_EXAMPLES) console.log(JSON.stringify(exampleCards(), null, 2));
    expect(block('example-card')).toEqual(exampleCards());
  });

  it('shows the discovery answer the service gives', () => {
    if (process.env.PRINT_CDS_EXAMPLES) console.log(JSON.stringify(discovery(), null, 2));
    expect(block('example-discovery')).toEqual(discovery());
  });
});
