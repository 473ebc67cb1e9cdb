/**
 * Scripted misbehaviour for the Theta simulator's API, so clients and the proxy can be
 * tested against what real gateways do: error statuses, HTML error pages, broken JSON,
 * slow answers and connections closed without an answer.
 *
 * A fault that sets `status`, `body` or `drop` answers in place of the API; one that sets
 * only `delayMs` lets the API answer, late.
 */

export interface ThetaFault {
  /** HTTP method to match, any case; any method when omitted. */
  method?: string;
  /** Regular expression source matched against the request path, e.g. `'^/ingestor/filter$'`. */
  path?: string;
  /** How many matching requests this fault affects; default 1. */
  times?: number;
  /** Status to answer with; 500 when only `body` is set. */
  status?: number;
  /** Raw body to send: JSON, HTML or deliberately broken text. */
  body?: string;
  /** Content type of `body`; by default JSON when the body parses as JSON, else plain text. */
  contentType?: string;
  /** Answer (or drop, or let the API answer) this many milliseconds late. */
  delayMs?: number;
  /** Destroy the connection without any answer. */
  drop?: boolean;
}

/** The longest delay a fault may ask for: enough for timeout tests, short enough not to wedge a run. */
export const maxFaultDelayMs = 120_000;

export class FaultValidationError extends Error {
  override name = 'FaultValidationError';
}

interface ArmedFault {
  fault: ThetaFault;
  pathPattern: RegExp | undefined;
  remaining: number;
}

/** The faults waiting to fire, first added first considered. */
export class ThetaFaultBook {
  private armed: ArmedFault[] = [];

  /** Arms one fault or an array of faults; returns how many were armed. */
  add(input: unknown): number {
    const faults = parseFaults(input);
    for (const fault of faults) {
      this.armed.push({
        fault,
        pathPattern: fault.path === undefined ? undefined : new RegExp(fault.path),
        remaining: fault.times ?? 1,
      });
    }
    return faults.length;
  }

  clear(): void {
    this.armed = [];
  }

  /** The faults still armed, with how many requests each will still affect. */
  list(): Array<ThetaFault & { remaining: number }> {
    return this.armed.map(({ fault, remaining }) => ({ ...fault, remaining }));
  }

  /** Finds the first fault matching this request and counts the request against it. */
  take(method: string, path: string): ThetaFault | undefined {
    const upperMethod = method.toUpperCase();
    const index = this.armed.findIndex(
      ({ fault, pathPattern }) =>
        (fault.method === undefined || fault.method.toUpperCase() === upperMethod) &&
        (pathPattern === undefined || pathPattern.test(path)),
    );
    if (index < 0) return undefined;
    const entry = this.armed[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.armed.splice(index, 1);
    return entry.fault;
  }
}

/** True when the fault produces the answer itself instead of letting the API answer. */
export function faultAnswers(fault: ThetaFault): boolean {
  return fault.drop === true || fault.status !== undefined || fault.body !== undefined;
}

/** The content type a fault's body is sent with. */
export function faultContentType(fault: ThetaFault): string {
  if (fault.contentType !== undefined) return fault.contentType;
  if (fault.body === undefined) return 'application/json';
  try {
    JSON.parse(fault.body);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

/** Accepts one fault or an array of faults; throws {@link FaultValidationError} naming the bad field. */
export function parseFaults(input: unknown): ThetaFault[] {
  const list: unknown[] = Array.isArray(input) ? input : [input];
  return list.map((item, index) => parseFault(item, Array.isArray(input) ? `faults[${index}]` : 'fault'));
}

const faultFields = new Set(['method', 'path', 'times', 'status', 'body', 'contentType', 'delayMs', 'drop']);

function parseFault(input: unknown, where: string): ThetaFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError(`${where} must be an object`);
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!faultFields.has(key)) {
      throw new FaultValidationError(`${where}.${key} is not a fault field (known: ${[...faultFields].join(', ')})`);
    }
  }
  const fault: ThetaFault = {};
  if (raw.method !== undefined) {
    if (typeof raw.method !== 'string' || !/^[A-Za-z]+$/.test(raw.method)) {
      throw new FaultValidationError(`${where}.method must be an HTTP method name`);
    }
    fault.method = raw.method;
  }
  if (raw.path !== undefined) {
    if (typeof raw.path !== 'string') throw new FaultValidationError(`${where}.path must be a regular expression source`);
    try {
      new RegExp(raw.path);
    } catch (error) {
      throw new FaultValidationError(`${where}.path is not a valid regular expression: ${(error as Error).message}`);
    }
    fault.path = raw.path;
  }
  if (raw.times !== undefined) {
    if (typeof raw.times !== 'number' || !Number.isSafeInteger(raw.times) || raw.times < 1) {
      throw new FaultValidationError(`${where}.times must be a positive integer`);
    }
    fault.times = raw.times;
  }
  if (raw.status !== undefined) {
    if (typeof raw.status !== 'number' || !Number.isInteger(raw.status) || raw.status < 200 || raw.status > 599) {
      throw new FaultValidationError(`${where}.status must be an integer from 200 to 599`);
    }
    fault.status = raw.status;
  }
  if (raw.body !== undefined) {
    if (typeof raw.body !== 'string') throw new FaultValidationError(`${where}.body must be a string (the raw body)`);
    fault.body = raw.body;
  }
  if (raw.contentType !== undefined) {
    if (typeof raw.contentType !== 'string' || !/^[\x21-\x7e][\x20-\x7e]*$/.test(raw.contentType)) {
      throw new FaultValidationError(`${where}.contentType must be a printable header value`);
    }
    fault.contentType = raw.contentType;
  }
  if (raw.delayMs !== undefined) {
    if (typeof raw.delayMs !== 'number' || !Number.isFinite(raw.delayMs) || raw.delayMs < 0 || raw.delayMs > maxFaultDelayMs) {
      throw new FaultValidationError(`${where}.delayMs must be a number of milliseconds from 0 to ${maxFaultDelayMs}`);
    }
    fault.delayMs = raw.delayMs;
  }
  if (raw.drop !== undefined) {
    if (typeof raw.drop !== 'boolean') throw new FaultValidationError(`${where}.drop must be true or false`);
    fault.drop = raw.drop;
  }
  return fault;
}
