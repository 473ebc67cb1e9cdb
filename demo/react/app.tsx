/** The React demo: both wrappers, driven by React state, logging their events. */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { KitStreamPlayer, ThetaLiveSetup } from '../../src/react/index.js';

interface DemoConfig {
  kit: { server: string };
  theta?: { apiBase: string };
}

function App({ config }: { config: DemoConfig }) {
  const [profile, setProfile] = useState('default');
  const [kitState, setKitState] = useState('idle');
  const [log, setLog] = useState<string[]>([]);
  const record = (event: CustomEvent) =>
    setLog((lines) => [`${new Date().toLocaleTimeString()} ${event.type} ${JSON.stringify(event.detail)}`, ...lines].slice(0, 50));

  return (
    <>
      <section aria-labelledby="kit-title">
        <h2 id="kit-title">&lt;KitStreamPlayer&gt;</h2>
        <KitStreamPlayer
          server={config.kit.server}
          appId="usd-viewer"
          profile={profile}
          pollInterval={1000}
          onKitSessionReady={(event) => {
            setKitState('session ready');
            record(event);
          }}
          onKitConnected={(event) => {
            setKitState(`streaming, first frame after ${event.detail.timeToFirstFrame} ms`);
            record(event);
          }}
          onKitError={(event) => {
            setKitState(`error: ${event.detail.message}`);
            record(event);
          }}
          onKitSessionEnded={record}
        />
        <div className="controls">
          <label>
            Profile{' '}
            <select value={profile} onChange={(event) => setProfile(event.target.value)}>
              <option value="default">default</option>
              <option value="high-quality">high-quality</option>
            </select>
          </label>
          <span>
            State: <output>{kitState}</output>
          </span>
        </div>
      </section>
      <section aria-labelledby="theta-title">
        <h2 id="theta-title">&lt;ThetaLiveSetup&gt;</h2>
        {config.theta ? (
          <ThetaLiveSetup
            apiBase={config.theta.apiBase}
            onThetaIngestorSelected={record}
            onThetaStatusChange={record}
            onThetaError={record}
          />
        ) : (
          <p>No Theta simulator is configured for this demo.</p>
        )}
      </section>
      <h3>Events</h3>
      <ol className="log" aria-live="off">
        {log.map((line, index) => (
          <li key={log.length - index}>{line}</li>
        ))}
      </ol>
    </>
  );
}

function Loading() {
  const [config, setConfig] = useState<DemoConfig>();
  useEffect(() => {
    // The simulators listen on ports chosen at start; the demo server says where.
    void fetch('/demo/config.json')
      .then((response) => response.json() as Promise<DemoConfig>)
      .then(setConfig);
  }, []);
  return config ? <App config={config} /> : <p>Loading…</p>;
}

createRoot(document.querySelector('#app')!).render(
  <StrictMode>
    <Loading />
  </StrictMode>,
);
