/**
 * A fast acceptance test for R4 resources that never changes a verdict: it answers "valid" only when @medplum/core's
 * validateResource would report no error, and "not proven" otherwise, in which case the caller runs the full
 * validation (which then finds the issues, with its own messages). It walks the plain JSON once against schemas
 * compiled per type from the same R4 StructureDefinitions Medplum loaded (getDataType), checks primitives with
 * Medplum's own regexes and number rules, and evaluates the same invariants: the common ones by a direct reading
 * that only ever answers "satisfied", everything else (and any "not satisfied") with Medplum's FHIRPath engine.
 *
 * Whatever it does not model exactly it refuses to vouch for: primitive extensions (`_x`), contained or nested
 * resources, nulls, empty strings/arrays/objects, unknown keys, slicing, fixed or pattern values, two values for one
 * choice element. Those go to the full validation, so the combination has Medplum's verdicts by construction; the
 * differential test (fast-validate.test.ts) checks that, and that every Bundle the writer builds is vouched for.
 */
import {
  evalFhirPathTyped,
  type FhirPathAtom,
  fhirTypeToJsType,
  type InternalSchemaElement,
  type InternalTypeSchema,
  parseFhirPath,
  type TypedValue,
  toTypedValue,
  tryGetDataType,
  validationRegexes,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { WrittenDataView } from './waveform.js';

/** Constraint keys Medplum's validator does not evaluate (validation.ts, skippedConstraintKeys). */
const SKIPPED_CONSTRAINTS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);
const UCUM = 'http://unitsofmeasure.org';
const MAX_STRING = 1024 * 1024;

type Obj = Record<string, unknown>;

/** A direct reading of one invariant: true only when it is certainly satisfied; anything else asks FHIRPath. */
type QuickCheck = (value: Obj, root: Obj) => boolean;
/** The same for an invariant evaluated on a primitive value (a choice element's primitive type). */
type PrimitiveQuickCheck = (value: unknown) => boolean;

interface CompiledConstraint {
  atom: FhirPathAtom;
  quick?: QuickCheck;
  quickPrimitive?: PrimitiveQuickCheck;
}

interface CompiledElement {
  name: string;
  min: number;
  max: number;
  isArray: boolean;
  /** Can never be vouched for when present (slicing, fixed/pattern, a resource-typed or multi-typed element). */
  unsupported: boolean;
  isChoice: boolean;
  constraints: CompiledConstraint[];
}

interface KeyTarget {
  element: CompiledElement;
  type: string;
  primitive: boolean;
}

interface CompiledType {
  keys: Map<string, KeyTarget>;
  required: CompiledElement[];
  choiceKeys: Map<CompiledElement, string[]>;
  constraints: CompiledConstraint[];
}

const compiled = new Map<string, CompiledType | null>();

function isPrimitive(code: string): boolean {
  return code in fhirTypeToJsType;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function compileConstraints(list: InternalSchemaElement['constraints']): CompiledConstraint[] {
  return (list ?? [])
    .filter((c) => c.severity === 'error' && !SKIPPED_CONSTRAINTS.has(c.key))
    .map((c) => {
      const id = `${c.key}\u0000${c.expression}`;
      return { atom: parseFhirPath(c.expression), quick: QUICK_CHECKS[id], quickPrimitive: PRIMITIVE_QUICK_CHECKS[id] };
    });
}

/** The schema of one type compiled for a walk over plain JSON (null when Medplum does not know the type). */
function compileType(type: string): CompiledType | null {
  const cached = compiled.get(type);
  if (cached !== undefined) return cached;
  const schema: InternalTypeSchema | undefined = tryGetDataType(type);
  if (!schema) {
    compiled.set(type, null);
    return null;
  }
  const result: CompiledType = {
    keys: new Map(),
    required: [],
    choiceKeys: new Map(),
    constraints: compileConstraints(schema.constraints),
  };
  const ambiguous = new Set<string>();
  const add = (key: string, target: KeyTarget): void => {
    if (result.keys.has(key)) ambiguous.add(key);
    result.keys.set(key, target);
  };
  for (const [name, el] of Object.entries(schema.elements)) {
    const isChoice = name.endsWith('[x]');
    const element: CompiledElement = {
      name,
      min: el.min,
      max: el.max ?? Number.POSITIVE_INFINITY,
      isArray: !!el.isArray,
      unsupported:
        !!el.slicing ||
        el.fixed !== undefined ||
        el.pattern !== undefined ||
        (!isChoice && el.type.length !== 1) ||
        el.type.some((t) => t.code === 'Resource' || !!tryGetDataType(t.code)?.kind?.includes('resource')),
      isChoice,
      constraints: compileConstraints(el.constraints),
    };
    if (element.min > 0) result.required.push(element);
    if (isChoice) {
      const prefix = name.slice(0, -3);
      const keys = el.type.map((t) => `${prefix}${capitalize(t.code)}`);
      result.choiceKeys.set(element, keys);
      for (const [i, t] of el.type.entries()) {
        add(keys[i] as string, { element, type: t.code, primitive: isPrimitive(t.code) });
      }
    } else {
      const code = el.type[0]?.code ?? 'undefined';
      add(name, { element, type: code, primitive: isPrimitive(code) });
    }
  }
  // A key two elements claim is read differently by Medplum's choice resolution: never vouch for it.
  for (const key of ambiguous) result.keys.delete(key);
  compiled.set(type, result);
  return result;
}

/** Per-walk state: the resource the invariants see as %resource / %rootResource. */
interface Walk {
  root: Obj;
  rootTyped: TypedValue;
  variables?: Record<string, TypedValue>;
  /** Strings whose characters are known to pass (the waveform data the builder wrote). */
  written?: WrittenDataView | undefined;
}

function variables(walk: Walk, context: TypedValue): Record<string, TypedValue> {
  walk.variables ??= {
    '%ucum': toTypedValue(UCUM),
    '%resource': toTypedValue(walk.root),
    '%rootResource': walk.rootTyped,
  };
  return { ...walk.variables, '%context': context };
}

function constraintsHold(constraints: CompiledConstraint[], value: Obj | unknown, type: string, walk: Walk): boolean {
  for (const c of constraints) {
    if (c.quick && typeof value === 'object' && c.quick(value as Obj, walk.root)) continue;
    if (c.quickPrimitive && typeof value !== 'object' && c.quickPrimitive(value)) continue;
    const typed: TypedValue = { type, value };
    try {
      const result = evalFhirPathTyped(c.atom, [typed], variables(walk, typed));
      if (!(result.length === 1 && result[0]?.value === true)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function primitiveOk(value: unknown, type: string, walk: Walk): boolean {
  const expected = fhirTypeToJsType[type as keyof typeof fhirTypeToJsType];
  if (typeof value !== expected) return false;
  if (expected === 'string') {
    const s = value as string;
    if (s.length === 0 || s.length > MAX_STRING) return false;
    // Waveform data the builder wrote: ASCII digits, '-', 'E' and single spaces, at least one token (what follows
    // holds for them; the regex alone would read 250 kB per Bundle).
    if (type === 'string' && walk.written?.has(s)) return true;
    if (!s.trim()) return false;
    const regex = validationRegexes[type];
    return !regex || regex.test(s);
  }
  if (expected === 'number') {
    const n = value as number;
    if (!Number.isFinite(n)) return false;
    if (type === 'integer' || type === 'positiveInt' || type === 'unsignedInt') {
      if (!Number.isInteger(n)) return false;
      if (type === 'positiveInt' && n <= 0) return false;
      if (type === 'unsignedInt' && n < 0) return false;
    }
  }
  return true;
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function itemOk(item: unknown, target: KeyTarget, walk: Walk): boolean {
  if (target.primitive) {
    if (!primitiveOk(item, target.type, walk)) return false;
  } else {
    if (!isPlainObject(item)) return false;
    const type = compileType(target.type);
    if (!type || !objectOk(item, type, walk)) return false;
  }
  return constraintsHold(target.element.constraints, item, target.type, walk);
}

function objectOk(obj: Obj, type: CompiledType, walk: Walk, isRoot = false): boolean {
  let defined = 0;
  let choicesSeen: Set<CompiledElement> | undefined;
  let undefinedChoices: CompiledElement[] | undefined;
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) return false;
    const value = obj[key];
    if (isRoot && key === 'resourceType') continue;
    const target = type.keys.get(key);
    if (!target) return false;
    const element = target.element;
    if (value === undefined) {
      if (element.isChoice) {
        undefinedChoices ??= [];
        undefinedChoices.push(element);
      }
      continue;
    }
    defined++;
    if (element.unsupported) return false;
    if (element.isChoice) {
      choicesSeen ??= new Set();
      if (choicesSeen.has(element)) return false;
      choicesSeen.add(element);
    }
    if (element.isArray) {
      if (!Array.isArray(value)) return false;
      const n = value.length;
      if (n === 0 || n < element.min || n > element.max) return false;
      for (let i = 0; i < n; i++) {
        const item = value[i];
        if (item === null || item === undefined) return false;
        if (!itemOk(item, target, walk)) return false;
      }
    } else {
      if (Array.isArray(value) || value === null || element.max < 1) return false;
      if (!itemOk(value, target, walk)) return false;
    }
  }
  if (defined === 0) return false;
  // An undefined choice key is only ignored by Medplum when a value of that element is present.
  if (undefinedChoices) for (const el of undefinedChoices) if (!choicesSeen?.has(el)) return false;
  for (const el of type.required) {
    if (el.isChoice) {
      if (!choicesSeen?.has(el)) return false;
    } else if (obj[el.name] === undefined) {
      return false;
    }
  }
  return true;
}

/**
 * True when @medplum/core's validateResource would find no error in this resource; false when it might (then run
 * the full validation). Needs the R4 StructureDefinitions loaded (loadR4Definitions). `written`: strings whose
 * characters are known to be digits, '-', 'E' and single spaces (the waveform data the builder wrote): their
 * character check is taken as met.
 */
export function fastResourceValid(resource: Resource, written?: WrittenDataView): boolean {
  const root = resource as unknown as Obj;
  if (!isPlainObject(root) || typeof root.resourceType !== 'string' || root.resourceType === '') return false;
  const type = compileType(root.resourceType);
  if (!type) return false;
  const walk: Walk = { root, rootTyped: { type: root.resourceType, value: root }, written };
  if (!objectOk(root, type, walk, true)) return false;
  return constraintsHold(type.constraints, root, root.resourceType, walk);
}

// --- Direct readings of the invariants every Bundle meets, each keyed by key and exact expression, so a changed
// definition falls back to FHIRPath. They run on values whose structure the walk has already accepted (no empty or
// null values), so "exists" is "the key has a value".

function has(obj: Obj | undefined, key: string): boolean {
  return obj !== undefined && obj[key] !== undefined;
}

function hasChoice(obj: Obj, type: string, element: string): boolean {
  const compiledType = compileType(type);
  if (!compiledType) return true; // unknown: never claim "empty"
  for (const [el, keys] of compiledType.choiceKeys) {
    if (el.name === element) return keys.some((k) => obj[k] !== undefined);
  }
  return true;
}

function entries(obj: Obj): Obj[] {
  return Array.isArray(obj.entry) ? (obj.entry as Obj[]) : [];
}

/**
 * Whether every entry of the Bundle has (`wanted`) or lacks `key`. A loop, not every(closure): a closure made per
 * Bundle is optimised again after every full collection.
 */
function everyEntryHas(bundle: Obj, key: string, wanted: boolean): boolean {
  for (const e of entries(bundle)) if (has(e, key) !== wanted) return false;
  return true;
}

/** The codings of a CodeableConcept value (none when it has no `coding` array). */
function codings(concept: unknown): Obj[] {
  return isPlainObject(concept) && Array.isArray(concept.coding) ? (concept.coding as Obj[]) : [];
}

/**
 * obs-7's other way to hold: no coding of a component's code can equal one of the resource's code. Equal Codings
 * have equal codes, so it holds when every coding on both sides has a code string and no component's code is one of
 * the resource's; anything else (a coding without a code, a shared code) is left to FHIRPath.
 */
function noCodeShared(o: Obj): boolean {
  const codes = new Set<string>();
  for (const c of codings(o.code)) {
    if (typeof c.code !== 'string') return false;
    codes.add(c.code);
  }
  for (const component of Array.isArray(o.component) ? (o.component as unknown[]) : []) {
    for (const c of codings(isPlainObject(component) ? component.code : undefined)) {
      if (typeof c.code !== 'string' || codes.has(c.code)) return false;
    }
  }
  return true;
}

const NO_CONTAINED: QuickCheck = (r) => !has(r, 'contained');

const QUICK_CHECKS: Record<string, QuickCheck> = {
  'ext-1\u0000extension.exists() != value.exists()': (e) =>
    has(e, 'extension') !== hasChoice(e, 'Extension', 'value[x]'),
  // Not "absent => satisfied": with no probability, `{} implies {}` is empty, which Medplum counts as not met.
  'ras-2\u0000probability is decimal implies (probability as decimal) <= 100': (p) =>
    typeof p.probabilityDecimal === 'number' && p.probabilityDecimal <= 100,
  'bdl-5\u0000resource.exists() or request.exists() or response.exists()': (e) =>
    has(e, 'resource') || has(e, 'request') || has(e, 'response'),
  "bdl-8\u0000fullUrl.exists() implies fullUrl.contains('/_history/').not()": (e) =>
    e.fullUrl === undefined || (typeof e.fullUrl === 'string' && !e.fullUrl.includes('/_history/')),
  'dom-2\u0000contained.contained.empty()': NO_CONTAINED,
  'dom-4\u0000contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()': NO_CONTAINED,
  'dom-5\u0000contained.meta.security.empty()': NO_CONTAINED,
  'obs-6\u0000dataAbsentReason.empty() or value.empty()': (o) =>
    !has(o, 'dataAbsentReason') || !hasChoice(o, 'Observation', 'value[x]'),
  'obs-7\u0000value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()': (o) =>
    !has(o, 'component') || !hasChoice(o, 'Observation', 'value[x]') || noCodeShared(o),
  'obs-3\u0000low.exists() or high.exists() or text.exists()': (r) => has(r, 'low') || has(r, 'high') || has(r, 'text'),
  "bdl-1\u0000total.empty() or (type = 'searchset') or (type = 'history')": (b) =>
    !has(b, 'total') || b.type === 'searchset' || b.type === 'history',
  "bdl-2\u0000entry.search.empty() or (type = 'searchset')": (b) =>
    b.type === 'searchset' || everyEntryHas(b, 'search', false),
  "bdl-3\u0000entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))":
    (b, root) => {
      const wanted = root.type === 'batch' || root.type === 'transaction' || root.type === 'history';
      return everyEntryHas(b, 'request', wanted);
    },
  "bdl-4\u0000entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))":
    (b, root) => {
      const wanted = root.type === 'batch-response' || root.type === 'transaction-response' || root.type === 'history';
      return everyEntryHas(b, 'response', wanted);
    },
  "bdl-7\u0000(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()":
    (b) => {
      if (b.type === 'history') return true;
      const seen = new Set<unknown>();
      for (const e of entries(b)) {
        if (e.fullUrl === undefined) continue;
        if (has(e, 'resource') || seen.has(e.fullUrl)) return false;
        seen.add(e.fullUrl);
      }
      return true;
    },
  "bdl-9\u0000type = 'document' implies (identifier.system.exists() and identifier.value.exists())": (b) =>
    typeof b.type === 'string' && b.type !== 'document',
  "bdl-10\u0000type = 'document' implies (timestamp.hasValue())": (b) =>
    typeof b.type === 'string' && b.type !== 'document',
  "bdl-11\u0000type = 'document' implies entry.first().resource.is(Composition)": (b) =>
    typeof b.type === 'string' && b.type !== 'document',
  "bdl-12\u0000type = 'message' implies entry.first().resource.is(MessageHeader)": (b) =>
    typeof b.type === 'string' && b.type !== 'message',
};

/**
 * Invariants read directly on a primitive value. ras-1 (a probability given as a Range must be in percent) sits on
 * probability[x]; on a decimal, `low` and `high` are empty, so it holds.
 */
const PRIMITIVE_QUICK_CHECKS: Record<string, PrimitiveQuickCheck> = {
  "ras-1\u0000(low.empty() or ((low.code = '%') and (low.system = %ucum))) and (high.empty() or ((high.code = '%') and (high.system = %ucum)))":
    (value) => typeof value === 'number',
};
