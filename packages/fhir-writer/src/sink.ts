/** Where Bundles go: a FHIR server (FhirClient) or a folder (FileSink). */
import type { Bundle } from '@medplum/fhirtypes';

/** The outcome of one entry of a delivered Bundle. */
export interface DeliveredEntry {
  resourceType: string;
  /** HTTP status of the entry (`201` created, `200` already there) or `written` for a file. */
  status: string;
  /** `Type/id` (or `Type/id/_history/v`) on the server, where it said. */
  location?: string;
}

/** What a sink reports after a Bundle was accepted. */
export interface DeliveryResult {
  sink: 'fhir' | 'file';
  /** The server base URL or the file path. */
  target: string;
  entries: DeliveredEntry[];
  /** Entries the server created now (HTTP 201). */
  created: number;
  /** Entries the server already had (HTTP 200 from a conditional create): a resend. */
  existing: number;
}

/** A destination for transaction Bundles. Failures are TransientError or PermanentError. */
export interface BundleSink {
  deliver(bundle: Bundle): Promise<DeliveryResult>;
}
