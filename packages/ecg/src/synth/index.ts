export * from './dower.js';
export * from './plot-svg.js';
export * from './prng.js';
export * from './synthesize.js';
