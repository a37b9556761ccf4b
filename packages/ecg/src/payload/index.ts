export * from './codec.js';
export * from './store.js';
