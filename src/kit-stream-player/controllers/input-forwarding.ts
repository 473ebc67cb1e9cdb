import type { ReactiveControllerHost } from 'lit';
import { InputForwarder, type KitVideoFit } from '../input.js';
import { type KitSession, type KitSessionView, shownVideo } from '../kit-session.js';
import { whileStreaming } from './while-streaming.js';

/** What the controller reads from the element. */
interface InputHost extends ReactiveControllerHost {
  readonly interactive: boolean;
  readonly fit: KitVideoFit;
}

/**
 * Forwards the viewer's pointer and keyboard to the app while the stream plays and the element is interactive,
 * unless the connector forwards input itself. It starts once the surface is drawn focusable.
 */
export class InputForwarding {
  constructor(host: InputHost, session: KitSession, view: () => KitSessionView) {
    whileStreaming(
      host,
      session,
      ({ input, handlesInput }) => {
        if (!input || handlesInput) return undefined;
        const where = view();
        return new InputForwarder({
          surface: where.surface,
          video: shownVideo(where),
          fit: () => host.fit,
          sink: input,
          startedAt: input.startedAt ?? performance.now(),
        }).dispose;
      },
      () => host.interactive,
    );
  }
}
