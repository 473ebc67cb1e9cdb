import type { ReactiveControllerHost } from 'lit';
import type { KitSession } from '../kit-session.js';
import { listenWhileConnected } from './listen-while-connected.js';

/**
 * Tells the session when the page goes away (`pagehide`: unloaded, or put in the back/forward cache) and when it
 * comes back from that cache (`pageshow` with `persisted`), while the host is in the document.
 */
export class PageLifecycle {
  constructor(host: ReactiveControllerHost, session: KitSession) {
    listenWhileConnected(host, 'pagehide', () => session.suspend('pagehide'));
    listenWhileConnected(host, 'pageshow', (event) => (event as PageTransitionEvent).persisted && session.resume());
  }
}
