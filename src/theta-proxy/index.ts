/**
 * The Theta proxy: a Fetch-standard handler holding the service-account secret server-side.
 * This entry point is web-platform only (Node, Deno, Bun, edge workers); the Node server
 * adapter is in `./node-server.js` and the command line in `./cli.js`.
 */
export {
  createThetaProxy,
  defaultMaxBodyBytes,
  defaultThetaUpstream,
  defaultUpstreamTimeoutMs,
  type FetchHandler,
  type ThetaProxyOptions,
} from './theta-proxy.js';
