/**
 * Finiteness checks for model inputs: one NaN or infinity in a tensor would turn that ECG's scores into noise, so
 * the infer stage refuses such an input before it joins a batch.
 */
import { SIMD_MIN_VALUES, simdKernels } from './simd-kernels.js';

/** True when no value of `values` is NaN or infinite (WebAssembly SIMD where it runs, else a JavaScript loop). */
export function allFinite(values: Float32Array): boolean {
  const kernel = values.length >= SIMD_MIN_VALUES ? simdKernels() : undefined;
  return kernel ? kernel.allFinite(values) : allFiniteLoop(values);
}

/**
 * Copies `values` into `into` at `offset` when every one is finite and returns true; returns false, writing
 * nothing, when one is NaN or infinite. Through the kernels the input is read once for both (copied into their
 * memory, checked there, written out from there).
 */
export function copyIfFinite(values: Float32Array, into: Float32Array, offset: number): boolean {
  const kernel = values.length >= SIMD_MIN_VALUES ? simdKernels() : undefined;
  if (kernel) return kernel.allFinite(values, into, offset);
  if (!allFiniteLoop(values)) return false;
  into.set(values, offset);
  return true;
}

/**
 * The JavaScript check. x - x is 0 for finite x and NaN for NaN or +-Infinity, and a NaN survives any sum; four
 * independent sums let the CPU overlap the additions (one chained sum is bound by add latency: 2x slower).
 */
function allFiniteLoop(values: Float32Array): boolean {
  const n = values.length;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = values[i] as number;
    const x1 = values[i + 1] as number;
    const x2 = values[i + 2] as number;
    const x3 = values[i + 3] as number;
    a0 += x0 - x0;
    a1 += x1 - x1;
    a2 += x2 - x2;
    a3 += x3 - x3;
  }
  for (; i < n; i++) a0 += (values[i] as number) - (values[i] as number);
  return a0 + a1 + a2 + a3 === 0;
}
