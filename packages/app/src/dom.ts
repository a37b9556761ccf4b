/** A tiny element builder: text goes in as text nodes, never as HTML, so FHIR content cannot inject markup. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Array<Node | string | undefined | false>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== false) node.append(c);
  return node;
}

/** A local date and time, e.g. "2026-11-23 09:00" (the acquisition time as the browser's zone shows it). */
export function formatTime(iso: string | undefined): string {
  if (!iso) return 'time unknown';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A probability as a percentage with one decimal ("52.0 %"). */
export const formatProbability = (p: number | undefined): string =>
  p === undefined ? 'not written' : `${(p * 100).toFixed(1)} %`;
