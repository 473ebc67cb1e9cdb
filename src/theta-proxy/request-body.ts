/**
 * Reading bodies without trusting their size: the page's JSON request body, checked and re-serialized before it goes
 * upstream, and (through {@link readLimitedBytes}) the upstream's answer.
 */
import { isRecord, parseJson } from '../internal/json.js';

/** A body the proxy will not pass on; `status` is the answer the page gets. */
export class BodyRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a JSON request body within `maxBytes`, checking as it streams, and returns it re-serialized. */
export async function readJsonBody(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get('Content-Length');
  if (declared !== null && Number(declared) > maxBytes) {
    throw new BodyRefusal(413, `The request body is larger than ${maxBytes} bytes`);
  }
  const bytes = await readLimitedBytes(
    request.body,
    maxBytes,
    () => new BodyRefusal(413, `The request body is larger than ${maxBytes} bytes`),
  );
  if (bytes.length === 0) return '{}';
  const contentType = request.headers.get('Content-Type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(contentType)) {
    throw new BodyRefusal(415, 'The request body must be JSON (Content-Type: application/json)');
  }
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Not UTF-8, so not JSON: refused below like any other body that does not parse.
    text = undefined;
  }
  const parsed = parseJson(text);
  if (parsed === undefined) throw new BodyRefusal(400, 'The request body is not valid JSON');
  if (!isRecord(parsed)) throw new BodyRefusal(400, 'The request body must be a JSON object');
  // Re-serialized, so only well-formed JSON ever reaches the upstream.
  return JSON.stringify(parsed);
}

/** Reads a stream to its end, giving up (and cancelling it) as soon as it exceeds `maxBytes`. */
export async function readLimitedBytes(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        void reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
