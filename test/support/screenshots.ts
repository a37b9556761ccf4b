/**
 * Screenshot comparison for the browser tests: a page's picture against a committed reference, with a tolerance
 * (fonts and anti-aliasing differ a little between hosts). The pixels are compared in a blank page of the same
 * Chromium, so no image library is needed. ECGCAD_UPDATE_SCREENSHOTS=1 rewrites the reference instead.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Rewrite references instead of comparing (set by a person who checked the new picture). */
export const UPDATE_SCREENSHOTS = process.env.ECGCAD_UPDATE_SCREENSHOTS === '1';

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
