/**
 * A werift peer connection that receives the simulated Kit server's H264 on loopback, as a browser would: the test
 * clients of the simulator's media tests answer its offers with it.
 */
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';

export function loopbackH264Receiver(): RTCPeerConnection {
  return new RTCPeerConnection({
    // werift's default is a public STUN server; there is no network here but loopback.
    iceServers: [],
    bundlePolicy: 'max-bundle',
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90_000,
          parameters: 'profile-level-id=42e01f;packetization-mode=1',
        }),
      ],
    },
  });
}
