/** What kind of failure a {@link KitStreamError} is; stable strings that pages can branch on. */
export type KitErrorCode =
  /** 403: the gateway or service refused the request. */
  | 'forbidden'
  /** 404: the session does not exist (any more). */
  | 'not-found'
  /** 422: the service rejected the request's fields; the message lists each with its location. */
  | 'invalid-request'
  /** 5xx: the service failed. */
  | 'server-error'
  /** Any other unexpected HTTP status. */
  | 'http-error'
  /** The answer was not the JSON the API promises (an HTML error page, say). */
  | 'malformed-response'
  /** No answer: the network failed or the connection was refused. */
  | 'network'
  /** The session did not become ready in time, or a request got no answer in time. */
  | 'timeout'
  /** A ready session whose routes have no signaling route. */
  | 'no-signaling-route'
  /** The element is missing an attribute it needs. */
  | 'configuration'
  /** The stream itself failed (signaling, ICE, reconnects exhausted). */
  | 'connection'
  /** Kit's signaling server reported an error; the message carries its text. */
  | 'signaling'
  /** The server ended the stream before it started; the element reports it as `kit-session-ended`, not as an error. */
  | 'server-ended';

/** A failure of the Kit App Streaming service or of the stream, with the server's own message where it had one. */
export class KitStreamError extends Error {
  constructor(
    readonly code: KitErrorCode,
    message: string,
    /** The HTTP status, when the failure was an HTTP answer. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'KitStreamError';
  }

  /** Failures worth trying again without changing anything: the network, the server's own errors, time-outs. */
  get transient(): boolean {
    return this.code === 'network' || this.code === 'server-error' || this.code === 'timeout';
  }
}
