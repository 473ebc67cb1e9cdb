/**
 * `live-stream-elements/react`: the elements as React components, for React versions whose JSX does not pass
 * properties and events to custom elements (React 18 and earlier), and for typed props everywhere.
 *
 *   import { KitStreamPlayer } from 'live-stream-elements/react';
 *   <KitStreamPlayer server={url} appId="usd-viewer" onKitConnected={(event) => console.log(event.detail.timeToFirstFrame)} />
 *
 * Importing this module registers both elements; `live-stream-elements/react/kit-stream-player.js` and
 * `.../react/theta-live-setup.js` register and ship one each.
 */
export * from './kit-stream-player.js';
export * from './theta-live-setup.js';
