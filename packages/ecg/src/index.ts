export * from './contracts.js';
export * from './ecg.js';
export * from './errors.js';
export * from './leads.js';
export * from './model-input.js';
export * from './synth/index.js';
export * from './units.js';
