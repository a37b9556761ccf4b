/**
 * Reads an ONNX model's signature (graph inputs and outputs: names, element types, shapes) straight from the
 * protobuf, so a model folder can be checked against its card before any session is created.
 */
import onnxProto from 'onnx-proto';
import { InvalidModelError } from './errors.js';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType names for the element types we report. */
const ELEM_TYPE_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

/** One dimension: a fixed size, or a symbolic / unknown (dynamic) one. */
export type Dim = number | 'dynamic';

/** A graph input or output. */
export interface TensorSignature {
  name: string;
  /** `float32`, `float16`, ... or `type<N>` for others; `non-tensor` for sequences and maps. */
  elemType: string;
  /** undefined when the graph does not state a shape. */
  shape: Dim[] | undefined;
}

/** The feedable inputs (initializers excluded) and the outputs of a model's main graph. */
export interface GraphSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** Opset version of the default ONNX domain. */
  opset: number | undefined;
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}

function describe(info: InstanceType<typeof onnx.ValueInfoProto>): TensorSignature {
  const tensorType = info.type?.tensorType;
  if (!tensorType) return { name: info.name, elemType: 'non-tensor', shape: undefined };
  const elem = tensorType.elemType ?? 0;
  const elemType = ELEM_TYPE_NAMES[elem] ?? `type${elem}`;
  const dims = tensorType.shape?.dim;
  const shape = dims
    ? dims.map((d): Dim => {
        if (d.dimParam) return 'dynamic';
        const n = toNumber(d.dimValue ?? 0);
        return n > 0 ? n : 'dynamic';
      })
    : undefined;
  return { name: info.name, elemType, shape };
}

/**
 * Decodes the ONNX protobuf and returns its signature.
 * Throws InvalidModelError (field `model.onnx`) when the bytes are not an ONNX model.
 */
export function readGraphSignature(bytes: Uint8Array): GraphSignature {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new InvalidModelError('model.onnx', 'model.onnx is not a readable ONNX protobuf', { cause });
  }
  const graph = model.graph;
  if (!graph) throw new InvalidModelError('model.onnx', 'model.onnx has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    inputs: (graph.input ?? [])
      .filter((v) => !initializers.has(v.name))
      .map((v) => describe(v as InstanceType<typeof onnx.ValueInfoProto>)),
    outputs: (graph.output ?? []).map((v) => describe(v as InstanceType<typeof onnx.ValueInfoProto>)),
    opset: defaultOpset ? toNumber(defaultOpset.version) : undefined,
  };
}

/** Formats a shape for messages: `[dynamic, 12, 5000]`. */
export function formatShape(shape: Dim[] | undefined): string {
  return shape ? `[${shape.join(', ')}]` : 'unknown';
}
