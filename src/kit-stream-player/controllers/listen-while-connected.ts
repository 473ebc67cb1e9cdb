import type { ReactiveControllerHost } from 'lit';

/**
 * Listens to `type` on the window (or the document) while `host` is in the document: the listener is added when the
 * host connects and removed when it disconnects, so a removed element leaves nothing behind.
 */
export function listenWhileConnected(
  host: ReactiveControllerHost,
  type: string,
  listener: (event: Event) => void,
  onDocument = false,
): void {
  let listening: AbortController | undefined;
  host.addController({
    // An AbortController serves as the options: its `signal` removes the listener.
    hostConnected: () => (onDocument ? document : window).addEventListener(type, listener, (listening = new AbortController())),
    hostDisconnected: () => listening?.abort(),
  });
}
