import { SYSTEMS, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PATIENT_MRN,
  SEEDED,
  seededPatients,
  seedResults,
  stratumOf,
  writerClient,
} from '../../../test/support/app-results.js';
import { type FhirSearch, loadWorklistPage, startCursor, type WorklistFilter } from './worklist-data.js';
import type { WorklistRow } from './worklist-model.js';

describe('worklist queries against the test EHR', () => {
  let ehr: TestEhr;
  let search: FhirSearch;
  const patientId: Record<'A' | 'B', string> = { A: '', B: '' };
  /** ECG Observation id -> seeded ECG uid. */
  const uidOf = new Map<string, string>();
  const requests: string[] = [];

  beforeAll(async () => {
    ehr = await startTestEhr({ auth: { clients: [writerClient] }, patients: seededPatients() });
    await seedResults(ehr);
    const token = ehr.tokens?.issue('app').token ?? '';
    search = async (url) => {
      requests.push(url);
      const res = await fetch(url.startsWith('http') ? url : `${ehr.url}/${url}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!res.ok) throw new Error(`${res.status} on ${url}`);
      return (await res.json()) as Bundle;
    };
    for (const p of ['A', 'B'] as const) {
      const found = await search(`Patient?identifier=${SYSTEMS.patientId}|${PATIENT_MRN[p]}`);
      patientId[p] = found.entry?.[0]?.resource?.id ?? '';
    }
    const ecgs = await search('Observation?code=http://loinc.org|34534-8&_count=100');
    for (const e of ecgs.entry ?? []) {
      const uid = (e.resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value?.replace('urn:oid:', '');
      uidOf.set(e.resource?.id ?? '', uid ?? '');
    }
  }, 90_000);
  afterAll(async () => {
    await ehr?.close();
  });

  async function all(filter: WorklistFilter, count = 25): Promise<WorklistRow[]> {
    let cursor = startCursor(filter, count);
    const rows: WorklistRow[] = [];
    while (!cursor.done) {
      const page = await loadWorklistPage(search, cursor);
      rows.push(...page.rows);
      cursor = page.cursor;
    }
    return rows;
  }
  const uids = (rows: WorklistRow[]) => rows.map((r) => uidOf.get(r.ecgId));

  it("lists one patient's ECGs: any high first (newest first), then the others newest first", async () => {
    const rows = await all({ show: 'all', patient: patientId.A });
    expect(uids(rows)).toEqual(['1.2.3.100.2', '1.2.3.100.5', '1.2.3.100.4', '1.2.3.100.3', '1.2.3.100.1']);
    expect(rows.map((r) => r.anyHigh)).toEqual([true, true, false, false, false]);
  });

  it('pages with the server next links and never shows an ECG twice', async () => {
    requests.length = 0;
    const rows = await all({ show: 'all', patient: patientId.A }, 2);
    expect(uids(rows)).toEqual(['1.2.3.100.2', '1.2.3.100.5', '1.2.3.100.4', '1.2.3.100.3', '1.2.3.100.1']);
    expect(requests.some((r) => r.includes('_offset='))).toBe(true);
    // The worklist asks for the ECGs without their waveforms (the viewer reads them when one is opened).
    expect(requests.filter((r) => r.includes('34534-8')).every((r) => r.includes('_elements='))).toBe(true);
  });

  it('carries the RiskAssessment probabilities and the vessel strata on each row', async () => {
    const rows = await all({ show: 'all' });
    expect(rows).toHaveLength(SEEDED.length);
    for (const row of rows) {
      const seeded = SEEDED.find((s) => s.ecgUid === uidOf.get(row.ecgId));
      if (!seeded?.probabilities) continue;
      expect(row.resources.riskAssessment?.resourceType).toBe('RiskAssessment');
      expect(row.vessels.map((v) => v.probability)).toEqual(seeded.probabilities);
      expect(row.vessels.map((v) => v.stratum)).toEqual(seeded.probabilities.map(stratumOf));
    }
  });

  it('filters: any high, one vessel high, not analysable (with its reason), a date range', async () => {
    expect(uids(await all({ show: 'high' }))).toEqual(['1.2.3.200.1', '1.2.3.100.2', '1.2.3.100.5']);
    expect(uids(await all({ show: 'high', vessel: 'LCx' }))).toEqual(['1.2.3.100.5']);
    expect(uids(await all({ show: 'high', vessel: 'RCA', patient: patientId.B }))).toEqual([]);
    const na = await all({ show: 'not-analysable' });
    expect(uids(na)).toEqual(['1.2.3.100.3']);
    expect(na[0]?.notAnalysable?.reasons).toEqual(['lead V2 disconnected']);
    expect(na[0]?.pending).toBe(false);
    const ranged = await all({ show: 'all', from: '2026-11-21', to: '2026-11-23' });
    expect(uids(ranged)).toEqual(['1.2.3.100.2', '1.2.3.100.4', '1.2.3.100.3']);
  });
});
