/**
 * Screenshot comparison for the browser tests: a page's picture against a committed reference, with a tolerance
 * (fonts and anti-aliasing differ a little between hosts). The pixels are compared in a blank page of the same
 * Chromium, so no image library is needed. ECGCAD_UPDATE_SCREENSHOTS=1 rewrites the reference instead.
 *
 * Also where the browser tests put the pictures of each page that the docs show (docs/images/): there only when asked
 * (ECGCAD_DOC_PICTURES=1, after a change to a page; ECGCAD_UPDATE_SCREENSHOTS=1 too), else in a scratch folder. A
 * PNG's bytes differ from run to run, so writing them on every run left the working tree changed after the tests.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

/** Rewrite references instead of comparing (set by a person who checked the new picture). */
export const UPDATE_SCREENSHOTS = process.env.ECGCAD_UPDATE_SCREENSHOTS === '1';

/** Write the docs' pictures into docs/images/ (else into {@link DOC_PICTURES_SCRATCH}). */
export const UPDATE_DOC_PICTURES = UPDATE_SCREENSHOTS || process.env.ECGCAD_DOC_PICTURES === '1';

/** The docs' pictures, as committed. */
export const DOC_IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

/** Where the docs' pictures go on an ordinary test run. */
export const DOC_PICTURES_SCRATCH = join(tmpdir(), 'ecgcad-doc-pictures');

/** The path a test writes the docs' picture `name` to (see {@link UPDATE_DOC_PICTURES}); its folder exists. */
export function docPicturePath(name: string): string {
  const folder = UPDATE_DOC_PICTURES ? DOC_IMAGES : DOC_PICTURES_SCRATCH;
  mkdirSync(folder, { recursive: true });
  return join(folder, name);
}

/**
 * Share of pixels whose colour differs by more than `threshold` (0-255) in any channel; 1 when the sizes differ.
 */
export async function pixelDifference(browser: Browser, a: Buffer, b: Buffer, threshold = 64): Promise<number> {
  const page = await browser.newPage();
  try {
    // Page-side source as a string: the tests' tsconfig has no DOM library.
    const script = `(async () => {
      const load = async (b64) => {
        const img = new Image();
        img.src = 'data:image/png;base64,' + b64;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return ctx.getImageData(0, 0, canvas.width, canvas.height);
      };
      const p = await load('${a.toString('base64')}');
      const q = await load('${b.toString('base64')}');
      if (p.width !== q.width || p.height !== q.height) return 1;
      let differing = 0;
      for (let i = 0; i < p.data.length; i += 4) {
        for (let k = 0; k < 3; k++) {
          if (Math.abs(p.data[i + k] - q.data[i + k]) > ${threshold}) { differing++; break; }
        }
      }
      return differing / (p.width * p.height);
    })()`;
    return (await page.evaluate(script)) as number;
  } finally {
    await page.close();
  }
}

/**
 * Compares `shot` with the reference PNG at `referencePath` and returns the share of differing pixels (0 when the
 * reference was just written under ECGCAD_UPDATE_SCREENSHOTS=1). Throws when the reference is missing.
 */
export async function differenceFromReference(browser: Browser, shot: Buffer, referencePath: string): Promise<number> {
  if (UPDATE_SCREENSHOTS) {
    writeFileSync(referencePath, shot);
    return 0;
  }
  if (!existsSync(referencePath)) {
    throw new Error(`no reference picture at ${referencePath}: run with ECGCAD_UPDATE_SCREENSHOTS=1 and check it`);
  }
  return pixelDifference(browser, shot, readFileSync(referencePath));
}
