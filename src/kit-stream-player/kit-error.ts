import { LiveStreamError, type LiveStreamErrorCode } from '../internal/errors.js';

/** What kind of failure a {@link KitStreamError} is: the codes both elements share (see `LiveStreamErrorCode`). */
export type KitErrorCode = LiveStreamErrorCode;

/**
 * A failure of the Kit App Streaming service or of the stream, with the server's own message where it had one.
 * Built as `new KitStreamError(code, message, status?, options?)`.
 */
export class KitStreamError extends LiveStreamError {
  override name = 'KitStreamError';

  /** Failures worth trying again without changing anything: the network, the server's own errors, time-outs. */
  get transient(): boolean {
    return ['network', 'server-error', 'timeout'].includes(this.code);
  }
}

/** `error` itself when it is a {@link KitStreamError}, else one with `code` and its text. */
export function toKitError(error: unknown, code: KitErrorCode): KitStreamError {
  return error instanceof KitStreamError ? error : new KitStreamError(code, String(error));
}
