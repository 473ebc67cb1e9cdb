import { defineElement } from '../internal/live-element.js';
import { ThetaLiveSetup } from './theta-live-setup.js';

export { ThetaLiveSetup } from './theta-live-setup.js';
export type { HlsLibrary, HlsPlayer } from './theta-live-setup.js';
export * from './theta-client.js';
export type * from './events.js';

defineElement('theta-live-setup', ThetaLiveSetup);

declare global {
  interface HTMLElementTagNameMap {
    'theta-live-setup': ThetaLiveSetup;
  }
}
