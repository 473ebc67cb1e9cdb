/** Browser-side handles on simulators started through the test hub (see sim-hub.ts). */

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

export interface KitFault {
  method?: string;
  path?: string;
  times?: number;
  status?: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  drop?: boolean;
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

  async fault(...faults: KitFault[]): Promise<void> {
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

  async close(): Promise<void> {
    await call(`${hub()}/${this.hubId}`, { method: 'DELETE' });
  }
}
