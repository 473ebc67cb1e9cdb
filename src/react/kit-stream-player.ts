/**
 * `live-stream-elements/react/kit-stream-player.js`: `<kit-stream-player>` as a React component. Importing it
 * registers that element only.
 *
 *   import { KitStreamPlayer } from 'live-stream-elements/react/kit-stream-player.js';
 *   <KitStreamPlayer server={url} appId="usd-viewer" onKitConnected={(event) => console.log(event.detail.timeToFirstFrame)} />
 */
import { createComponent } from '@lit/react';
import * as React from 'react';
import { KitStreamPlayer as KitStreamPlayerElement } from '../kit-stream-player/index.js';
import { kitStreamPlayerEvents } from './events.js';

export { kitStreamPlayerEvents } from './events.js';
/** The element class, for typing refs: `useRef<KitStreamPlayerElement>(null)`. */
export type { KitStreamPlayerElement };
export type * from '../kit-stream-player/events.js';

/** `<kit-stream-player>` as a React component: attributes and properties as camelCase props, `on<Event>` handlers. */
export const KitStreamPlayer = createComponent({
  react: React,
  tagName: 'kit-stream-player',
  elementClass: KitStreamPlayerElement,
  events: kitStreamPlayerEvents,
  displayName: 'KitStreamPlayer',
});
