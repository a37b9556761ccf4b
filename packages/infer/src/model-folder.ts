/**
 * A model is a folder: `model.onnx` + `model.json` (the card). loadModelFolder() refuses, at load time, any folder
 * whose card is malformed, whose hash does not match, or whose graph disagrees with the card.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelRef } from '@ecgcad/ecg';
import { type ModelCard, modelRefOf, parseModelCard } from './card.js';
import { InvalidModelError } from './errors.js';
import { type Dim, formatShape, type GraphSignature, readGraphSignature, type TensorSignature } from './onnx-graph.js';

/** File names inside a model folder. */
export const MODEL_FILE = 'model.onnx';
export const CARD_FILE = 'model.json';

/** A checked model folder, ready for createSession(). */
export interface LoadedModel {
  /** Absolute or caller-relative folder path. */
  dir: string;
  card: ModelCard;
  /** The ONNX bytes, hash-checked. */
  bytes: Uint8Array;
  graph: GraphSignature;
  /** The batch size the graph fixes, or undefined when the batch dimension is dynamic. */
  fixedBatchSize: number | undefined;
  /** Values per ECG in the input tensor (leads x samples). */
  inputSize: number;
  /** What every Prediction from this model names. */
  ref: ModelRef;
}

/** sha256 of bytes, lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reads and checks a model folder. Throws InvalidModelError naming the field at fault:
 * card fields (`input.samples`, `thresholds.LAD.ruleIn`), `sha256`, or graph parts (`input.name`, `outputs.vessels`).
 */
export async function loadModelFolder(dir: string): Promise<LoadedModel> {
  let cardText: string;
  let bytes: Uint8Array;
  try {
    cardText = await readFile(join(dir, CARD_FILE), 'utf8');
  } catch (cause) {
    throw new InvalidModelError(CARD_FILE, `cannot read ${CARD_FILE} in the model folder`, { cause });
  }
  try {
    bytes = new Uint8Array(await readFile(join(dir, MODEL_FILE)));
  } catch (cause) {
    throw new InvalidModelError(MODEL_FILE, `cannot read ${MODEL_FILE} in the model folder`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(cardText);
  } catch (cause) {
    throw new InvalidModelError(CARD_FILE, `${CARD_FILE} is not valid JSON`, { cause });
  }
  return checkModel(dir, parseModelCard(json), bytes);
}

/** Checks ONNX bytes against an already parsed card (hash, then graph signature). */
export function checkModel(dir: string, card: ModelCard, bytes: Uint8Array): LoadedModel {
  const actual = sha256Hex(bytes);
  if (actual !== card.sha256) {
    throw new InvalidModelError(
      'sha256',
      `sha256: model.onnx hashes to ${actual}, the card says ${card.sha256} (wrong file or stale card)`,
    );
  }
  const graph = readGraphSignature(bytes);
  const fixedBatchSize = checkSignature(card, graph);
  return {
    dir,
    card,
    bytes,
    graph,
    fixedBatchSize,
    inputSize: card.input.leads.length * card.input.samples,
    ref: modelRefOf(card),
  };
}

/** Checks graph inputs and outputs against the card; returns the fixed batch size, if any. */
function checkSignature(card: ModelCard, graph: GraphSignature): number | undefined {
  const { input, outputs } = card;
  if (graph.inputs.length !== 1) {
    throw new InvalidModelError(
      'input.name',
      `input.name: the graph must have exactly one input, it has ${graph.inputs.length} (${graph.inputs.map((i) => i.name).join(', ')})`,
    );
  }
  const graphInput = graph.inputs[0] as TensorSignature;
  if (graphInput.name !== input.name) {
    throw new InvalidModelError(
      'input.name',
      `input.name: the card says "${input.name}", the graph input is "${graphInput.name}"`,
    );
  }
  expectFloat32(graphInput, 'input.name');
  const perEcg: Dim[] =
    input.layout === 'NCL' ? [input.leads.length, input.samples] : [input.samples, input.leads.length];
  const perEcgFields = input.layout === 'NCL' ? ['input.leads', 'input.samples'] : ['input.samples', 'input.leads'];
  const inBatch = checkShape(graphInput, perEcg, perEcgFields, `input (${input.layout})`);

  const graphOutput = graph.outputs.find((o) => o.name === outputs.name);
  if (!graphOutput) {
    throw new InvalidModelError(
      'outputs.name',
      `outputs.name: the card says "${outputs.name}", the graph outputs are ${graph.outputs.map((o) => `"${o.name}"`).join(', ')}`,
    );
  }
  expectFloat32(graphOutput, 'outputs.name');
  const outBatch = checkShape(graphOutput, [outputs.vessels.length], ['outputs.vessels'], 'output', true);
  if (inBatch !== undefined && outBatch !== undefined && inBatch !== outBatch) {
    throw new InvalidModelError(
      'outputs.name',
      `outputs.name: input batch ${inBatch} and output batch ${outBatch} differ`,
    );
  }
  return inBatch;
}

function expectFloat32(sig: TensorSignature, field: string): void {
  if (sig.elemType !== 'float32') {
    throw new InvalidModelError(
      field,
      `${field}: "${sig.name}" has element type ${sig.elemType}, expected float32 (export float16 models with float32 inputs and outputs)`,
    );
  }
}

/**
 * Checks [batch, ...perItem]. Per-item dims must equal the card's; a dynamic per-item dim is accepted for inputs
 * (the runtime checks it) but not for the vessel count, which must be fixed. Returns the fixed batch size, if any.
 */
function checkShape(
  sig: TensorSignature,
  perItem: Dim[],
  fields: string[],
  what: string,
  requireFixed = false,
): number | undefined {
  const expected = formatShape(['dynamic', ...perItem]).replace('dynamic', 'N');
  if (!sig.shape) return undefined;
  if (sig.shape.length !== perItem.length + 1) {
    throw new InvalidModelError(
      fields[0] as string,
      `${fields[0]}: graph ${what} "${sig.name}" has shape ${formatShape(sig.shape)}, the card implies ${expected}`,
    );
  }
  for (let i = 0; i < perItem.length; i++) {
    const got = sig.shape[i + 1];
    if (got === perItem[i] || (got === 'dynamic' && !requireFixed)) continue;
    const field = fields[i] as string;
    throw new InvalidModelError(
      field,
      `${field}: graph ${what} "${sig.name}" has shape ${formatShape(sig.shape)}, the card implies ${expected}`,
    );
  }
  const batch = sig.shape[0];
  return typeof batch === 'number' ? batch : undefined;
}
