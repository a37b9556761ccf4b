/**
 * A tiny ONNX graph that reads a linear function of each lead's mean: input [N, leads, samples] (NCL) ->
 * ReduceMean over time -> [N, leads] -> Gemm with weights [leads, outputs] and a bias -> Sigmoid -> [N, outputs].
 * The demo cohort's model (`ecgcad cohort`) is one: its weights read an ST shift planted in synthetic ECGs.
 */
import onnxProto from 'onnx-proto';
import { encodeOnnxModel, float32ValueInfo, intAttr, intsAttr } from '../onnx-build.js';

const { onnx } = onnxProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** What the graph computes: sigmoid(mean_t(x[lead]) . weights[:, k] + bias[k]) per output k. */
export interface LeadMeanReadout {
  /** Leads in the input (C). */
  leads: number;
  /** Samples per lead (L). */
  samples: number;
  /** Row-major [leads, outputs]. */
  weights: Float32Array;
  /** One per output. */
  bias: Float32Array;
  inputName?: string;
  outputName?: string;
  docString?: string;
}

/** Serialises the readout as an ONNX model (opset 17); returns the bytes of model.onnx. */
export function exportLeadMeanReadoutOnnx(readout: LeadMeanReadout): Uint8Array {
  const { leads, samples, weights, bias } = readout;
  const outputs = bias.length;
  if (weights.length !== leads * outputs) {
    throw new RangeError(`weights must hold leads x outputs = ${leads * outputs} values, has ${weights.length}`);
  }
  const inputName = readout.inputName ?? 'ecg';
  const outputName = readout.outputName ?? 'prob';
  const tensor = (name: string, dims: number[], values: Float32Array) =>
    onnx.TensorProto.create({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
  const nodes = [
    onnx.NodeProto.create({
      opType: 'ReduceMean',
      input: [inputName],
      output: ['lead.mean'],
      name: 'lead.mean',
      attribute: [intsAttr('axes', [2]), intAttr('keepdims', 0)],
    }),
    onnx.NodeProto.create({
      opType: 'Gemm',
      input: ['lead.mean', 'readout.weight', 'readout.bias'],
      output: ['readout.logits'],
      name: 'readout.logits',
    }),
    onnx.NodeProto.create({ opType: 'Sigmoid', input: ['readout.logits'], output: [outputName], name: outputName }),
  ];
  const graph = onnx.GraphProto.create({
    name: 'lead-mean-readout',
    node: nodes,
    initializer: [tensor('readout.weight', [leads, outputs], weights), tensor('readout.bias', [outputs], bias)],
    input: [float32ValueInfo(inputName, ['N', leads, samples])],
    output: [float32ValueInfo(outputName, ['N', outputs])],
  });
  return encodeOnnxModel(graph, readout.docString);
}
