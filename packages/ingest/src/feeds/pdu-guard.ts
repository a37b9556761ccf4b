/**
 * Watches the PDU headers on a DICOM upper-layer stream (PS3.8 9.3: type, reserved, 32-bit big-endian length) so the
 * SCP can drop a peer that announces a PDU larger than it will ever accept, before the library buffers it.
 */
export class PduGuard {
  /** Bytes of the current PDU's body still to come. */
  #remaining = 0;
  /** Bytes of a header split across chunks. */
  #header: number[] = [];
  /** PDUs received in full so far (the SCP's idle timer counts progress in whole PDUs, so trickled bytes do not). */
  completed = 0;

  constructor(private readonly maxPduBytes: number) {}

  /** Feeds one chunk; returns false when a PDU header breaks the rules (unknown type or over the size limit). */
  push(chunk: Uint8Array): boolean {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.byteLength - at);
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.completed++;
        continue;
      }
      this.#header.push(chunk[at]!);
      at++;
      if (this.#header.length === 6) {
        const [type, , b0, b1, b2, b3] = this.#header as [number, number, number, number, number, number];
        this.#header = [];
        if (type < 0x01 || type > 0x07) return false;
        const length = ((b0 << 24) >>> 0) + (b1 << 16) + (b2 << 8) + b3;
        if (length > this.maxPduBytes) return false;
        this.#remaining = length;
        if (length === 0) this.completed++;
      }
    }
    return true;
  }
}
