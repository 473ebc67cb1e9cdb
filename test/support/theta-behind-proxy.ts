/** The Theta simulator behind the project's proxy on loopback: what the Theta client's Node tests talk to. */
import { startThetaSimulator, type ThetaSimulator } from '../../demo/simulators/theta/theta-simulator.js';
import { serveFetchHandler, type ServedFetchHandler } from '../../src/theta-proxy/node-server.js';
import { createThetaProxy } from '../../src/theta-proxy/theta-proxy.js';

export interface ThetaBehindProxy {
  simulator: ThetaSimulator;
  proxy: ServedFetchHandler;
  /** Stops the proxy, then the simulator. */
  close(): Promise<void>;
}

/** Starts a simulator that knows `account` (without RTMP) and a proxy holding the account's secret in front of it. */
export async function startThetaBehindProxy(account: { id: string; secret: string }, upstreamTimeoutMs: number): Promise<ThetaBehindProxy> {
  const simulator = await startThetaSimulator({ serviceAccounts: [account], rtmp: false });
  try {
    const proxy = await serveFetchHandler(
      createThetaProxy({ serviceAccountId: account.id, serviceAccountSecret: account.secret, upstream: simulator.url, upstreamTimeoutMs }),
    );
    return {
      simulator,
      proxy,
      close: async () => {
        await proxy.close();
        await simulator.close();
      },
    };
  } catch (error) {
    await simulator.close();
    throw error;
  }
}
