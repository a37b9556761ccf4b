export * from './cards.js';
export * from './client-auth.js';
export * from './data.js';
export * from './results.js';
export * from './routes.js';
export * from './services.js';
export * from './setup.js';
export * from './spec.js';
