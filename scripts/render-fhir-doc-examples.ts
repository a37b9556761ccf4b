/**
 * Rewrites the example JSON blocks that docs/FHIR.md embeds (between its `example-bundle`, `example-ptp` and
 * `example-attribution` markers) from what the writer builds today; test/fhir-docs.test.ts fails until they match.
 * Usage: `tsx scripts/render-fhir-doc-examples.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildBundle, buildBundleParts, examplePrediction, examplePtpAssessment } from '@ecgcad/fhir-writer';

const path = fileURLToPath(new URL('../docs/FHIR.md', import.meta.url));

function replaceBlock(doc: string, marker: string, value: unknown): string {
  const re = new RegExp(`(<!-- ${marker}:start -->\\s*\`\`\`json\\n)[\\s\\S]*?(\\n\`\`\`\\s*<!-- ${marker}:end -->)`);
  if (!re.test(doc)) throw new Error(`docs/FHIR.md has no ${marker} markers`);
  return doc.replace(re, (_m, head: string, tail: string) => `${head}${JSON.stringify(value, null, 2)}${tail}`);
}

const { bundle, parts } = buildBundleParts(examplePrediction(), {}, examplePtpAssessment());
const entryOf = (r: unknown) => bundle.entry?.find((e) => e.resource === r);
const lad = parts.vessels.find((o) => o.code.coding?.some((c) => c.code === 'LAD-risk-stratum'));
let doc = readFileSync(path, 'utf8');
doc = replaceBlock(doc, 'example-bundle', buildBundle(examplePrediction()));
doc = replaceBlock(doc, 'example-ptp', [entryOf(parts.ptp), entryOf(lad)]);
// The LAD attribution map with only leads I and V3 kept, as the doc shows it.
const withMap = buildBundleParts(examplePrediction({ attribution: true }));
const ladMap = withMap.parts.attribution?.find((o) => o.code.text?.endsWith('(LAD)'));
const mapEntry = structuredClone(withMap.bundle.entry?.find((e) => e.resource === ladMap));
if (mapEntry?.resource?.resourceType === 'Observation') {
  mapEntry.resource.component = mapEntry.resource.component?.filter((c) => ['I', 'V3'].includes(c.code.text ?? ''));
}
doc = replaceBlock(doc, 'example-attribution', mapEntry);
writeFileSync(path, doc);
console.log('docs/FHIR.md: example blocks rewritten');
