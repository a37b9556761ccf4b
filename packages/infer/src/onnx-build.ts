/**
 * Small builders for the ONNX graphs the project generates (the demo Net1D, the demo cohort's readout): attributes,
 * float32 graph inputs and outputs with batch-dynamic shapes, and the opset-17 model wrapper. onnx-proto is
 * CommonJS, hence the default import.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;
type GraphProto = InstanceType<typeof onnx.GraphProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

/** An INTS attribute. */
export const intsAttr = (name: string, ints: number[]): AttributeProto =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });

/** An INT attribute. */
export const intAttr = (name: string, i: number): AttributeProto =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });

/** A FLOAT attribute. */
export const floatAttr = (name: string, f: number): AttributeProto =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });

/** A float32 graph input or output; a string dimension is symbolic (the batch, `N`). */
export function float32ValueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

/** The bytes of model.onnx for a graph: IR 8, opset 17, producer ecgcad. */
export function encodeOnnxModel(graph: GraphProto, docString = ''): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })],
    producerName: 'ecgcad',
    producerVersion: '0.1.0',
    docString,
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
