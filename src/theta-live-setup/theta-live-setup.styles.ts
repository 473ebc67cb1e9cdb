import { css } from '../internal/css.js';

export const styles = css`
  :host {
    display: block;
    font: var(--theta-live-setup-font, 15px/1.5 system-ui, sans-serif);
    --_accent: var(--theta-live-setup-accent, #1f6feb);
    --_border: var(--theta-live-setup-border, color-mix(in srgb, currentColor 25%, transparent));
    --_radius: var(--theta-live-setup-radius, 8px);
  }

  :host([hidden]) {
    display: none;
  }

  .base {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 16px 20px;
  }

  h2 {
    font-size: 1.15em;
    margin: 8px 0 12px;
  }

  .steps {
    display: flex;
    gap: 8px;
    list-style: none;
    padding: 0;
    margin: 0 0 8px;
  }

  .steps li {
    padding: 2px 10px;
    border-radius: 999px;
    border: 1px solid var(--_border);
    opacity: 0.75;
  }

  .steps li[aria-current='step'] {
    opacity: 1;
    border-color: var(--_accent);
    font-weight: 600;
  }

  button {
    font: inherit;
    padding: 4px 12px;
    border-radius: calc(var(--_radius) / 2);
    border: 1px solid var(--_accent);
    background: var(--_accent);
    color: #fff;
    cursor: pointer;
  }

  button.danger {
    background: var(--theta-live-setup-error, #d1242f);
    border-color: var(--theta-live-setup-error, #d1242f);
  }

  button:disabled {
    opacity: 0.6;
    cursor: progress;
  }

  button:focus-visible,
  input:focus-visible {
    outline: 3px solid color-mix(in srgb, var(--_accent) 60%, transparent);
    outline-offset: 2px;
  }

  input {
    font: inherit;
    padding: 4px 8px;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) / 2);
    background: transparent;
    color: inherit;
  }

  .stream-list {
    list-style: none;
    padding: 0;
    margin: 0 0 12px;
    display: grid;
    gap: 6px;
  }

  .stream-list li {
    display: flex;
    flex-wrap: wrap;
    gap: 10px;
    align-items: center;
  }

  .stream-list .name {
    font-weight: 600;
    overflow-wrap: anywhere;
  }

  .stream-list time {
    opacity: 0.8;
    font-size: 0.9em;
  }

  .create-form {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    align-items: center;
  }

  .badge {
    font-size: 0.8em;
    padding: 0 8px;
    border-radius: 999px;
    border: 1px solid var(--_border);
  }

  .badge.on {
    border-color: var(--theta-live-setup-live, #d1242f);
  }

  .badge.nearest {
    border-color: var(--_accent);
  }

  table {
    border-collapse: collapse;
    width: 100%;
  }

  th,
  td {
    text-align: start;
    padding: 4px 8px;
    border-bottom: 1px solid var(--_border);
  }

  tr.highlighted {
    background: color-mix(in srgb, var(--_accent) 12%, transparent);
  }

  video {
    width: 100%;
    max-width: 640px;
    aspect-ratio: 16 / 9;
    background: #000;
    border-radius: var(--_radius);
  }

  .credentials {
    display: grid;
    gap: 8px;
    margin: 0 0 12px;
  }

  .credentials dt {
    font-weight: 600;
  }

  .credentials dd {
    margin: 0;
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    align-items: center;
  }

  code {
    overflow-wrap: anywhere;
  }

  .live-badge {
    background: var(--theta-live-setup-live, #d1242f);
    color: #fff;
    font-weight: 700;
    padding: 0 8px;
    border-radius: 4px;
  }

  .error {
    border-left: 4px solid var(--theta-live-setup-error, #d1242f);
    padding: 8px 12px;
    margin: 8px 0;
    background: color-mix(in srgb, var(--theta-live-setup-error, #d1242f) 8%, transparent);
  }

  .error p {
    margin: 0 0 8px;
    overflow-wrap: anywhere;
  }

  .actions {
    display: flex;
    gap: 8px;
    margin-top: 12px;
  }

  .countdown .time {
    font-variant-numeric: tabular-nums;
    font-weight: 600;
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;
