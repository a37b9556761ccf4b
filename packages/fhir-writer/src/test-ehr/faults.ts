/** Fault switches of the test EHR: outages, added latency and dropped connections, for delivery tests and demos. */

/** What the server does with the next FHIR request. */
export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'fail'; status: number; retryAfterS: number | undefined }
  | { kind: 'drop' };

/** Options of an injected failure. */
export interface FailOptions {
  /** HTTP status to answer with. Default 503. */
  status?: number;
  /** Retry-After (seconds) to send with it. Default none. */
  retryAfterS?: number;
}

/** Switches the tests flip; every switch applies to the FHIR endpoints, never to the token endpoint. */
export class FaultSwitches {
  /** Added latency before every FHIR request is handled. */
  latencyMs = 0;
  private failUntil = 0;
  private failCount = 0;
  private failOptions: Required<Pick<FailOptions, 'status'>> & FailOptions = { status: 503 };
  private dropCount = 0;

  /** Fail every FHIR request for the next `ms` milliseconds. */
  failFor(ms: number, options: FailOptions = {}): void {
    this.failUntil = Date.now() + ms;
    this.failOptions = { status: 503, ...options };
  }

  /** Fail the next `n` FHIR requests. */
  failNext(n: number, options: FailOptions = {}): void {
    this.failCount = n;
    this.failOptions = { status: 503, ...options };
  }

  /** Destroy the socket of the next `n` FHIR requests without answering. */
  dropNext(n: number): void {
    this.dropCount = n;
  }

  /** Turn every fault off. */
  clear(): void {
    this.latencyMs = 0;
    this.failUntil = 0;
    this.failCount = 0;
    this.dropCount = 0;
  }

  /** True while a time-based outage is on. */
  get outage(): boolean {
    return Date.now() < this.failUntil;
  }

  /** Decides (and consumes) the fault for one request. */
  next(): FaultDecision {
    if (this.dropCount > 0) {
      this.dropCount--;
      return { kind: 'drop' };
    }
    if (this.failCount > 0 || this.outage) {
      if (this.failCount > 0) this.failCount--;
      return { kind: 'fail', status: this.failOptions.status, retryAfterS: this.failOptions.retryAfterS };
    }
    return { kind: 'none' };
  }
}
