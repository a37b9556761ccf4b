/**
 * Safe XML text handling shared by the XML decoders: charset detection, a cheap look at the root element for
 * format sniffing, and one parser configuration with entity expansion off and nesting limited.
 */
import { XMLParser } from 'fast-xml-parser';

/** A parsed XML element as fast-xml-parser returns it (attributes prefixed with `@_`, text in `#text`). */
export type XmlNode = { [key: string]: unknown };

/**
 * Decodes XML bytes to a string. A UTF-8 / UTF-16 byte order mark wins; else UTF-16 without a BOM is recognised
 * from the `<` byte pattern; else the XML declaration's encoding is honoured for ISO-8859-1 / Latin-1 /
 * Windows-1252 (GE MUSE writes ISO-8859-1); everything else is read as UTF-8. Invalid sequences become U+FFFD.
 */
export function decodeXmlText(bytes: Uint8Array): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (b0 === 0xff && b1 === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (b0 === 0xfe && b1 === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (b0 === 0x3c && b1 === 0x00) return new TextDecoder('utf-16le').decode(bytes);
  if (b0 === 0x00 && b1 === 0x3c) return new TextDecoder('utf-16be').decode(bytes);
  const head = latin1Prefix(bytes, 200);
  const enc = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']/.exec(head)?.[1]?.toLowerCase();
  if (enc === 'iso-8859-1' || enc === 'latin1' || enc === 'latin-1' || enc === 'windows-1252') {
    return new TextDecoder('latin1').decode(bytes);
  }
  return new TextDecoder('utf-8').decode(bytes);
}

function latin1Prefix(bytes: Uint8Array, n: number): string {
  let s = '';
  const end = Math.min(bytes.length, n);
  for (let i = 0; i < end; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** The root element of an XML document: its local name and its namespace URI (empty when none). */
export interface XmlRoot {
  localName: string;
  namespace: string;
}

/**
 * Finds the root element without parsing the document: skips the declaration, processing instructions,
 * comments and a DOCTYPE (internal subset included), then reads the first start tag. Undefined when the text
 * does not start like XML.
 */
export function findXmlRoot(text: string): XmlRoot | undefined {
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && /\s/.test(text[i] as string)) i++;
    if (text[i] !== '<') return undefined;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return undefined;
      i = end + 3;
    } else if (text.startsWith('<!DOCTYPE', i)) {
      const bracket = text.indexOf('[', i);
      const close = text.indexOf('>', i);
      if (close < 0) return undefined;
      if (bracket >= 0 && bracket < close) {
        const endSubset = text.indexOf(']', bracket);
        if (endSubset < 0) return undefined;
        const after = text.indexOf('>', endSubset);
        if (after < 0) return undefined;
        i = after + 1;
      } else {
        i = close + 1;
      }
    } else {
      break;
    }
  }
  const tagEnd = text.indexOf('>', i);
  if (tagEnd < 0) return undefined;
  const tag = text.slice(i + 1, tagEnd);
  const name = /^([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)/.exec(tag)?.[1];
  if (!name) return undefined;
  const colon = name.indexOf(':');
  const prefix = colon >= 0 ? name.slice(0, colon) : '';
  const localName = colon >= 0 ? name.slice(colon + 1) : name;
  const nsAttr = prefix ? `xmlns:${prefix}` : 'xmlns';
  const nsMatch = new RegExp(`(?:^|\\s)${nsAttr.replace('.', '\\.')}\\s*=\\s*(["'])(.*?)\\1`).exec(
    tag.slice(name.length),
  );
  return { localName, namespace: nsMatch?.[2] ?? '' };
}

/**
 * A parser for untrusted XML: no entity expansion (so no billion laughs and no external DTD), namespace prefixes
 * dropped, values left as strings, nesting limited. `stopNodes` keeps big text (aECG digits) as one raw string
 * that the caller scans itself.
 */
export function createSafeXmlParser(options: { maxDepth: number; stopNodes?: string[] }): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
    maxNestedTags: options.maxDepth,
    stopNodes: options.stopNodes ?? [],
  });
}

/** The value as an array: undefined -> [], one element -> [it]. */
export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The child element(s) `name` of a node, always as an array of nodes (text-only children become `{#text}`). */
export function children(node: unknown, name: string): XmlNode[] {
  if (!isNode(node)) return [];
  return asArray(node[name]).map((c) => (isNode(c) ? c : { '#text': String(c) }));
}

/** The first child element `name`, or undefined. */
export function child(node: unknown, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** Follows a path of child names, taking the first child at each step. */
export function path(node: unknown, ...names: string[]): XmlNode | undefined {
  let cur: unknown = node;
  for (const name of names) {
    cur = child(cur, name);
    if (cur === undefined) return undefined;
  }
  return cur as XmlNode;
}

/** An attribute value, or undefined. */
export function attr(node: unknown, name: string): string | undefined {
  if (!isNode(node)) return undefined;
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
}

/** The text content of an element (trimmed), or undefined when empty. */
export function text(node: unknown): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (typeof node === 'string') return node.trim() || undefined;
  if (isNode(node)) {
    const t = node['#text'];
    if (typeof t === 'string' || typeof t === 'number') return String(t).trim() || undefined;
  }
  return undefined;
}

export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
