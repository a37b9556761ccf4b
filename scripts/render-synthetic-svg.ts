/**
 * Renders docs/images/synthetic-12lead.svg: one synthetic 12-lead ECG (seed 42, 70 bpm, default noise) in the
 * classic 3 x 4 + rhythm strip layout. Run after a build: `npx turbo run build && npx tsx scripts/render-synthetic-svg.ts`.
 */
import { writeFileSync } from 'node:fs';
import { plotEcgSvg, synthesizeEcg } from '@ecgcad/ecg';

const out = new URL('../docs/images/synthetic-12lead.svg', import.meta.url);
const ecg = synthesizeEcg({ seed: 42, heartRateBpm: 70 });
writeFileSync(out, plotEcgSvg(ecg, { title: 'ecgcad synthetic ECG, seed 42, 70 bpm (not a patient)' }));
console.log(`wrote ${out.pathname}`);
