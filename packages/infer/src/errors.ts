import { EcgcadError } from '@ecgcad/ecg';

/**
 * A model folder that the engine refuses to load: a bad card field, a hash mismatch, or an ONNX graph whose
 * inputs and outputs disagree with the card. `field` names the card field (dotted path) or graph part at fault.
 * Permanent: no retry fixes a wrong model, an operator must replace it.
 */
export class InvalidModelError extends EcgcadError {
  /** Dotted path of the field at fault, e.g. `input.leads` or `thresholds.LAD.ruleIn`. */
  readonly field: string;
  /** One message per problem found (the first one is also in `message`). */
  readonly issues: string[];
  constructor(field: string, issues: string[] | string, options?: { cause?: unknown }) {
    const list = Array.isArray(issues) ? issues : [issues];
    super('INVALID_MODEL', `invalid model: ${list.join('; ')}`, options);
    this.field = field;
    this.issues = list;
  }
}
