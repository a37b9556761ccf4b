/**
 * Philips `restingecgdata` (SierraECG / PhilipsECG) XML: recognised and refused. Its waveforms are
 * XLI-compressed, and this engine has no XLI decoder yet; a clear refusal beats a wrong decode.
 */
import { UnsupportedFormatError } from '@ecgcad/ecg';
import { decodeXmlText } from './xml.js';

const FORMAT = 'philips-sierra';
/** Document types Philips carts and TraceMasterVue write. */
const PHILIPS_DOCUMENT_TYPES = new Set(['SierraECG', 'PhilipsECG']);

/**
 * Always throws UnsupportedFormatError('philips-sierra', ...). A document whose `documenttype` is not a Philips
 * one (e.g. `MortaraECG` under a Philips root) is refused naming what it found.
 */
export function refusePhilips(bytes: Uint8Array): never {
  const head = decodeXmlText(bytes.subarray(0, 64 * 1024));
  const found = /<(?:\w+:)?documenttype>\s*([^<]{0,64}?)\s*<\/(?:\w+:)?documenttype>/.exec(head)?.[1];
  if (found !== undefined && !PHILIPS_DOCUMENT_TYPES.has(found)) {
    const shown = found.replace(/[^\w .-]/g, '?');
    throw new UnsupportedFormatError(
      FORMAT,
      `Philips restingecgdata with documenttype "${shown}" is not a SierraECG document and is not supported`,
    );
  }
  throw new UnsupportedFormatError(FORMAT, 'Philips SierraECG XML with XLI-compressed waveforms is not supported yet');
}
