/**
 * A plain float64 forward pass of a Net1D network, read from the builder's in-memory description. It shares no code
 * with ONNX Runtime or the ONNX exporter, so agreement between the two is the check that the exported graph computes
 * the network the description (and the card) says.
 */
import type { ConvLayer, Net1dNetwork, PoolShortcut } from './network.js';

/** Output of one ECG through the reference. */
export interface ReferenceOutput {
  /** Global-average-pooled features before the dense head. */
  features: Float64Array;
  logits: Float64Array;
  probabilities: Float64Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** x * sigmoid(x), in place. */
function swishInPlace(x: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    x[i] = v * sigmoid(v);
  }
  return x;
}

/** Conv1d with zero padding [padLeft, padRight], stride and groups; x is [inChannels, inLength] row-major. */
export function conv1d(x: Float64Array, layer: ConvLayer): Float64Array {
  const { inChannels, outChannels, kernel, stride, groups, padLeft, inLength, outLength, weight, bias } = layer;
  const inPerGroup = inChannels / groups;
  const outPerGroup = outChannels / groups;
  const y = new Float64Array(outChannels * outLength);
  for (let oc = 0; oc < outChannels; oc++) {
    const group = Math.floor(oc / outPerGroup);
    const row = oc * outLength;
    y.fill(bias[oc] as number, row, row + outLength);
    for (let j = 0; j < inPerGroup; j++) {
      const ic = group * inPerGroup + j;
      const xRow = ic * inLength;
      for (let t = 0; t < kernel; t++) {
        const w = weight[(oc * inPerGroup + j) * kernel + t] as number;
        // Output positions o whose input index o*stride + t - padLeft lies inside [0, inLength).
        const offset = t - padLeft;
        const oStart = Math.max(0, Math.ceil(-offset / stride));
        const oEnd = Math.min(outLength - 1, Math.floor((inLength - 1 - offset) / stride));
        for (let o = oStart; o <= oEnd; o++) {
          y[row + o] = (y[row + o] as number) + w * (x[xRow + o * stride + offset] as number);
        }
      }
    }
  }
  return y;
}

/** Mean over time per channel: [C, L] -> [C]. */
function meanOverTime(x: Float64Array, channels: number, length: number): Float64Array {
  const out = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let i = 0; i < length; i++) s += x[c * length + i] as number;
    out[c] = s / length;
  }
  return out;
}

/** Zero-pad time, max-pool (kernel = stride), zero-pad channels. */
function poolShortcut(x: Float64Array, channels: number, length: number, sc: PoolShortcut): Float64Array {
  const padded = length + sc.padLeft + sc.padRight;
  const outLength = Math.floor((padded - sc.stride) / sc.stride) + 1;
  const outChannels = channels + sc.channelsBefore + sc.channelsAfter;
  const y = new Float64Array(outChannels * outLength);
  for (let c = 0; c < channels; c++) {
    const yRow = (c + sc.channelsBefore) * outLength;
    for (let o = 0; o < outLength; o++) {
      let m = Number.NEGATIVE_INFINITY;
      for (let t = 0; t < sc.stride; t++) {
        const i = o * sc.stride + t - sc.padLeft;
        const v = i >= 0 && i < length ? (x[c * length + i] as number) : 0;
        if (v > m) m = v;
      }
      y[yRow + o] = m;
    }
  }
  return y;
}

/**
 * Runs one ECG through the network in float64. `input` is [inChannels, samples] (NCL without the batch axis),
 * e.g. a slice of a prepared batch tensor.
 */
export function forwardReference(net: Net1dNetwork, input: ArrayLike<number>): ReferenceOutput {
  const { config } = net;
  if (input.length !== config.inChannels * config.samples) {
    throw new RangeError(`reference input has ${input.length} values, expected ${config.inChannels * config.samples}`);
  }
  let x = swishInPlace(conv1d(Float64Array.from(input), net.stem));
  let channels = net.stem.outChannels;
  let length = net.stem.outLength;
  for (const block of net.blocks) {
    let y = swishInPlace(conv1d(x, block.conv1));
    y = swishInPlace(conv1d(y, block.conv2));
    y = conv1d(y, block.conv3);
    const outChannels = block.conv3.outChannels;
    const outLength = block.conv3.outLength;
    const se = conv1d(swishInPlace(conv1d(meanOverTime(y, outChannels, outLength), block.seFc1)), block.seFc2);
    for (let c = 0; c < outChannels; c++) {
      const g = sigmoid(se[c] as number);
      for (let i = 0; i < outLength; i++) y[c * outLength + i] = (y[c * outLength + i] as number) * g;
    }
    const identity = block.shortcut ? poolShortcut(x, channels, length, block.shortcut) : x;
    if (identity.length !== y.length) throw new RangeError(`${block.name}: shortcut shape does not match the branch`);
    for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + (identity[i] as number);
    x = y;
    channels = outChannels;
    length = outLength;
  }
  const features = meanOverTime(x, channels, length);
  const { weight, bias, inFeatures } = net.head;
  const logits = new Float64Array(bias.length);
  for (let o = 0; o < bias.length; o++) {
    let s = bias[o] as number;
    for (let c = 0; c < inFeatures; c++) s += (weight[o * inFeatures + c] as number) * (features[c] as number);
    logits[o] = s;
  }
  return { features, logits, probabilities: logits.map(sigmoid) };
}

/**
 * Fits the dense head so that, over the example inputs, each output's logit has mean `logitMeans[o]` and standard
 * deviation `logitStd`: the demo's probabilities then spread across risk strata instead of sitting near one value.
 * Keeps each output's random weight direction; rescales it and sets the bias. Mutates `net.head`.
 */
export function calibrateHead(
  net: Net1dNetwork,
  examples: ArrayLike<number>[],
  logitMeans: number[],
  logitStd: number,
): void {
  const { weight, bias, inFeatures } = net.head;
  const raw = examples.map((input) => {
    const { features } = forwardReference(net, input);
    return Array.from({ length: bias.length }, (_, o) => {
      let s = 0;
      for (let c = 0; c < inFeatures; c++) s += (weight[o * inFeatures + c] as number) * (features[c] as number);
      return s;
    });
  });
  for (let o = 0; o < bias.length; o++) {
    const values = raw.map((r) => r[o] as number);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
    const scale = sd > 1e-12 ? logitStd / sd : 1;
    for (let c = 0; c < inFeatures; c++) weight[o * inFeatures + c] = (weight[o * inFeatures + c] as number) * scale;
    bias[o] = (logitMeans[o] ?? 0) - mean * scale;
  }
}
