import { validateHeaderName, validateHeaderValue } from 'node:http';
import { delay, guessContentType, type Reply } from './http.js';

/**
 * A scripted misbehaviour for a simulator's API requests, so clients can be tested against the
 * failures real gateways and networks produce: error statuses, HTML error pages, broken JSON,
 * slow answers, connections that close without an answer, and answers that stop half way.
 *
 * A fault that sets `status`, `body` or `drop` answers in place of the API. A fault that sets
 * only `delayMs`, `headers` and/or `truncate` lets the API answer, late, with the extra headers
 * and/or cut short.
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
  /** Send the status, the headers and only the first bytes of the body; see {@link FaultTruncation}. Not with `drop`. */
  truncate?: FaultTruncation;
}

/**
 * An answer that stops part way through its body. The status and headers go out with the
 * Content-Length of the whole body, then the first `afterBytes` bytes of it (all but the last
 * byte when the body is shorter), then:
 * - `stall`: nothing more. The connection stays open until the client closes it, the simulator
 *   closes, or the simulator's longest fault delay passes, whichever comes first.
 * - `reset`: the connection is reset (TCP RST) 50 ms later, as when a gateway or the network fails
 *   mid-body; the pause lets the client read the first bytes before the reset reaches it.
 *
 * It cuts the fault's own `body`, or the default error body for a fault with only a `status`,
 * or else the API's answer. An answer without a body (204) is sent whole.
 */
export interface FaultTruncation {
  /** Bytes of the body sent before the cut; with a fault `body`, fewer than that body has. */
  afterBytes: number;
  then: 'stall' | 'reset';
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
    return this.armed.map(({ fault, remaining }) => ({ ...structuredClone(fault), remaining }));
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
function faultAnswers(fault: SimulatorFault): boolean {
  return fault.drop === true || fault.status !== undefined || fault.body !== undefined;
}

export interface FaultPlayOptions {
  /** Aborts when the simulator closes: a delayed fault then ends without an answer. */
  closing: AbortSignal;
  /** The body of a fault that sets a status but no body, in the simulator's own error shape. */
  defaultBody: (status: number) => string;
}

/**
 * Plays a fault on the request `reply` answers. Resolves true when the fault dealt with the
 * request (it answered or dropped it, or the simulator closed during its delay); false when
 * the API should answer, through `reply`, which then carries the fault's headers and truncation.
 */
export async function playFault(fault: SimulatorFault, reply: Reply, options: FaultPlayOptions): Promise<boolean> {
  if (fault.delayMs !== undefined && fault.delayMs > 0 && !(await delay(fault.delayMs, options.closing))) return true;
  if (fault.drop === true) {
    reply.drop();
    return true;
  }
  reply.alter(fault);
  if (!faultAnswers(fault)) return false;
  const status = fault.status ?? 500;
  const body = fault.body ?? options.defaultBody(status);
  const contentType = fault.contentType ?? (fault.body === undefined ? 'application/json' : guessContentType(fault.body));
  reply.send(status, body, { 'Content-Type': contentType });
  return true;
}

const allFaultFields = ['method', 'path', 'times', 'status', 'body', 'contentType', 'headers', 'delayMs', 'drop', 'truncate'] as const;

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
  if (raw.truncate !== undefined) fault.truncate = parseTruncation(raw.truncate, `${where}.truncate`, fault);
  return fault;
}

function parseTruncation(input: unknown, where: string, fault: SimulatorFault): FaultTruncation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError(`${where} must be an object like {"afterBytes": 10, "then": "stall"}`);
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key !== 'afterBytes' && key !== 'then')
      throw new FaultValidationError(`${where}.${key} is not a truncate field (known: afterBytes, then)`);
  }
  const { afterBytes, then } = raw;
  if (typeof afterBytes !== 'number' || !Number.isSafeInteger(afterBytes) || afterBytes < 0) {
    throw new FaultValidationError(`${where}.afterBytes must be a whole number of bytes, 0 or more`);
  }
  if (then !== 'stall' && then !== 'reset') throw new FaultValidationError(`${where}.then must be 'stall' or 'reset'`);
  if (fault.drop === true) throw new FaultValidationError(`${where} cannot be combined with drop, which sends no answer to cut`);
  if (fault.body !== undefined) {
    const bodyBytes = Buffer.byteLength(fault.body);
    if (afterBytes >= bodyBytes) {
      throw new FaultValidationError(`${where}.afterBytes must be less than the body's ${bodyBytes} bytes, or the answer would be whole`);
    }
  }
  return { afterBytes, then };
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
