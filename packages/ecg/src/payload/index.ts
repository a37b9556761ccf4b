export * from './codec.js';
export * from './handoff.js';
export * from './quantum.js';
export * from './queue-jobs.js';
export * from './source.js';
export * from './store.js';
