/**
 * The in-memory description of a Net1D network with concrete weights: what the ONNX exporter writes and what the
 * float64 reference forward pass reads. Batch norm is already folded into the convolutions (inference graph).
 */
import type { Net1dConfig } from './config.js';
import { SeededRandom } from './rng.js';

/** A 1-D convolution with explicit pads (ONNX Conv semantics: zero padding, pads [left, right]). */
export interface ConvLayer {
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  groups: number;
  padLeft: number;
  padRight: number;
  inLength: number;
  outLength: number;
  /** [outChannels, inChannels / groups, kernel], row-major. */
  weight: Float32Array;
  /** [outChannels]. */
  bias: Float32Array;
}

/**
 * The identity path of a block whose shape changes, as in ECGFounder: zero-pad the length by stride - 1
 * (padLeft/padRight), max-pool with kernel = stride, then zero-pad channels (channelsBefore/After). Parameter-free.
 */
export interface PoolShortcut {
  stride: number;
  padLeft: number;
  padRight: number;
  channelsBefore: number;
  channelsAfter: number;
}

/** One bottleneck block: conv1 (1x1) -> Swish -> conv2 (grouped, kernel k) -> Swish -> conv3 (1x1) -> SE -> + identity. */
export interface Net1dBlock {
  name: string;
  conv1: ConvLayer;
  conv2: ConvLayer;
  conv3: ConvLayer;
  /** Squeeze-and-excitation: mean over time -> fc1 -> Swish -> fc2 -> sigmoid -> scale channels (1x1 convs on length 1). */
  seFc1: ConvLayer;
  seFc2: ConvLayer;
  /** undefined for an identity shortcut. */
  shortcut: PoolShortcut | undefined;
}

/** A Net1D network with weights. */
export interface Net1dNetwork {
  config: Net1dConfig;
  seed: number;
  /** Stem conv (BN folded) -> Swish. */
  stem: ConvLayer;
  blocks: Net1dBlock[];
  /** Dense head after global average pooling: weight [outputs, channels], bias [outputs]; sigmoid after. */
  head: { weight: Float32Array; bias: Float32Array; inFeatures: number };
}

/** Options for buildNet1d(). */
export interface BuildNet1dOptions {
  /** Seed of every weight. Default 1. */
  seed?: number;
  /**
   * Centre of each output's logit distribution over typical inputs, per output (default: logit(0.25) for all),
   * and its spread. See calibrateHead() for fitting them on example inputs.
   */
  headLogitMean?: number[];
}

/** Gain that keeps the second moment of Swish(x) near that of x for x ~ N(0, 1) (1 / E[swish(x)^2] ~ 1/0.355). */
const SWISH_GAIN = Math.sqrt(1 / 0.355);
/** Scales each block's residual branch so the residual stream grows slowly over many blocks. */
const BRANCH_GAIN = 0.5;

/** 'same' padding as ECGFounder's MyConv1dPadSame: out = ceil(L / s), total pad p = max(0, (out - 1) s + k - L). */
export function samePads(length: number, kernel: number, stride: number): [left: number, right: number, out: number] {
  const out = Math.ceil(length / stride);
  const p = Math.max(0, (out - 1) * stride + kernel - length);
  const left = Math.floor(p / 2);
  return [left, p - left, out];
}

/**
 * Builds a Net1D network with deterministic He-initialised weights and batch-norm statistics folded into each conv
 * (w' = w * g / sqrt(v + eps); b' = (b - m) * g / sqrt(v + eps) + beta). Same config and seed, same weights.
 */
export function buildNet1d(config: Net1dConfig, options: BuildNet1dOptions = {}): Net1dNetwork {
  const seed = options.seed ?? 1;
  const rng = new SeededRandom(seed);
  if (config.filters.length !== config.blocks.length) throw new RangeError('filters and blocks differ in length');

  const conv = (
    name: string,
    inChannels: number,
    outChannels: number,
    kernel: number,
    stride: number,
    groups: number,
    inLength: number,
    gain: number,
    foldBatchNorm: boolean,
  ): ConvLayer => {
    const [padLeft, padRight, outLength] =
      kernel === 1 && stride === 1 ? [0, 0, inLength] : samePads(inLength, kernel, stride);
    const fanIn = (inChannels / groups) * kernel;
    const weight = rng.fillNormal(new Float32Array(outChannels * fanIn), gain / Math.sqrt(fanIn));
    const bias = new Float32Array(outChannels);
    for (let o = 0; o < outChannels; o++) bias[o] = rng.normal() * 0.02;
    if (foldBatchNorm) {
      for (let o = 0; o < outChannels; o++) {
        // Running statistics and affine parameters of a trained-looking batch norm.
        const gamma = 1 + 0.1 * rng.normal();
        const beta = 0.05 * rng.normal();
        const mean = 0.05 * rng.normal();
        const variance = 1 + 0.2 * Math.abs(rng.normal());
        const scale = gamma / Math.sqrt(variance + 1e-5);
        for (let j = 0; j < fanIn; j++) weight[o * fanIn + j] = (weight[o * fanIn + j] as number) * scale;
        bias[o] = ((bias[o] as number) - mean) * scale + beta;
      }
    }
    return {
      name,
      inChannels,
      outChannels,
      kernel,
      stride,
      groups,
      padLeft,
      padRight,
      inLength,
      outLength,
      weight,
      bias,
    };
  };

  const { kernelSize, stride, groupWidth } = config;
  const stem = conv('stem', config.inChannels, config.baseFilters, kernelSize, stride, 1, config.samples, 1, true);
  let channels = config.baseFilters;
  let length = stem.outLength;
  const blocks: Net1dBlock[] = [];
  config.filters.forEach((outChannels, stage) => {
    const count = config.blocks[stage] as number;
    for (let b = 0; b < count; b++) {
      const name = `s${stage}b${b}`;
      const blockStride = b === 0 ? stride : 1;
      const middle = Math.round(outChannels * config.ratio);
      const groups = Math.max(1, Math.floor(middle / groupWidth));
      const conv1 = conv(`${name}.conv1`, channels, middle, 1, 1, 1, length, 1, true);
      const conv2 = conv(`${name}.conv2`, middle, middle, kernelSize, blockStride, groups, length, SWISH_GAIN, true);
      const conv3 = conv(
        `${name}.conv3`,
        middle,
        outChannels,
        1,
        1,
        1,
        conv2.outLength,
        SWISH_GAIN * BRANCH_GAIN,
        true,
      );
      const seHidden = Math.max(1, Math.floor(outChannels / config.seReduction));
      const seFc1 = conv(`${name}.se1`, outChannels, seHidden, 1, 1, 1, 1, 1, false);
      const seFc2 = conv(`${name}.se2`, seHidden, outChannels, 1, 1, 1, 1, SWISH_GAIN, false);
      let shortcut: PoolShortcut | undefined;
      if (blockStride !== 1 || channels !== outChannels) {
        const p = blockStride - 1;
        const extra = outChannels - channels;
        if (extra < 0) throw new RangeError(`${name}: channels may not shrink (${channels} -> ${outChannels})`);
        shortcut = {
          stride: blockStride,
          padLeft: Math.floor(p / 2),
          padRight: p - Math.floor(p / 2),
          channelsBefore: Math.floor(extra / 2),
          channelsAfter: extra - Math.floor(extra / 2),
        };
      }
      blocks.push({ name, conv1, conv2, conv3, seFc1, seFc2, shortcut });
      channels = outChannels;
      length = conv2.outLength;
    }
  });

  const weight = rng.fillNormal(new Float32Array(config.outputs * channels), 1 / Math.sqrt(channels));
  const bias = new Float32Array(config.outputs);
  const means = options.headLogitMean ?? [];
  for (let o = 0; o < config.outputs; o++) bias[o] = means[o] ?? Math.log(0.25 / 0.75);
  return { config, seed, stem, blocks, head: { weight, bias, inFeatures: channels } };
}

/** Every conv of a network in execution order (stem, then per block conv1, conv2, conv3, se1, se2). */
export function convLayers(net: Net1dNetwork): ConvLayer[] {
  return [net.stem, ...net.blocks.flatMap((b) => [b.conv1, b.conv2, b.conv3, b.seFc1, b.seFc2])];
}

/** Parameter count (weights and biases). */
export function countParameters(net: Net1dNetwork): number {
  let n = net.head.weight.length + net.head.bias.length;
  for (const layer of convLayers(net)) n += layer.weight.length + layer.bias.length;
  return n;
}

/** Floating-point operations for one ECG (2 per multiply-add; convolutions and dense layers). */
export function countFlops(net: Net1dNetwork): number {
  let macs = net.head.weight.length;
  for (const layer of convLayers(net)) {
    macs += layer.outChannels * (layer.inChannels / layer.groups) * layer.kernel * layer.outLength;
  }
  return 2 * macs;
}
