import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import type { KitSessionMedia } from './kit-simulator.js';

/** The ports a Kit app listens on inside its pod; the gateway maps each route's source port to these. */
export const kitSignalingContainerPort = 49100;
export const kitMediaContainerPort = 47998;

/**
 * Media for sessions that only need believable routes: port numbers that were free when the
 * session started, with nothing listening on them. Clients that connect fail, as they would
 * against a gateway whose app died.
 */
export async function reservedPortsMedia(): Promise<KitSessionMedia> {
  const signalingPort = await findFreeTcpPort();
  const mediaPort = await findFreeUdpPort();
  return {
    signaling: { sourcePort: signalingPort, destinationPort: kitSignalingContainerPort },
    media: { sourcePort: mediaPort, destinationPort: kitMediaContainerPort },
    close: async () => {},
  };
}

function findFreeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

function findFreeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createSocket('udp4');
    probe.once('error', (error) => {
      probe.close();
      reject(error);
    });
    probe.bind(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
