/** Signal helpers of the signal-processing tests: a tone, and a least-squares fit of a sine at a known frequency. */

/** Samples of a*sin(2 pi f t + phase) at fs. */
export function tone(f: number, fs: number, n: number, amplitude = 1, phase = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * f * i) / fs + phase);
  return x;
}

/** Least-squares fit of a sine at known f over y[a .. b): amplitude and residual RMS. */
export function fitSine(
  y: Float32Array,
  fs: number,
  f: number,
  a: number,
  b: number,
): { amplitude: number; residual: number } {
  let ss = 0;
  let cc = 0;
  let sc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = a; i < b; i++) {
    const s = Math.sin((2 * Math.PI * f * i) / fs);
    const c = Math.cos((2 * Math.PI * f * i) / fs);
    const v = y[i] as number;
    ss += s * s;
    cc += c * c;
    sc += s * c;
    ys += v * s;
    yc += v * c;
  }
  const det = ss * cc - sc * sc;
  const ks = (ys * cc - yc * sc) / det;
  const kc = (yc * ss - ys * sc) / det;
  let r = 0;
  for (let i = a; i < b; i++) {
    const model = ks * Math.sin((2 * Math.PI * f * i) / fs) + kc * Math.cos((2 * Math.PI * f * i) / fs);
    r += ((y[i] as number) - model) ** 2;
  }
  return { amplitude: Math.hypot(ks, kc), residual: Math.sqrt(r / (b - a)) };
}
