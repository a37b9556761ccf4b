/**
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
