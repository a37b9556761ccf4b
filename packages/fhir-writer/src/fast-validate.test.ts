import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from './bundle.js';
import { examplePrediction, examplePtpAssessment } from './example.js';
import { fastResourceValid } from './fast-validate.js';
import { bundleIssues, loadR4Definitions, structuralIssues } from './validate.js';

beforeAll(() => loadR4Definitions());

const full = (r: Resource): string[] => structuralIssues(r, r.resourceType, { mode: 'full' });
const clone = <T>(x: T): T => structuredClone(x);

/** The ECG Observation of a Bundle with one waveform component per lead, as contract C1 has the writer add them. */
function withWaveform(bundle: Bundle): Bundle {
  const ecg = bundle.entry?.find(
    (e) => e.resource?.resourceType === 'Observation' && e.resource.code.coding?.[0]?.system === 'http://loinc.org',
  )?.resource as Observation | undefined;
  if (!ecg) throw new Error('no ECG Observation');
  ecg.component = [131329, 131330, 131331].map((code, lead) => ({
    code: {
      coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', code: String(code), display: `MDC_ECG_LEAD_${lead}` }],
    },
    valueSampledData: {
      origin: { value: 0, unit: 'uV', system: 'http://unitsofmeasure.org', code: 'uV' },
      period: 2,
      factor: 4.88,
      dimensions: 1,
      data: Array.from({ length: 5000 }, (_, i) => Math.round(300 * Math.sin(i / 40 + lead))).join(' '),
    },
  }));
  return bundle;
}

/** An attribution Observation as contract C2 describes it (focus, derivedFrom, extension, sampled-data components). */
function attributionObservation(bundle: Bundle): Observation {
  const urls = (bundle.entry ?? []).map((e) => e.fullUrl as string);
  return {
    resourceType: 'Observation',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'AIAST' }] },
    extension: [
      {
        url: 'https://ecgcad.org/fhir/StructureDefinition/attribution-window-start',
        valueQuantity: { value: 0.5, unit: 's', system: 'http://unitsofmeasure.org', code: 's' },
      },
    ],
    status: 'final',
    code: {
      coding: [{ system: 'https://ecgcad.org/fhir/CodeSystem/ecgcad', code: 'occlusion-sensitivity', display: 'map' }],
    },
    subject: { reference: 'Patient?identifier=urn:oid:1.2.3|MRN-000123' },
    effectiveDateTime: '2026-11-26T08:59:40+01:00',
    device: { reference: urls[0] },
    focus: [{ reference: urls[3] }],
    derivedFrom: [{ reference: urls[1] }],
    component: [131329, 131330].map((code) => ({
      code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', code: String(code) }] },
      valueSampledData: {
        origin: { value: 0, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
        period: 1000,
        factor: 0.001,
        dimensions: 1,
        data: '12 -3 0 44 7 -120 5 9 0 1',
      },
    })),
  };
}

/** Bundles of every kind the writer builds, plus the contract C1/C2 content other stages add. */
function bases(): Bundle[] {
  const scored = examplePrediction({ probabilities: [0.08, 0.05, 0.52, 0.2] });
  const list = [
    buildBundle(scored),
    buildBundle(examplePrediction({ probabilities: [0.9, 0.05, 0.6, 0.05] })),
    buildBundle(examplePrediction({ notAnalysable: ['lead V3 is flat', 'record is 4.2 s long'] })),
    buildBundle(examplePrediction({ patientId: null }), { patient: { whenMissing: 'placeholder' } }),
    buildBundle(scored, {}, examplePtpAssessment(scored)),
    withWaveform(buildBundle(scored)),
  ];
  const attributed = withWaveform(buildBundle(scored));
  attributed.entry?.push({
    fullUrl: 'urn:uuid:0f000000-0000-4000-8000-000000000001',
    resource: attributionObservation(attributed),
    request: { method: 'POST', url: 'Observation' },
  });
  list.push(attributed);
  return list;
}

/** The Bundle without its resources, as bundleIssues validates its shell. */
function shell(bundle: Bundle): Bundle {
  return { ...bundle, entry: (bundle.entry ?? []).map(({ resource: _r, ...rest }) => rest) };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Container = Json[] | { [k: string]: Json };

/** Every (container, key) pair in a JSON value, so a mutation can hit any property or array item. */
function slots(value: Json, out: [Container, string | number][] = []): [Container, string | number][] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([value, k]);
      slots(v, out);
    }
  }
  return out;
}

const HUGE = 'x'.repeat(1024 * 1024 + 1);
const DELETE = Symbol('delete');
const WRAP = Symbol('wrap in an array');
const UNWRAP = Symbol('first item of an array');

/** What a mutation puts in a slot (or does to it); wide on purpose: types, formats, emptiness, shape. */
const replacement = fc.oneof(
  { arbitrary: fc.constantFrom<symbol>(DELETE, WRAP, UNWRAP), weight: 3 },
  fc.constantFrom<Json | undefined | symbol>(
    '',
    '   ',
    [],
    {},
    null,
    undefined,
    0,
    -1,
    1.5,
    Number.POSITIVE_INFINITY,
    Number.NaN as number,
    true,
    'bogus code',
    'bogus',
    '2024-13-01',
    '2024-02-30T25:00:00Z',
    '2026-11-26T08:59:40',
    '2026-11-26',
    'a\u0001b',
    'urn:uuid:not-a-uuid',
    'Patient/123',
    '#contained',
    '1 2 x 4',
    'E U L',
    { url: 'https://x.org/e' },
    { valueString: 'no url' },
    { url: 'https://x.org/e', valueString: 'v' },
    { system: 'http://x.org', code: 'c' },
    { reference: '' },
    { value: 1, code: 'mg' },
    [{ text: 't' }],
    ['a', null],
  ),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: false }),
);

/** Extra keys a mutation adds to an object. */
const addition = fc.constantFrom<[string, Json]>(
  ['bogus', 1],
  ['_status', { extension: [{ url: 'https://x.org/e', valueString: 'v' }] }],
  ['extension', [{ url: 'https://x.org/e' }]],
  ['extension', [{ valueBoolean: true }]],
  ['extension', [{ url: 'https://x.org/e', valueBoolean: true }]],
  ['modifierExtension', [{ url: 'https://x.org/e', valueCode: 'x' }]],
  ['contained', [{ resourceType: 'Patient', id: 'p' }]],
  ['valueString', 'two values'],
  ['valueQuantity', { value: 1 }],
  ['dataAbsentReason', { text: 'absent' }],
  ['resourceType', 'Observation'],
  ['id', 'abc'],
  ['id', 'a b'],
  ['text', { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' }],
  ['text', { status: 'generated', div: '<p>no div</p>' }],
  ['total', 3],
  ['search', { mode: 'match' }],
  ['response', { status: '201' }],
  ['referenceRange', [{ text: 'r' }]],
  ['referenceRange', [{ appliesTo: [{ text: 'x' }] }]],
  ['probabilityDecimal', 150],
  ['component', [{ code: { text: 'c' }, valueQuantity: { value: 1 } }]],
);

const mutation = fc.record({
  target: fc.nat(),
  slot: fc.nat(),
  kind: fc.constantFrom('replace', 'add', 'replace', 'add-then-replace'),
  replacement,
  addition,
  second: fc.nat(),
  secondReplacement: replacement,
});
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(value: Json, slot: number, what: Json | undefined | symbol): void {
  const all = slots(value);
  if (all.length === 0) return;
  const [container, key] = all[slot % all.length] as [Container, string | number];
  const c = container as Record<string | number, Json | undefined>;
  if (what === DELETE) {
    if (Array.isArray(container)) container.splice(key as number, 1);
    else delete c[key];
  } else if (what === WRAP) {
    c[key] = [c[key] as Json];
  } else if (what === UNWRAP) {
    const v = c[key];
    c[key] = Array.isArray(v) ? (v[0] as Json) : v;
  } else {
    c[key] = clone(what as Json | undefined);
  }
}

function addTo(value: Json, slot: number, [key, extra]: [string, Json]): void {
  const objects = [value, ...slots(value).map(([c, k]) => (c as Record<string | number, Json>)[k])].filter(
    (v): v is { [k: string]: Json } => !!v && typeof v === 'object' && !Array.isArray(v),
  );
  const target = objects[slot % objects.length];
  if (target) target[key] = clone(extra);
}

/** A mutated copy of one resource (or of a Bundle's shell) of the base Bundles. */
function mutated(all: Resource[], m: Mutation): Resource {
  const r = clone(all[m.target % all.length]) as unknown as Json;
  if (m.kind === 'add' || m.kind === 'add-then-replace') addTo(r, m.slot, m.addition);
  if (m.kind === 'replace' || m.kind === 'add-then-replace') apply(r, m.slot, m.replacement);
  if (m.second % 3 === 0) apply(r, m.second, m.secondReplacement);
  return r as unknown as Resource;
}

describe('fastResourceValid', () => {
  const bundles = bases();
  const resources: Resource[] = bundles.flatMap((b) => [
    shell(b),
    ...(b.entry ?? []).map((e) => e.resource as Resource),
  ]);

  it('vouches for every resource and Bundle shell the writer builds (and full validation agrees)', () => {
    for (const r of resources) {
      expect(full(r)).toEqual([]);
      expect(fastResourceValid(r), r.resourceType).toBe(true);
    }
    for (const b of bundles) expect(bundleIssues(b)).toEqual(bundleIssues(b, { mode: 'full' }));
  });

  it("never vouches for what @medplum/core's full validation refuses, over fuzzed mutations", () => {
    let refused = 0;
    let validVouched = 0;
    let valid = 0;
    fc.assert(
      fc.property(mutation, (m) => {
        const r = mutated(resources, m);
        const issues = full(r);
        const vouched = fastResourceValid(r);
        if (issues.length > 0) {
          refused++;
          expect(vouched, `vouched for a resource full validation refuses: ${issues.join('; ')}`).toBe(false);
        } else {
          valid++;
          if (vouched) validVouched++;
        }
        // The default mode gives exactly the full mode's findings.
        expect(structuralIssues(r)).toEqual(issues);
      }),
      { numRuns: 1000 },
    );
    // The fuzzer does produce both verdicts, and the fast path carries most valid mutants by itself.
    expect(refused).toBeGreaterThan(200);
    expect(valid).toBeGreaterThan(100);
    // Valid mutants it leaves to the full validation: empty values Medplum reads as absent, primitive extensions,
    // undefined keys, second choice values Medplum ignores (about half of the valid ones; none of the built ones).
    expect(validVouched / valid).toBeGreaterThan(0.3);
  }, 240_000);

  it('reads obs-3 and obs-7 directly, with the verdicts of FHIRPath', () => {
    const vessel = resources.find(
      (r) => r.resourceType === 'Observation' && r.valueCodeableConcept !== undefined && r.component !== undefined,
    ) as Observation;
    expect(vessel.component?.[0]?.referenceRange?.length).toBe(3);
    const cases: [string, (o: Observation) => void, RegExp | undefined][] = [
      ['as built', () => {}, undefined],
      // obs-7: a component whose code shares a coding with the Observation's code, while a value is present (left to
      // FHIRPath, whose verdict stands; Medplum's intersect does not match equal Codings that are distinct objects).
      [
        'component code = resource code',
        (o) => ((o.component?.[0] as { code: unknown }).code = clone(o.code)),
        undefined,
      ],
      ['component coding without a code', (o) => delete o.component?.[0]?.code.coding?.[0]?.code, undefined],
      [
        'a shared code, no value',
        (o) => {
          (o.component?.[0] as { code: unknown }).code = clone(o.code);
          delete o.valueCodeableConcept;
        },
        undefined,
      ],
      // obs-3: a range needs low, high or text.
      [
        'range with appliesTo only',
        (o) => {
          (o.component?.[0]?.referenceRange as unknown[])[0] = { appliesTo: [{ text: 'adults' }] };
        },
        /obs-3/,
      ],
      [
        'range with low only',
        (o) => {
          (o.component?.[0]?.referenceRange as unknown[])[0] = { low: { value: 0.1 } };
        },
        undefined,
      ],
    ];
    for (const [what, change, refusal] of cases) {
      const o = clone(vessel) as Observation;
      change(o);
      const issues = full(o);
      if (refusal) expect(issues.join(), what).toMatch(refusal);
      else expect(issues, what).toEqual([]);
      expect(fastResourceValid(o), what).toBe(issues.length === 0);
    }
  });

  it('leaves a prediction without probability to the full validation (ras-2 reads it as not met)', () => {
    const ra = clone(resources[3]) as unknown as { prediction: Record<string, unknown>[] };
    delete ra.prediction[2]?.probabilityDecimal;
    expect(full(ra as unknown as Resource).join()).toMatch(/ras-2/);
    expect(fastResourceValid(ra as unknown as Resource)).toBe(false);
  });

  it('refuses a string over 1 MB (Medplum does, after a slow look at it)', () => {
    const o = clone(resources[4]) as Observation;
    o.note = [{ text: HUGE }];
    expect(fastResourceValid(o)).toBe(false);
    o.note = [{ text: HUGE.slice(1) }];
    expect(fastResourceValid(o)).toBe(true);
  });

  it('refuses the classic faults (so the fuzz agreement is not vacuous)', () => {
    const obs = () => clone(resources[4]) as unknown as Record<string, unknown>;
    const cases: [string, (o: Record<string, unknown>) => void][] = [
      ['unknown element', (o) => (o.bogus = 1)],
      ['missing required status', (o) => delete o.status],
      ['wrong primitive type', (o) => (o.status = 7)],
      ['bad dateTime', (o) => (o.effectiveDateTime = '2026-13-01')],
      ['array where single', (o) => (o.status = ['final'])],
      ['single where array', (o) => (o.derivedFrom = (o.derivedFrom as unknown[])[0])],
      ['extension without value or children', (o) => (o.extension = [{ url: 'https://x.org/e' }])],
      ['null', (o) => (o.issued = null)],
    ];
    for (const [name, mutate] of cases) {
      const o = obs();
      mutate(o);
      expect(fastResourceValid(o as unknown as Resource), name).toBe(false);
      expect(full(o as unknown as Resource).length, name).toBeGreaterThan(0);
    }
  });

  it('refuses a sampled-data component whose dimensions or period break their types', () => {
    const b = withWaveform(buildBundle(examplePrediction()));
    const ecg = clone(b.entry?.[1]?.resource) as Observation;
    const sd = ecg.component?.[0]?.valueSampledData;
    if (!sd) throw new Error('no sampled data');
    sd.dimensions = 0;
    expect(fastResourceValid(ecg)).toBe(false);
    expect(full(ecg).join()).toMatch(/positive/);
  });
});
