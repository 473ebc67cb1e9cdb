import { defineElement } from '../internal/live-element.js';
import { KitStreamPlayer } from './kit-stream-player.js';

export { KitStreamPlayer, type KitPlayerState } from './kit-stream-player.js';
export { KitStreamError, type KitErrorCode } from './kit-error.js';
export {
  KitSessionClient,
  type KitSessionRequest,
  type KitSessionAnswer,
  type KitReadySession,
  type KitSessionClientOptions,
  type PollOptions,
} from './session-client.js';
export { findConnectionTarget, type KitConnectionTarget, type KitRoute } from './routes.js';
export type * from './connector.js';
export { KitSignalingConnector, type KitSignalingConnectorOptions } from './kit-signaling-connector.js';
export { toPicturePoint, type KitVideoFit } from './input.js';
export type * from './events.js';

defineElement('kit-stream-player', KitStreamPlayer);

declare global {
  interface HTMLElementTagNameMap {
    'kit-stream-player': KitStreamPlayer;
  }
}
