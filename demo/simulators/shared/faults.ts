import { validateHeaderName, validateHeaderValue } from 'node:http';

/**
 * A scripted misbehaviour for a simulator's API requests, so clients can be tested against the
 * failures real gateways produce: error statuses, HTML error pages, broken JSON, slow answers
 * and connections that close without an answer.
 *
 * A fault that sets `status`, `body` or `drop` answers in place of the API. A fault that sets
 * only `delayMs` and/or `headers` lets the API answer, late and/or with the extra headers.
 */
export interface SimulatorFault {
  /** HTTP method to match, any case; any method when omitted. Preflight OPTIONS requests are never faulted. */
  method?: string;
  /** Regular expression source matched against the API path (after the simulator's path prefix, if any), e.g. `'^/stream/[^/]+$'`. */
  path?: string;
  /** How many matching requests this fault affects; default 1. */
  times?: number;
  /** Status to answer with; 500 when only `body` is set. */
  status?: number;
  /** Raw body to send: JSON, HTML or deliberately broken text. */
  body?: string;
  /** Content type of `body`; when omitted the simulator picks one from the body. */
  contentType?: string;
  /** Headers added to the answer, whether the fault or the API gives it; only where the simulator's limits allow them. */
  headers?: Record<string, string>;
  /** Answer (or drop, or let the API answer) this many milliseconds late. */
  delayMs?: number;
  /** Destroy the connection without any answer. */
  drop?: boolean;
}

/** What one simulator lets its faults do. */
export interface FaultLimits {
  /** The longest delay a fault may ask for: long enough for timeout tests, short enough not to wedge a run. */
  maxDelayMs: number;
  /** Whether faults may carry `headers`; a simulator that cannot add them refuses the field as unknown. */
  allowHeaders: boolean;
}

export class FaultValidationError extends Error {
  override name = 'FaultValidationError';
}

interface ArmedFault {
  fault: SimulatorFault;
  pathPattern: RegExp | undefined;
  remaining: number;
}

/** The faults waiting to fire, first added first considered. */
export class FaultBook {
  private armed: ArmedFault[] = [];

  constructor(private readonly limits: FaultLimits) {}

  /**
   * Arms one fault or an array of faults; returns how many were armed. Throws
   * {@link FaultValidationError} naming the bad field, and then arms none of them.
   */
  add(input: unknown): number {
    const faults = parseFaults(input, this.limits);
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
  list(): Array<SimulatorFault & { remaining: number }> {
    return this.armed.map(({ fault, remaining }) => ({ ...fault, remaining }));
  }

  /** Finds the first fault matching this request and counts the request against it. */
  take(method: string, path: string): SimulatorFault | undefined {
    const upperMethod = method.toUpperCase();
    const index = this.armed.findIndex(
      ({ fault, pathPattern }) =>
        (fault.method === undefined || fault.method.toUpperCase() === upperMethod) && (pathPattern === undefined || pathPattern.test(path)),
    );
    if (index < 0) return undefined;
    const entry = this.armed[index];
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.armed.splice(index, 1);
    return entry.fault;
  }
}

/** True when the fault produces the answer itself instead of letting the API answer. */
export function faultAnswers(fault: SimulatorFault): boolean {
  return fault.drop === true || fault.status !== undefined || fault.body !== undefined;
}

const allFaultFields = ['method', 'path', 'times', 'status', 'body', 'contentType', 'headers', 'delayMs', 'drop'] as const;

function parseFaults(input: unknown, limits: FaultLimits): SimulatorFault[] {
  const knownFields = new Set<string>(allFaultFields.filter((field) => field !== 'headers' || limits.allowHeaders));
  const list: unknown[] = Array.isArray(input) ? input : [input];
  return list.map((item, index) => parseFault(item, Array.isArray(input) ? `faults[${index}]` : 'fault', knownFields, limits));
}

function parseFault(input: unknown, where: string, knownFields: ReadonlySet<string>, limits: FaultLimits): SimulatorFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError(`${where} must be an object`);
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!knownFields.has(key)) {
      throw new FaultValidationError(`${where}.${key} is not a fault field (known: ${[...knownFields].join(', ')})`);
    }
  }
  const fault: SimulatorFault = {};
  if (raw.method !== undefined) {
    if (typeof raw.method !== 'string' || !/^[A-Za-z]+$/.test(raw.method)) {
      throw new FaultValidationError(`${where}.method must be an HTTP method name`);
    }
    fault.method = raw.method;
  }
  if (raw.path !== undefined) {
    if (typeof raw.path !== 'string') throw new FaultValidationError(`${where}.path must be a regular expression source string`);
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
    if (typeof raw.body !== 'string') throw new FaultValidationError(`${where}.body must be a string (the raw body to send)`);
    fault.body = raw.body;
  }
  if (raw.contentType !== undefined) {
    if (typeof raw.contentType !== 'string') throw new FaultValidationError(`${where}.contentType must be a string`);
    checkHeader('content-type', raw.contentType, `${where}.contentType`);
    fault.contentType = raw.contentType;
  }
  if (raw.headers !== undefined) {
    if (typeof raw.headers !== 'object' || raw.headers === null || Array.isArray(raw.headers)) {
      throw new FaultValidationError(`${where}.headers must be an object of header name to string value`);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw.headers as Record<string, unknown>)) {
      if (typeof value !== 'string') throw new FaultValidationError(`${where}.headers.${name} must be a string`);
      checkHeader(name, value, `${where}.headers.${name}`);
      headers[name] = value;
    }
    fault.headers = headers;
  }
  if (raw.delayMs !== undefined) {
    const { maxDelayMs } = limits;
    if (typeof raw.delayMs !== 'number' || !Number.isFinite(raw.delayMs) || raw.delayMs < 0 || raw.delayMs > maxDelayMs) {
      throw new FaultValidationError(`${where}.delayMs must be a number of milliseconds from 0 to ${maxDelayMs}`);
    }
    fault.delayMs = raw.delayMs;
  }
  if (raw.drop !== undefined) {
    if (typeof raw.drop !== 'boolean') throw new FaultValidationError(`${where}.drop must be true or false`);
    fault.drop = raw.drop;
  }
  return fault;
}

/** Refuses what Node would refuse when sending the answer, so a bad fault fails when armed rather than when it fires. */
function checkHeader(name: string, value: string, where: string): void {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  } catch (error) {
    throw new FaultValidationError(`${where} is not a valid HTTP header: ${(error as Error).message}`);
  }
}
