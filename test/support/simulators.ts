/** Browser-side handles on simulators started through the test hub (see sim-hub.ts). */
import type { SimulatorFault } from '../../demo/simulators/shared/faults.js';

declare global {
  interface Window {
    __SIMULATOR_HUB__: string;
  }
}

const hub = () => window.__SIMULATOR_HUB__;

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export interface RecordedRequest {
  time: number;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: Record<string, string>;
}

export interface KitSessionInfo {
  id: string;
  ready: boolean;
  appId: string;
  profile: string;
  version?: string;
  usdStageUri?: string;
}

/** A Kit App Streaming simulator of this test's own. */
export class KitSimulatorHandle {
  private constructor(
    private readonly hubId: string,
    /** Base URL of the API, prefix included. */
    readonly url: string,
    readonly origin: string,
  ) {}

  static async start(options: Record<string, unknown> = {}): Promise<KitSimulatorHandle> {
    const started = await call<{ id: string; url: string; origin: string }>(`${hub()}/kit`, {
      method: 'POST',
      body: JSON.stringify(options),
    });
    return new KitSimulatorHandle(started.id, started.url, started.origin);
  }

  requests(): Promise<RecordedRequest[]> {
    return call(`${this.origin}/_control/requests`);
  }

  async clearRequests(): Promise<void> {
    await fetch(`${this.origin}/_control/requests`, { method: 'DELETE' });
  }

  sessions(): Promise<KitSessionInfo[]> {
    return call(`${this.origin}/_control/sessions`);
  }

  async fault(...faults: SimulatorFault[]): Promise<void> {
    await call(`${this.origin}/_control/faults`, { method: 'POST', body: JSON.stringify(faults) });
  }

  async clearFaults(): Promise<void> {
    await fetch(`${this.origin}/_control/faults`, { method: 'DELETE' });
  }

  async setOptions(patch: Record<string, unknown>): Promise<void> {
    await call(`${this.origin}/_control/options`, { method: 'POST', body: JSON.stringify(patch) });
  }

  async sessionFault(id: string, kind: string): Promise<void> {
    await call(`${this.origin}/_control/sessions/${id}/fault`, { method: 'POST', body: JSON.stringify({ kind }) });
  }

  sessionMessages(id: string): Promise<unknown[]> {
    return call(`${this.origin}/_control/sessions/${id}/messages`);
  }

  /** What a session's media recorded: 'input' (decoded input events), 'envelopes' (signaling frames both ways),
   * 'violations' (protocol rules the client broke), 'control' (control_channel frames), 'channels', 'sign-in', 'answer',
   * 'unacknowledged' (server messages the client has not acknowledged), 'notes' (tolerated oddities). */
  inspect<T = unknown>(id: string, name: string): Promise<T> {
    return call(`${this.origin}/_control/sessions/${id}/${name}`);
  }

  async close(): Promise<void> {
    await call(`${hub()}/${this.hubId}`, { method: 'DELETE' });
  }
}

/** A Theta simulator with the proxy in front, of this test's own. */
export class ThetaSimulatorHandle {
  private constructor(
    private readonly hubId: string,
    /** The proxy: what a page's `api-base` points at. */
    readonly apiBase: string,
    /** The simulated API itself, which needs credentials. */
    readonly simulatorUrl: string,
    readonly serviceAccountId: string,
    /** The account's secret, for tests that look for leaks or call the API directly. */
    readonly secret: string,
  ) {}

  static async start(options: Record<string, unknown> = {}): Promise<ThetaSimulatorHandle> {
    const started = await call<{ id: string; apiBase: string; simulatorUrl: string; serviceAccountId: string; secret: string }>(
      `${hub()}/theta`,
      {
        method: 'POST',
        body: JSON.stringify(options),
      },
    );
    return new ThetaSimulatorHandle(started.id, started.apiBase, started.simulatorUrl, started.serviceAccountId, started.secret);
  }

  /** Calls the simulated API directly, with the account's credentials. */
  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.simulatorUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-tva-sa-id': this.serviceAccountId, 'x-tva-sa-secret': this.secret },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as T;
  }

  async fault(...faults: SimulatorFault[]): Promise<void> {
    await call(`${this.simulatorUrl}/_control/faults`, { method: 'POST', body: JSON.stringify(faults) });
  }

  async setOptions(patch: Record<string, unknown>): Promise<void> {
    await call(`${this.simulatorUrl}/_control/options`, { method: 'POST', body: JSON.stringify(patch) });
  }

  /** Publishes a test pattern with ffmpeg to `url` (the RTMP server and key joined), as OBS would. */
  async publish(url: string): Promise<void> {
    await call(`${hub()}/${this.hubId}/publish`, { method: 'POST', body: JSON.stringify({ url }) });
  }

  async stopPublishing(): Promise<void> {
    await call(`${hub()}/${this.hubId}/stop-publishing`, { method: 'POST', body: '{}' });
  }

  async close(): Promise<void> {
    await call(`${hub()}/${this.hubId}`, { method: 'DELETE' });
  }
}
