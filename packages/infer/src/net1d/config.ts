/**
 * Net1D, the 1-D RegNet-style CNN of ECGFounder (Li et al., 2025; github.com/PKUDigitalHealth/ECGFounder, net1d.py):
 * a strided conv stem, stages of bottleneck blocks with grouped convolutions and squeeze-and-excitation, global
 * average pooling and a dense layer with one sigmoid per output.
 */

/** Architecture hyper-parameters of a Net1D network. */
export interface Net1dConfig {
  /** Short name (`demo`, `full`). */
  name: string;
  /** Input leads (tensor channels). */
  inChannels: number;
  /** Samples per lead; explicit 'same' pads are computed for this length. */
  samples: number;
  /** Output channels of the stem convolution. */
  baseFilters: number;
  /** Output channels per stage. */
  filters: number[];
  /** Blocks per stage (same length as `filters`). */
  blocks: number[];
  /** Kernel of the stem and of the grouped convolutions. */
  kernelSize: number;
  /** Stride of the stem and of the first block of every stage. */
  stride: number;
  /** Channels per group in the grouped convolutions (groups = channels / groupWidth). */
  groupWidth: number;
  /** Bottleneck width as a fraction of the block's output channels (ECGFounder: 1). */
  ratio: number;
  /** Squeeze-and-excitation reduction (ECGFounder: 2). */
  seReduction: number;
  /** Sigmoid outputs (one per vessel). */
  outputs: number;
}

/** Small configuration for the shipped demo model: well under 5 MB, fast on a CPU. */
export const DEMO_CONFIG: Net1dConfig = {
  name: 'demo',
  inChannels: 12,
  samples: 5000,
  baseFilters: 16,
  filters: [16, 32, 32, 64],
  blocks: [1, 1, 1, 1],
  kernelSize: 16,
  stride: 2,
  groupWidth: 8,
  ratio: 1,
  seReduction: 2,
  outputs: 4,
};

/** ECGFounder's configuration (about 30.6 M parameters, about 2.3 GFLOP per 12 x 5000 ECG), for benchmarks. */
export const FULL_CONFIG: Net1dConfig = {
  name: 'full',
  inChannels: 12,
  samples: 5000,
  baseFilters: 64,
  filters: [64, 160, 160, 400, 400, 1024, 1024],
  blocks: [2, 2, 2, 3, 3, 4, 4],
  kernelSize: 16,
  stride: 2,
  groupWidth: 16,
  ratio: 1,
  seReduction: 2,
  outputs: 4,
};

/** Named configurations for the CLI and the benchmark. */
export const NET1D_CONFIGS: Record<string, Net1dConfig> = { demo: DEMO_CONFIG, full: FULL_CONFIG };
