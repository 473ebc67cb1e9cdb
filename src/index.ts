export * from './kit-stream-player/index.js';
export * from './theta-live-setup/index.js';
