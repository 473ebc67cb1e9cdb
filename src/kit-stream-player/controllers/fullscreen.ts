import type { ReactiveControllerHost } from 'lit';
import { listenWhileConnected } from './listen-while-connected.js';

/** Redraws the host when it enters or leaves fullscreen, and toggles fullscreen for its button. */
export class FullscreenController {
  /** Enters fullscreen, or leaves it when the host is the fullscreen element. */
  declare readonly toggle: () => Promise<void>;

  constructor(host: ReactiveControllerHost & HTMLElement) {
    listenWhileConnected(host, 'fullscreenchange', () => host.requestUpdate(), true);
    this.toggle = async () => {
      try {
        if (document.fullscreenElement === host) await document.exitFullscreen();
        else await host.requestFullscreen();
      } catch {
        // Fullscreen can be refused (an iframe without allowfullscreen, say); the button then does nothing.
      }
    };
  }
}
