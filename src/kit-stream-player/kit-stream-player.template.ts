import { html, nothing } from 'lit';
import { formatDuration } from '../internal/timing.js';
import type { KitStreamStats } from './connector.js';
import type { FullscreenController } from './controllers/fullscreen.js';
import type { KitPlayerState, KitSession } from './kit-session.js';
import type { KitStreamPlayer } from './kit-stream-player.js';

/** What the status line says in each state; idle and streaming say nothing. */
const statusTexts: Partial<Record<KitPlayerState, string>> = {
  requesting: 'Requesting a session...',
  pending: 'Preparing the app...',
  connecting: 'Connecting...',
  reconnecting: 'Reconnecting...',
  ended: 'The stream has ended.',
  error: 'The stream could not continue.',
};

/**
 * The player's shadow DOM: the video area, the controls while streaming, the statistics overlay (`stats`, given
 * with `show-stats`), and the overlay with the status, the waiting indicator and the error while not streaming.
 */
export function renderPlayer(
  player: KitStreamPlayer,
  session: KitSession,
  /** The stream's latest figures, drawn over the video with `show-stats`. */
  stats: KitStreamStats | undefined,
  fullscreen: FullscreenController,
  /** A connector put its own video in the `media` slot: the element's video hides. */
  slottedMedia: boolean,
  onMediaSlotChange: (event: Event) => void,
) {
  const { state, error, pendingSince } = session;
  const streaming = state === 'streaming';
  const interactive = streaming && player.interactive;
  // The ticking time is hidden from the live region, so that screen readers are not told every second.
  const elapsed =
    pendingSince === undefined
      ? nothing
      : html` <span class="elapsed" aria-hidden="true">${formatDuration(performance.now() - pendingSince)}</span>`;
  return html`
    <div part="base" class="base">
      <div
        part="video-area"
        class="video-area"
        tabindex=${interactive ? 0 : -1}
        role=${interactive ? 'application' : 'presentation'}
        aria-label=${interactive ? 'Interactive app stream. Keyboard and pointer input go to the app; press Tab to leave.' : nothing}
      >
        <video part="video" muted playsinline autoplay ?hidden=${slottedMedia} class="fit-${player.fit}"></video>
        <slot name="media" @slotchange=${onMediaSlotChange}></slot>
      </div>
      ${
        streaming
          ? html`<div part="controls" class="controls">
              <button part="mute-button" type="button" @click=${() => (player.muted = !player.muted)}>
                ${player.muted ? 'Unmute' : 'Mute'}
              </button>
              <button part="fullscreen-button" type="button" @click=${fullscreen.toggle}>
                ${document.fullscreenElement === player ? 'Exit fullscreen' : 'Fullscreen'}
              </button>
            </div>`
          : nothing
      }
      ${
        streaming && player.showStats && stats
          ? html`<dl part="stats" class="stats">
              <div>
                <dt>Frame</dt>
                <dd>${stats.width}×${stats.height}</dd>
              </div>
              <div>
                <dt>FPS</dt>
                <dd>${Math.round(stats.fps)}</dd>
              </div>
              <div>
                <dt>Bitrate</dt>
                <dd>${Math.round(stats.bitrate)} kbit/s</dd>
              </div>
              <div>
                <dt>RTT</dt>
                <dd>${stats.rtt === undefined ? '–' : `${Math.round(stats.rtt)} ms`}</dd>
              </div>
              <div>
                <dt>Lost</dt>
                <dd>${stats.packetsLost}</dd>
              </div>
              <div>
                <dt>Jitter</dt>
                <dd>${stats.jitter} ms</dd>
              </div>
            </dl>`
          : nothing
      }
      ${
        streaming
          ? nothing
          : html`<div part="overlay" class="overlay">
              ${
                !['idle', 'ended', 'error'].includes(state)
                  ? html`<slot name="waiting"><div part="spinner" class="spinner" aria-hidden="true"></div></slot>`
                  : nothing
              }
              <p part="status" class="status" role="status" aria-live="polite">${statusTexts[state]}${elapsed}</p>
              ${
                error
                  ? html`<div part="error" class="error" role="alert">
                      <p part="error-message" class="error-message">${error.message}</p>
                      <button part="retry-button" type="button" @click=${() => player.start()}>Retry</button>
                    </div>`
                  : nothing
              }
            </div>`
      }
    </div>
  `;
}
