/** Reading JSON that comes from outside (answers, signaling frames, app messages): never trusted, never thrown on. */

/** A JSON string's value, `undefined` when the string is no JSON (blank included); anything else as it is. */
export function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** A JSON object, as opposed to an array, `null` or a primitive. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
