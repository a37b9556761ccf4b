import { parseSearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../bundle.js';
import { examplePrediction } from '../example.js';
import { loadR4Definitions } from '../validate.js';
import { IndexedMemoryRepository } from './indexed-repository.js';

describe('IndexedMemoryRepository', () => {
  beforeAll(() => loadR4Definitions({ searchParameters: true }));

  it('answers identifier and _tag searches like Medplum search does, through updates and deletes', async () => {
    const indexed = new IndexedMemoryRepository();
    const plain = new MemoryRepository();
    const ids: Record<string, string> = {};
    for (const i of [1, 2, 3]) {
      for (const entry of buildBundle(examplePrediction({ ecgId: `1.2.3.${i}` })).entry ?? []) {
        const a = await indexed.createResource(entry.resource as never);
        await plain.createResource({ ...(entry.resource as object), id: (a as { id: string }).id } as never);
        ids[`${i}-${entry.request?.ifNoneExist}`] = (a as { id: string }).id;
      }
    }
    const queries = [
      'Observation?identifier=urn%3Adicom%3Auid|urn%3Aoid%3A1.2.3.2',
      'Device?identifier=https://ecgcad.org/fhir/sid/model|ecgcad-demo@1.0.0',
      'Observation?identifier=urn:dicom:uid|urn:oid:9.9',
    ];
    const prov = (await indexed.search(parseSearchRequest('Provenance'))).entry?.[0]?.resource;
    const tag = prov?.meta?.tag?.[0];
    queries.push(`Provenance?_tag=${encodeURIComponent(tag?.system ?? '')}|${tag?.code}`);
    const idsOf = async (repo: MemoryRepository, q: string) =>
      ((await repo.search(parseSearchRequest(q))).entry ?? []).map((e) => e.resource?.id).sort();
    for (const q of queries) expect(await idsOf(indexed, q), q).toEqual(await idsOf(plain, q));
    expect(await idsOf(indexed, queries[1] as string)).toHaveLength(3);

    const ecg = (await indexed.search(parseSearchRequest(queries[0] as string))).entry?.[0]?.resource;
    if (ecg?.resourceType !== 'Observation') throw new Error('no ECG');
    await indexed.updateResource({ ...ecg, identifier: [{ system: 'urn:x', value: 'moved' }] });
    expect(await idsOf(indexed, queries[0] as string)).toEqual([]);
    expect(await idsOf(indexed, 'Observation?identifier=urn:x|moved')).toEqual([ecg.id]);
    await indexed.deleteResource('Observation', ecg.id as string);
    expect(await idsOf(indexed, 'Observation?identifier=urn:x|moved')).toEqual([]);
  });
});
