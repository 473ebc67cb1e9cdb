export * from './kit-stream-player/index.js';
