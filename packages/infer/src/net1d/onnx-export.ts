/**
 * Writes a Net1D network as an ONNX model (opset 17) with onnx-proto. Convolutions carry explicit pads, so the
 * graph computes exactly what the reference computes. Swish is Sigmoid + Mul; the SE excitation uses
 * GlobalAveragePool and 1x1 convolutions; the head is GlobalAveragePool -> Flatten -> Gemm -> Sigmoid.
 * With `float16`, weights and activations are float16 while the graph's input and output stay float32 (Cast nodes).
 */
import onnxProto from 'onnx-proto';
import { encodeOnnxModel, float32ValueInfo, floatAttr, intAttr, intsAttr } from '../onnx-build.js';
import { toFloat16Array } from './float16.js';
import type { ConvLayer, Net1dNetwork } from './network.js';

const { onnx } = onnxProto;
type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Options for exportNet1dOnnx(). */
export interface OnnxExportOptions {
  /** Graph input name (default `ecg`). */
  inputName?: string;
  /** Graph output name (default `prob`). */
  outputName?: string;
  /** Store weights and compute in float16, keeping float32 input and output. Default false. */
  float16?: boolean;
  /** Free-text doc string stored in the model. */
  docString?: string;
}

/** Serialises the network; returns the bytes of model.onnx. */
export function exportNet1dOnnx(net: Net1dNetwork, options: OnnxExportOptions = {}): Uint8Array {
  const inputName = options.inputName ?? 'ecg';
  const outputName = options.outputName ?? 'prob';
  const half = options.float16 ?? false;
  const dataType = half ? FLOAT16 : FLOAT;
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];

  const floatTensor = (name: string, dims: number[], values: Float32Array): void => {
    const bytes = half ? toFloat16Array(values) : values;
    initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType,
        rawData: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      }),
    );
  };
  const int64Tensor = (name: string, values: number[]): void => {
    const data = BigInt64Array.from(values.map(BigInt));
    initializers.push(
      onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) }),
    );
  };
  const node = (opType: string, inputs: string[], output: string, attribute: AttributeProto[] = []): string => {
    nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [output], name: output, attribute }));
    return output;
  };
  const swish = (x: string): string => node('Mul', [x, node('Sigmoid', [x], `${x}.sigmoid`)], `${x}.swish`);
  const conv = (x: string, layer: ConvLayer): string => {
    floatTensor(
      `${layer.name}.weight`,
      [layer.outChannels, layer.inChannels / layer.groups, layer.kernel],
      layer.weight,
    );
    floatTensor(`${layer.name}.bias`, [layer.outChannels], layer.bias);
    return node('Conv', [x, `${layer.name}.weight`, `${layer.name}.bias`], layer.name, [
      intsAttr('kernel_shape', [layer.kernel]),
      intsAttr('strides', [layer.stride]),
      intsAttr('pads', [layer.padLeft, layer.padRight]),
      intsAttr('dilations', [1]),
      intAttr('group', layer.groups),
    ]);
  };

  let x = half ? node('Cast', [inputName], 'input.f16', [intAttr('to', FLOAT16)]) : inputName;
  x = swish(conv(x, net.stem));
  for (const block of net.blocks) {
    let y = swish(conv(x, block.conv1));
    y = swish(conv(y, block.conv2));
    y = conv(y, block.conv3);
    const squeeze = node('GlobalAveragePool', [y], `${block.name}.se.pool`);
    const excite = conv(swish(conv(squeeze, block.seFc1)), block.seFc2);
    y = node('Mul', [y, node('Sigmoid', [excite], `${block.name}.se.gate`)], `${block.name}.se.out`);
    let identity = x;
    if (block.shortcut) {
      const sc = block.shortcut;
      // [N, C, L] pads: begins (N, C, L) then ends (N, C, L); zero fill as ECGFounder's F.pad before max-pooling.
      int64Tensor(`${block.name}.shortcut.pads`, [0, sc.channelsBefore, sc.padLeft, 0, sc.channelsAfter, sc.padRight]);
      const padded = node('Pad', [x, `${block.name}.shortcut.pads`], `${block.name}.shortcut.pad`);
      // Max-pooling with kernel = stride, written as the element-wise Max of `stride` strided slices. A MaxPool node
      // here would be unsafe: ONNX Runtime's PadFusion folds a zero Pad into a following MaxPool's own pads, which pad
      // with -inf, so a window holding only the zero pad (odd lengths) would change value.
      const slices: string[] = [];
      const outLength = block.conv3.outLength;
      for (let t = 0; t < sc.stride; t++) {
        const prefix = `${block.name}.shortcut.slice${t}`;
        int64Tensor(`${prefix}.starts`, [t]);
        int64Tensor(`${prefix}.ends`, [t + (outLength - 1) * sc.stride + 1]);
        int64Tensor(`${prefix}.axes`, [2]);
        int64Tensor(`${prefix}.steps`, [sc.stride]);
        slices.push(
          node('Slice', [padded, `${prefix}.starts`, `${prefix}.ends`, `${prefix}.axes`, `${prefix}.steps`], prefix),
        );
      }
      identity = slices.length === 1 ? (slices[0] as string) : node('Max', slices, `${block.name}.shortcut`);
    }
    x = node('Add', [y, identity], `${block.name}.out`);
  }
  const pooled = node('GlobalAveragePool', [x], 'head.pool');
  const flat = node('Flatten', [pooled], 'head.flat', [intAttr('axis', 1)]);
  floatTensor('head.weight', [net.head.bias.length, net.head.inFeatures], net.head.weight);
  floatTensor('head.bias', [net.head.bias.length], net.head.bias);
  const logits = node('Gemm', [flat, 'head.weight', 'head.bias'], 'head.logits', [
    intAttr('transB', 1),
    floatAttr('alpha', 1),
    floatAttr('beta', 1),
  ]);
  if (half) {
    node('Cast', [node('Sigmoid', [logits], 'prob.f16')], outputName, [intAttr('to', FLOAT)]);
  } else {
    node('Sigmoid', [logits], outputName);
  }

  const { inChannels, samples, outputs } = net.config;
  const graph = onnx.GraphProto.create({
    name: `net1d-${net.config.name}`,
    node: nodes,
    initializer: initializers,
    input: [float32ValueInfo(inputName, ['N', inChannels, samples])],
    output: [float32ValueInfo(outputName, ['N', outputs])],
  });
  return encodeOnnxModel(graph, options.docString);
}
