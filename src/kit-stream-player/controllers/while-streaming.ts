import type { ReactiveControllerHost } from 'lit';
import type { KitConnection } from '../connector.js';
import type { KitSession } from '../kit-session.js';

/**
 * Runs `start` for each connection the session streams on (while `when` holds), and the function it returns when
 * that ends. It follows what the host draws: the session leaves `streaming` whenever its connection closes (removal of
 * the element included), and the update that draws that stops the work.
 */
export function whileStreaming(
  host: ReactiveControllerHost,
  session: KitSession,
  start: (connection: KitConnection) => (() => void) | undefined,
  when = () => true,
): void {
  let current: KitConnection | undefined;
  let stop: (() => void) | undefined;
  host.addController({
    hostUpdated() {
      const connection = session.state === 'streaming' && when() ? session.connection : undefined;
      if (connection === current) return;
      stop?.();
      current = connection;
      stop = connection && start(connection);
    },
  });
}
