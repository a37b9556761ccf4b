import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Runs a fresh node with --expose-gc (and tsx, to load the module from source): optionally raises the thresholds,
 * frees a touched 20 MiB block, then counts the page faults of touching another.
 * Where glibc maps that block afresh, every page faults; where it reuses freed heap, almost none does.
 */
function faultsOfSecondBlock(raise: boolean): number {
  const script = `
    const gc = globalThis.gc;
    if (${raise}) { const m = await import(${JSON.stringify(new URL('./heap.ts', import.meta.url).href)}); m.raiseHeapThresholds(); }
    gc(); gc();
    const SIZE = 20 * 1024 * 1024;
    let a = Buffer.allocUnsafeSlow(SIZE); a.fill(1); a = null; gc(); gc();
    const before = process.resourceUsage().minorPageFault;
    const b = Buffer.allocUnsafeSlow(SIZE); b.fill(2);
    process.stdout.write(String(process.resourceUsage().minorPageFault - before));
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    // glibc's own MALLOC_* settings would turn its adaptation off: the child runs without them.
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MALLOC_'))),
  });
  return Number(out);
}

const PAGES = (20 * 1024 * 1024) / 4096;

describe.skipIf(process.platform !== 'linux')('raiseHeapThresholds', () => {
  it('makes glibc reuse a freed 20 MiB block instead of mapping fresh pages', () => {
    const plain = faultsOfSecondBlock(false);
    const raised = faultsOfSecondBlock(true);
    // Without it glibc maps the first block itself and fresh heap for the second: (nearly) every page faults.
    expect(plain).toBeGreaterThan(PAGES / 2);
    expect(raised).toBeLessThan(PAGES / 20);
  });
});
