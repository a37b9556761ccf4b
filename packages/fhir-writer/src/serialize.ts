/**
 * A Bundle as the UTF-8 bytes of its JSON, byte for byte what `Buffer.from(JSON.stringify(bundle, null, indent))`
 * gives, for the sinks (the EHR's POST body, the Bundle file). The waveform's SampledData.data are most of a
 * Bundle's bytes (about 250 kB for 12 leads of 5,000 samples); JSON.stringify reads all of it for characters to
 * escape and Buffer.from reads it again to encode it. The data strings the builder wrote (writtenDataOf: digits,
 * '-', 'E' and spaces, nothing to escape, one byte per character) are left out of the stringify behind a marker and
 * copied into the bytes as they are.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, SampledData } from '@medplum/fhirtypes';
import { writtenDataOf } from './bundle.js';

/** Options of {@link serializeBundle}. */
export interface SerializeOptions {
  /** JSON.stringify's indent. Default none. */
  indent?: number;
  /** A line feed after the JSON (files). Default false. */
  newline?: boolean;
}

/** Data strings shorter than this go through JSON.stringify as they are: a splice would cost more than it saves. */
const SPLICE_MIN_CHARS = 1024;

/** The Bundle's JSON as UTF-8 bytes (see the module comment). The Bundle is left as it was. */
export function serializeBundle(bundle: Bundle, options: SerializeOptions = {}): Buffer {
  const { indent } = options;
  const tail = options.newline ? '\n' : '';
  const plain = (): Buffer => Buffer.from(`${JSON.stringify(bundle, null, indent)}${tail}`, 'utf8');
  const spliced = splicedData(bundle);
  if (spliced.length === 0) return plain();

  // A fresh random marker per call: no other string of the Bundle can hold it, so each is found exactly where its
  // data belong.
  const marker = `ecgcad-sampled-data-${randomUUID()}-`;
  let text: string;
  try {
    for (let i = 0; i < spliced.length; i++) (spliced[i] as Spliced).holder.data = `${marker}${i}`;
    text = `${JSON.stringify(bundle, null, indent)}${tail}`;
  } finally {
    for (const s of spliced) s.holder.data = s.data;
  }
  // The markers as JSON writes them (quoted, nothing in them to escape), found in one pass over the text, in the
  // text's order. Any marker missing, or one found twice (one SampledData object in two places): the plain path.
  const places: { start: number; end: number; data: string }[] = [];
  const found = new Uint8Array(spliced.length);
  const opening = `"${marker}`;
  for (let at = text.indexOf(opening); at >= 0; at = text.indexOf(opening, at)) {
    const start = at + 1;
    const close = text.indexOf('"', start + marker.length);
    if (close <= start + marker.length) return plain();
    const i = Number(text.slice(start + marker.length, close));
    if (!(i >= 0 && i < spliced.length) || found[i]) return plain();
    found[i] = 1;
    places.push({ start, end: close, data: (spliced[i] as Spliced).data });
    at = close + 1;
  }
  if (places.length !== spliced.length) return plain();

  let size = 0;
  let from = 0;
  for (const p of places) {
    size += Buffer.byteLength(text.slice(from, p.start), 'utf8') + p.data.length;
    from = p.end;
  }
  size += Buffer.byteLength(text.slice(from), 'utf8');
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  from = 0;
  for (const p of places) {
    at += out.write(text.slice(from, p.start), at, 'utf8');
    // One byte per character: the builder wrote only ASCII here.
    at += out.write(p.data, at, 'latin1');
    from = p.end;
  }
  out.write(text.slice(from), at, 'utf8');
  return out;
}

interface Spliced {
  holder: SampledData;
  data: string;
}

/** The SampledData of the Bundle's components whose data the builder wrote, each object once. */
function splicedData(bundle: Bundle): Spliced[] {
  const written = writtenDataOf(bundle);
  if (written.size === 0) return [];
  const out: Spliced[] = [];
  const seen = new Set<SampledData>();
  for (const entry of bundle.entry ?? []) {
    const components = (entry?.resource as { component?: { valueSampledData?: SampledData }[] } | undefined)?.component;
    if (!Array.isArray(components)) continue;
    for (const component of components) {
      const holder = component?.valueSampledData;
      if (holder === undefined || seen.has(holder)) continue;
      const data = holder.data;
      if (typeof data !== 'string' || data.length < SPLICE_MIN_CHARS || !written.has(data)) continue;
      seen.add(holder);
      out.push({ holder, data });
    }
  }
  return out;
}
