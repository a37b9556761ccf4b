/**
 * The occlusion-sensitivity Observations against the test EHR over real HTTP: they arrive with the rest of the
 * Bundle, their focus and derivedFrom resolve to the EHR's own vessel and ECG Observations, their SampledData
 * reads back as the map, and a resend adds nothing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type EcgAttribution, type Prediction, synthesizeEcg } from '@ecgcad/ecg';
import type { QueuedEngine } from '@ecgcad/engine';
import {
  buildBundleParts,
  examplePrediction,
  FhirClient,
  FhirWriter,
  SYSTEMS,
  startTestEhr,
  type TestEhr,
} from '@ecgcad/fhir-writer';
import { writeAecg } from '@ecgcad/ingest';
import type { Bundle, BundleEntry, Observation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, dropPrefix, resources, startTestEngine, uniquePrefix, waitFor } from './pipeline-support.js';

const PATIENT = { system: SYSTEMS.patientId, value: 'MRN-000123' };
const CODE = `${encodeURIComponent(SYSTEMS.concept)}|occlusion-sensitivity`;

async function search(ehr: TestEhr, query: string): Promise<Observation[]> {
  const res = await fetch(`${ehr.url}/${query}&_count=100`);
  expect(res.status).toBe(200);
  return ((await res.json()) as Bundle<Observation>).entry?.map((e) => e.resource as Observation) ?? [];
}

async function read(ehr: TestEhr, reference: string): Promise<Observation> {
  const res = await fetch(`${ehr.url}/${reference}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Observation;
}

describe('attribution Observations in the EHR', () => {
  let ehr: TestEhr;
  const prediction = examplePrediction({ ecgId: '1.2.3.9101', attribution: true }) as Extract<
    Prediction,
    { status: 'scored' }
  >;
  const attribution = prediction.attribution as EcgAttribution;

  beforeAll(async () => {
    ehr = await startTestEhr({ patients: [PATIENT] });
  });
  afterAll(async () => {
    await ehr.close();
  });

  it('are stored with links to the EHR ids of the vessel and ECG Observations and read back as the map', async () => {
    const writer = new FhirWriter({ sink: new FhirClient({ baseUrl: ehr.url }) });
    const first = await writer.write(prediction);
    // Device, ECG, RiskAssessment, 4 vessels, 4 maps, Flag, Provenance.
    expect(first.created).toBe(13);

    const maps = await search(ehr, `Observation?code=${CODE}`);
    expect(maps).toHaveLength(4);
    const ecg = (await search(ehr, `Observation?code=http://loinc.org|34534-8`))[0] as Observation;
    for (const obs of maps) {
      const vessel = /\((RCA|LM|LAD|LCx)\)$/.exec(obs.code.text ?? '')?.[1] as keyof typeof attribution.vessels;
      expect(vessel).toBeDefined();
      // The EHR rewrote the urn:uuid references to its own ids.
      const focus = await read(ehr, obs.focus?.[0]?.reference as string);
      expect(focus.code.coding?.[0]?.code).toBe(`${vessel}-risk-stratum`);
      expect(obs.derivedFrom?.[0]?.reference).toBe(`Observation/${ecg.id}`);
      expect(obs.meta?.security?.some((s) => s.code === 'AIAST')).toBe(true);
      const rows = (obs.component ?? []).map((c) => {
        const sd = c.valueSampledData;
        return (sd?.data ?? '').split(' ').map((d) => (sd?.origin.value ?? 0) + (sd?.factor ?? 0) * Number(d));
      });
      expect(obs.component?.map((c) => c.code.text)).toEqual(attribution.leads);
      const expected = attribution.vessels[vessel] as number[][];
      const worst = Math.max(
        ...rows.flatMap((row, l) => row.map((v, w) => Math.abs(v - (expected[l]?.[w] as number)))),
      );
      expect(rows.flat()).toHaveLength(120);
      expect(worst).toBeLessThan(1e-9);
      // Searchable from the vessel result a viewer starts at.
      const byFocus = await search(ehr, `Observation?code=${CODE}&focus=Observation/${focus.id}`);
      expect(byFocus.map((o) => o.id)).toEqual([obs.id]);
    }
    const provenance = (await (await fetch(`${ehr.url}/Provenance?_count=10`)).json()) as Bundle;
    const targets = provenance.entry?.flatMap((e) =>
      (e.resource as { target: { reference: string }[] }).target.map((t) => t.reference),
    );
    for (const obs of maps) expect(targets).toContain(`Observation/${obs.id}`);

    const again = await writer.write(prediction);
    expect(again.created).toBe(0);
    expect(await search(ehr, `Observation?code=${CODE}`)).toHaveLength(4);
  });
});

describe('docs/FHIR.md attribution example', () => {
  it('is the LAD map entry the writer builds, with the components the doc leaves out removed', () => {
    const doc = readFileSync(fileURLToPath(new URL('../docs/FHIR.md', import.meta.url)), 'utf8');
    const m = /<!-- example-attribution:start -->\s*```json\n([\s\S]*?)\n```\s*<!-- example-attribution:end -->/.exec(
      doc,
    );
    if (!m?.[1]) throw new Error('docs/FHIR.md has no attribution example between the markers');
    const shown = JSON.parse(m[1]) as BundleEntry<Observation>;
    const { bundle, parts } = buildBundleParts(examplePrediction({ attribution: true }));
    const lad = parts.attribution?.find((o) => o.code.text?.endsWith('(LAD)'));
    const entry = JSON.parse(JSON.stringify(bundle.entry?.find((e) => e.resource === lad))) as BundleEntry<Observation>;
    const leads = shown.resource?.component?.map((c) => c.code.text);
    expect(leads).toEqual(['I', 'V3']);
    const resource = entry.resource as Observation;
    resource.component = resource.component?.filter((c) => leads?.includes(c.code.text));
    expect(shown).toEqual(entry);
  });
});

describe('attribution through the queued engine', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  const prefix = uniquePrefix('attribution');
  beforeAll(async () => {
    ehr = await startTestEhr();
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: [
        { path: ['attribution', 'when'], value: 'always' },
        { path: ['attribution', 'windowS'], value: 2 },
      ],
    });
  });
  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  it('an ECG posted over HTTP ends in the EHR with a map per vessel, 2 s windows, linked to its results', async () => {
    const response = await fetch(`${engine.http?.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
      body: Buffer.from(writeAecg(synthesizeEcg({ seed: 71 }))),
    });
    expect(response.status).toBe(202);
    const maps = await waitFor('four attribution Observations', async () => {
      const found = await resources<Observation>(ehr, `Observation?code=${CODE}`);
      return found.length >= 4 ? found : undefined;
    });
    expect(maps).toHaveLength(4);
    const ecg = (await resources<Observation>(ehr, 'Observation?code=34534-8'))[0] as Observation;
    const vessels = await resources<Observation>(ehr, 'Observation?category=ecg-cad-risk');
    for (const obs of maps) {
      expect(obs.derivedFrom?.[0]?.reference).toBe(`Observation/${ecg.id}`);
      const focus = vessels.find((v) => `Observation/${v.id}` === obs.focus?.[0]?.reference);
      expect(focus?.code.coding?.[0]?.code).toMatch(/-risk-stratum$/);
      expect(obs.component).toHaveLength(12);
      for (const c of obs.component ?? []) {
        expect(c.valueSampledData?.period).toBe(2000);
        expect(c.valueSampledData?.data?.split(' ')).toHaveLength(5);
      }
    }
  });
});
