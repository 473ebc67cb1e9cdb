/**
 * An HTTP/1.1 client on a bare socket, for answers no HTTP library reports faithfully: a body
 * that stops short of its Content-Length, then stalls or is reset.
 */
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The bytes after the head, as far as they came. */
  body: Buffer;
  /**
   * How the connection stood when watching stopped: reset by the server (ECONNRESET), closed by it,
   * or still open after `quietMs` without a byte.
   */
  outcome: 'reset' | 'closed' | 'open';
  /** Still connected when the outcome is `open`; the caller destroys it. */
  socket: Socket;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Builds a request's bytes: `Host`, and `Content-Length` for a body, are added. */
export function rawRequestText(path: string, request: RawRequest = {}): string {
  const lines = [`${request.method ?? 'GET'} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(request.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${request.body ?? ''}`;
}

/**
 * Sends `requestText` and watches the answer until the server resets or closes the connection,
 * or `quietMs` pass without a byte (then the outcome is `open`). Never longer than `limitMs`.
 */
export function rawExchange(port: number, requestText: string, quietMs = 200, limitMs = 5000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let quietTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const limitTimer = setTimeout(() => finish('open'), limitMs);
    const restartQuietTimer = (): void => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(() => finish('open'), quietMs);
    };
    const finish = (outcome: RawExchange['outcome']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(quietTimer);
      clearTimeout(limitTimer);
      const received = Buffer.concat(chunks);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        socket.destroy();
        reject(new Error(`no complete head before the connection was ${outcome}: ${JSON.stringify(received.toString('latin1'))}`));
        return;
      }
      const [statusLine = '', ...headerLines] = received.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: received.subarray(headEnd + 4), outcome, socket });
    };
    socket.on('connect', () => {
      socket.write(requestText);
      restartQuietTimer();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      restartQuietTimer();
    });
    // Errors after the outcome is known (the caller destroying a stalled socket) are expected.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') finish('reset');
      else if (!settled) {
        settled = true;
        clearTimeout(quietTimer);
        clearTimeout(limitTimer);
        reject(error);
      }
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
  });
}
