export { DOWER_MATRIX, INDEPENDENT_LEADS, type IndependentLead } from './dower.js';
export { type PlotSvgOptions, plotEcgSvg } from './plot-svg.js';
export { gaussian, mulberry32, type Uniform, uniformIn } from './prng.js';
export {
  ST_GROUP_LEADS,
  type StLeadGroup,
  SYNTH_DEFAULTS,
  SYNTHETIC_PATIENT_SYSTEM,
  type SynthBeat,
  type SynthNoiseOptions,
  type SynthOptions,
  type SynthResult,
  synthesize,
  synthesizeEcg,
} from './synthesize.js';
