import { css } from '../internal/css.js';

export const styles = css`
  :host {
    display: block;
    position: relative;
    aspect-ratio: var(--kit-stream-player-aspect-ratio, 16 / 9);
    background: var(--kit-stream-player-background, #000);
    color: var(--kit-stream-player-color, #fff);
    font: var(--kit-stream-player-font, 14px/1.4 system-ui, sans-serif);
    overflow: hidden;
    contain: content;
  }

  :host([hidden]) {
    display: none;
  }

  .base,
  .video-area,
  .overlay {
    position: absolute;
    inset: 0;
  }

  /* A video's object-fit is contain unless a class says otherwise. */
  video,
  ::slotted(video) {
    width: 100%;
    height: 100%;
    display: block;
  }

  /* Classes, not a style attribute: a strict CSP (style-src without 'unsafe-inline') blocks inline styles. An unknown
     fit has no rule, so the video keeps contain. */
  video.fit-cover {
    object-fit: cover;
  }

  video.fit-fill {
    object-fit: fill;
  }

  video[hidden] {
    display: none;
  }

  .video-area {
    outline: none;
    touch-action: none;
  }

  .video-area:focus-visible {
    box-shadow: inset 0 0 0 3px var(--kit-stream-player-accent, #76b900);
  }

  .controls {
    position: absolute;
    right: 8px;
    bottom: 8px;
    display: flex;
    gap: 6px;
    opacity: 0.85;
  }

  .controls button {
    background: var(--kit-stream-player-controls-background, rgb(0 0 0 / 0.65));
    color: var(--kit-stream-player-color, #fff);
  }

  .controls:hover,
  .controls:focus-within {
    opacity: 1;
  }

  .stats {
    position: absolute;
    left: 8px;
    top: 8px;
    padding: 6px 10px;
    border-radius: 4px;
    background: rgb(0 0 0 / 0.65);
    color: #fff;
    font:
      12px/1.5 ui-monospace,
      monospace;
    pointer-events: none;
  }

  .stats div {
    display: flex;
    gap: 8px;
    justify-content: space-between;
  }

  p,
  dl,
  dd {
    margin: 0;
  }

  .overlay {
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 12px;
    padding: 16px;
    text-align: center;
    background: var(--kit-stream-player-background, #000);
  }

  .status:empty {
    display: none;
  }

  .elapsed {
    font-variant-numeric: tabular-nums;
  }

  .spinner {
    width: 32px;
    height: 32px;
    border-radius: 50%;
    border: 3px solid color-mix(in srgb, currentColor 25%, transparent);
    border-top-color: var(--kit-stream-player-accent, #76b900);
    animation: spin 0.9s linear infinite;
  }

  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation-duration: 3s;
    }
  }

  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }

  .error {
    max-width: 40em;
    padding: 12px 16px;
    border-left: 4px solid var(--kit-stream-player-error-color, #ff6b6b);
    background: color-mix(in srgb, currentColor 8%, transparent);
    text-align: start;
  }

  .error-message {
    margin-bottom: 8px;
    overflow-wrap: anywhere;
  }

  button {
    font: inherit;
    color: #000;
    background: #fff;
    border: 0;
    border-radius: var(--kit-stream-player-radius, 4px);
    padding: 6px 14px;
    cursor: pointer;
  }

  button:focus-visible {
    outline: 3px solid var(--kit-stream-player-accent, #76b900);
    outline-offset: 2px;
  }
`;
