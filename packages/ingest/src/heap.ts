/**
 * Heap settings the `ecgcad` command makes once per process: glibc's allocation thresholds (below), V8's
 * old-generation growing factor ({@link raiseOldGenerationGrowing}) and V8's allocation-site pretenuring, off
 * ({@link stopPretenuring}).
 *
 * glibc's allocation thresholds, raised once per process so that the C heap keeps freed lead buffers for reuse.
 *
 * Decoding puts each record's leads (20-40 KB each) on the C heap, and V8 frees them in bulk when it sweeps dead
 * records. With glibc's defaults the freed top of the heap then goes back to the kernel (trimming above 128 KB),
 * and the next records fault in fresh pages: about 100 minor faults and 0.2 ms of system time per 1000 Hz record,
 * a quarter or more of its decode + prepare (docs/PERFORMANCE.md). glibc adapts its thresholds by itself, but
 * only when a block it had mapped on its own (above the mmap threshold) is freed: the mmap threshold then rises to
 * that block's size and the trim threshold to twice that (mallopt(3), M_MMAP_THRESHOLD). Lead buffers are far below
 * the mmap threshold, so they never trigger it, and a larger block freed by chance (a received file, say) raises
 * the thresholds only to its own size; freeing one block just under glibc's cap for the adaptation (32 MiB on
 * 64-bit) raises them once, at start-up, as far as they go.
 *
 * Effect: blocks up to 31 MiB come from the heap, and up to 62 MiB of freed heap top stays resident for reuse.
 * It does nothing where an operator set MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_, MALLOC_TOP_PAD_ or
 * MALLOC_MMAP_MAX_ (glibc then keeps those values fixed), nor under another C library (musl); there it only costs
 * one untouched 31 MiB mapping, freed at the next collection.
 */

import { setFlagsFromString } from 'node:v8';

/** Just under DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit glibc), leaving room for the chunk header. */
const ADAPTATION_BLOCK_BYTES = 31 * 1024 * 1024;

let raised = false;

/**
 * Raises glibc's dynamic mmap and trim thresholds for this process (see the module comment); idempotent. The
 * block is never touched, so it costs no memory; glibc adapts when V8 collects it, normally within the first
 * few records. Call it once at start-up in a process that decodes many waveforms (the `ecgcad` command does).
 */
export function raiseHeapThresholds(): void {
  if (raised || process.platform !== 'linux') return;
  raised = true;
  // Allocated uninitialised, so glibc maps it (above the initial 128 KB threshold) without touching its pages.
  Buffer.allocUnsafeSlow(ADAPTATION_BLOCK_BYTES);
}

/**
 * V8's old-generation growing factor the `ecgcad` command runs with, as a percentage over 1 (200: the next full
 * collection comes when the old generation has grown to three times what survived the last one).
 *
 * Why: V8 picks the factor itself after each full collection (1.1 to 4, from its marking speed against the
 * program's allocation speed). Under load the engine mostly got 1.1 to 1.5 (`--trace-gc-verbose` in bench/e2e:
 * some 67 MB live, the next limit at 93-115 MB), so the next full collection was never far: 1 to 11 per 300 ECGs
 * (5 to 11 once the engine promoted less), each marking the whole heap on the helper threads that share the cores
 * with the stages. With 200, one or two, and the helper threads' CPU per ECG fell by about a quarter
 * (docs/PERFORMANCE.md, session 13). The cost is a heap that may grow to three times its live size before it is
 * collected.
 */
export const ENGINE_HEAP_GROWING_PERCENT = 200;

let growingSet = false;

/**
 * Sets V8's old-generation growing factor for this process (see {@link ENGINE_HEAP_GROWING_PERCENT}); idempotent.
 * Does nothing when node was started with its own `--heap-growing-percent`, which then stands. V8 reads the factor
 * at each full collection, so setting it after start-up takes effect from the next one.
 */
export function raiseOldGenerationGrowing(percent = ENGINE_HEAP_GROWING_PERCENT): void {
  if (growingSet) return;
  growingSet = true;
  if (startedWithV8Flag('heap-growing-percent')) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * Whether node was started with V8's flag `name` (dashes; V8 also reads underscores), set or negated (`--no-name`,
 * `--noname`), with or without a value: the operator's own choice, which the command's settings leave standing.
 */
function startedWithV8Flag(name: string): boolean {
  return process.execArgv.some((arg) => {
    if (!arg.startsWith('--')) return false;
    const flag = (arg.slice(2).split('=')[0] as string).replaceAll('_', '-');
    return flag === name || flag === `no-${name}` || flag === `no${name}`;
  });
}

let pretenuringStopped = false;

/**
 * Turns V8's allocation-site pretenuring off for this process; idempotent. Does nothing when node was started with
 * its own `--[no-]allocation-site-pretenuring`, which then stands. Call it at start-up, before the per-ECG code is
 * optimised: optimised code keeps the decisions it was compiled with.
 *
 * Why: V8 watches where objects are allocated, and once most objects of one site have survived a young-generation
 * collection it allocates that site's objects in the old generation from then on. Under a backlog most of the
 * engine's per-ECG objects live that long, so their sites go old; an old object is only found dead by a full
 * collection, and until then every young object it points to survives each young collection with it, its lead and
 * body buffers included. Those buffers count as external memory, and V8 starts a full collection for every 64 MB
 * of it: at full blast (bench/e2e) one every 150-200 ECGs, all of them started by external memory pressure
 * (`--trace-incremental-marking`), each marking the whole heap on the helper threads that share the cores with the
 * stages. With pretenuring off the engine's objects are copied once or twice more before they are promoted, and
 * V8 started fewer full collections: 4-5 per 1,000 ECGs at full blast against 5-6 (bench/ab, 13 pairs;
 * docs/PERFORMANCE.md, session 21).
 */
export function stopPretenuring(): void {
  if (pretenuringStopped) return;
  pretenuringStopped = true;
  if (startedWithV8Flag('allocation-site-pretenuring')) return;
  setFlagsFromString('--no-allocation-site-pretenuring');
}

/**
 * Every heap setting the `ecgcad` command makes at start-up, before any record is decoded: glibc's thresholds
 * ({@link raiseHeapThresholds}), V8's growing factor ({@link raiseOldGenerationGrowing}) and no pretenuring
 * ({@link stopPretenuring}). The command calls this, and so do the benches that run the engine in their own
 * process, so they measure it as deployed.
 */
export function applyEngineHeapSettings(): void {
  raiseHeapThresholds();
  raiseOldGenerationGrowing();
  stopPretenuring();
}
