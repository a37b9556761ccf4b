/** The package ships no types; this is the part the tests use (an independent FHIR R4 JSON-schema check). */
declare module '@asymmetrik/fhir-json-schema-validator' {
  export default class JSONSchemaValidator {
    constructor(schema?: object, options?: object);
    /** Returns the schema errors (Ajv's shape), empty when the resource is valid. */
    validate(resource: unknown): unknown[];
  }
}
