/** Bounded Prometheus label values: a label fed from outside (feeds, devices, senders) must not grow without end. */

/** Caps a label's distinct values: the first `max` seen keep their name, later ones become `other`. */
export class LabelCap {
  private readonly seen = new Set<string>();
  constructor(readonly max: number) {}

  /** The label value for `raw` (trimmed to printable ASCII, 64 characters). */
  value(raw: string | undefined): string {
    const clean =
      (raw ?? '')
        .replace(/[^\x20-\x7e]/g, '')
        .trim()
        .slice(0, 64) || 'unknown';
    if (this.seen.has(clean)) return clean;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(clean);
    return clean;
  }
}
