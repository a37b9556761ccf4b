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

/**
 * Runs a fresh node (tsx loads the module from source) with `flags`, optionally calls raiseOldGenerationGrowing,
 * then forces two full collections; returns the growing factors V8 applied to the old generation's next limit after
 * those two, the process's last (its --trace-gc-verbose lines "[HeapController] Limit: old size: ..., new limit: ...
 * (factor)"; collections during start-up come before them).
 */
function growingFactors(raise: boolean, flags: string[] = []): number[] {
  const script = `
    if (${raise}) { const m = await import(${JSON.stringify(new URL('./heap.ts', import.meta.url).href)}); m.raiseOldGenerationGrowing(); }
    const live = Array.from({ length: 2000 }, (_, i) => new Array(1000).fill(i));
    globalThis.gc(); globalThis.gc();
    process.stdout.write(String(live.length));
  `;
  const out = execFileSync(
    process.execPath,
    [...flags, '--expose-gc', '--trace-gc-verbose', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const factors = [...out.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: \d+ KB \(([0-9.]+)\)/g)].map(
    (m) => Number(m[1]),
  );
  return factors.slice(-2);
}

describe('raiseOldGenerationGrowing', () => {
  it('makes V8 set each next old-generation limit at three times the live size, from the next collection on', () => {
    expect(growingFactors(true)).toEqual([3, 3]);
  });

  it("leaves node's own --heap-growing-percent standing", () => {
    expect(growingFactors(true, ['--heap-growing-percent=10'])).toEqual([1.1, 1.1]);
  });

  it('is not what V8 picks by itself (the test would prove nothing otherwise)', () => {
    const factors = growingFactors(false);
    expect(factors).toHaveLength(2);
    expect(factors).not.toContain(3);
  });
});

/**
 * Runs a fresh node (tsx loads the module from source) with `flags` and --trace-pretenuring-statistics, optionally
 * calls stopPretenuring, then allocates objects from one site that live through young collections (what makes V8
 * consider pretenuring the site); returns how many pretenuring lines V8 printed (none once pretenuring is off).
 */
function pretenuringLines(stop: boolean, flags: string[] = []): number {
  const script = `
    if (${stop}) { const m = await import(${JSON.stringify(new URL('./heap.ts', import.meta.url).href)}); m.stopPretenuring(); }
    const held = new Array(50000);
    for (let i = 0; i < 200000; i++) held[i % held.length] = { i, pair: [i, i + 1] };
    process.stdout.write(String(held.length));
  `;
  const out = execFileSync(
    process.execPath,
    [...flags, '--trace-pretenuring-statistics', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return out.split('\n').filter((line) => line.includes('pretenuring:')).length;
}

describe('stopPretenuring', () => {
  it('turns V8 allocation-site pretenuring off: no site is considered for the old generation any more', () => {
    expect(pretenuringLines(true)).toBe(0);
  });

  it("leaves node's own --allocation-site-pretenuring standing", () => {
    expect(pretenuringLines(true, ['--allocation-site-pretenuring'])).toBeGreaterThan(0);
    // V8 reads underscores as dashes.
    expect(pretenuringLines(true, ['--allocation_site_pretenuring'])).toBeGreaterThan(0);
  });

  it('is not what V8 does by itself (the test would prove nothing otherwise)', () => {
    expect(pretenuringLines(false)).toBeGreaterThan(0);
  });
});
