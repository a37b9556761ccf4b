/**
 * The 12-lead viewer: FHIR -> ViewerInput (pure), and the rendering of an ECG on paper beside its coronary result.
 * Importing this module also imports viewer.css, which esbuild writes beside the bundle (app.css for app.js).
 */
import './viewer.css';

export { caliperReading, formatReading } from './caliper.js';
export { decodeSampledData, MDC_LEAD_CODES, type ViewerFhirInput, viewerInputFromFhir } from './fhir-input.js';
export { CSS_PX_PER_MM, MM_PER_MV, MM_PER_S } from './layout.js';
export { renderEcgViewer, type ViewerHandle, type ViewerOptions } from './render.js';
export type * from './types.js';
export { STANDARD_LEADS, VESSELS } from './types.js';
