import { validateHeaderName, validateHeaderValue } from 'node:http';

/**
 * A scripted misbehaviour for API requests, so clients can be tested against the failures
 * real gateways produce: error statuses, HTML error pages, broken JSON, slow answers and
 * connections that close without an answer.
 *
 * A fault that sets `status`, `body` or `drop` answers in place of the API. A fault that sets
 * only `delayMs` and/or `headers` lets the API answer, late and/or with the extra headers.
 */
export interface KitFault {
  /** HTTP method to match, any case; any method when omitted. Preflight OPTIONS requests are never faulted. */
  method?: string;
  /** Regular expression source matched against the path after the prefix, e.g. `'^/stream/[^/]+$'`. */
  path?: string;
  /** How many matching requests this fault affects; default 1. */
  times?: number;
  status?: number;
  /** Raw body to send: JSON, HTML or deliberately broken text. */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Answer this many milliseconds late. */
  delayMs?: number;
  /** Destroy the connection without any answer. */
  drop?: boolean;
}

/** The most a single fault may delay: long enough for timeout tests, short enough not to wedge a run. */
export const maxFaultDelayMs = 10 * 60 * 1000;

export class FaultValidationError extends Error {
  override name = 'FaultValidationError';
}

interface ArmedFault {
  fault: KitFault;
  pathPattern?: RegExp;
  remaining: number;
}

/** The faults waiting to fire, first added first considered. */
export class FaultBook {
  private armed: ArmedFault[] = [];

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
  list(): Array<KitFault & { remaining: number }> {
    return this.armed.map(({ fault, remaining }) => ({ ...fault, remaining }));
  }

  /** Finds the first fault that matches, counting this request against it. */
  take(method: string, path: string): KitFault | undefined {
    const upperMethod = method.toUpperCase();
    const index = this.armed.findIndex(
      (entry) =>
        (entry.fault.method === undefined || entry.fault.method.toUpperCase() === upperMethod) &&
        (entry.pathPattern === undefined || entry.pathPattern.test(path)),
    );
    if (index < 0) return undefined;
    const entry = this.armed[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.armed.splice(index, 1);
    return entry.fault;
  }
}

/** True when the fault produces the answer itself instead of letting the API answer. */
export function faultAnswers(fault: KitFault): boolean {
  return fault.drop === true || fault.status !== undefined || fault.body !== undefined;
}

/** Accepts one fault or an array of faults; throws {@link FaultValidationError} with a precise message. */
export function parseFaults(input: unknown): KitFault[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((item, index) => parseFault(item, Array.isArray(input) ? `faults[${index}]` : 'fault'));
}

function parseFault(input: unknown, where: string): KitFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError(`${where} must be an object`);
  }
  const raw = input as Record<string, unknown>;
  const known = new Set(['method', 'path', 'times', 'status', 'body', 'contentType', 'headers', 'delayMs', 'drop']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new FaultValidationError(`${where}.${key} is not a fault field (known: ${[...known].join(', ')})`);
  }
  const fault: KitFault = {};
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
    if (!Number.isSafeInteger(raw.times) || (raw.times as number) < 1) {
      throw new FaultValidationError(`${where}.times must be a positive integer`);
    }
    fault.times = raw.times as number;
  }
  if (raw.status !== undefined) {
    if (!Number.isInteger(raw.status) || (raw.status as number) < 200 || (raw.status as number) > 599) {
      throw new FaultValidationError(`${where}.status must be an integer from 200 to 599`);
    }
    fault.status = raw.status as number;
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

function checkHeader(name: string, value: string, where: string): void {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  } catch (error) {
    throw new FaultValidationError(`${where} is not a valid HTTP header: ${(error as Error).message}`);
  }
}
