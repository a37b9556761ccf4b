export {};
export * from './decode.js';
export * from './decode-aecg.js';
export * from './decode-common.js';
export * from './decode-dicom.js';
export * from './decode-muse.js';
export * from './decode-philips.js';
export * from './limits.js';
export * from './sniff.js';
