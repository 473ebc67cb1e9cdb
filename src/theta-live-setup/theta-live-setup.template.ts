import { TaskStatus, type Task } from '@lit/task';
import { html, nothing, type TemplateResult } from 'lit';
import { formatDuration } from '../internal/timing.js';
import type { ThetaSetupStep } from './events.js';
import { renderIngestorMap } from './ingestor-map.js';
import type { SetupFlow } from './setup-flow.js';

const steps: Array<[ThetaSetupStep, string]> = [
  ['stream', '1. Stream'],
  ['ingestor', '2. Ingestor'],
  ['live', '3. Go live'],
];

/**
 * The markup of `<theta-live-setup>`: the steps, the announcement for screen readers, the error box, and the step the
 * flow is on. Server-provided text (stream names, messages, addresses) is always rendered as text.
 */
export function renderSetup(flow: SetupFlow): TemplateResult {
  const { failure } = flow;
  return html`<section part="base" class="base" aria-label="Livestream setup">
    <ol part="steps" class="steps">
      ${steps.map(([step, label]) => html`<li aria-current=${step === flow.step ? 'step' : 'false'}>${label}</li>`)}
    </ol>
    <p class="visually-hidden" role="status" aria-live="polite">${flow.announcement}</p>
    ${
      failure
        ? html`<div part="error" class="error" role="alert">
            <p>${failure.message}</p>
            ${
              failure.action === 'create-stream' && /limit/i.test(failure.message)
                ? html`<p>
                    Each account can have 3 streams. Reuse one of your streams below instead, or remove one with its Delete button.
                  </p>`
                : nothing
            }
            <button part="button" type="button" @click=${() => failure.retry()}>Retry</button>
          </div>`
        : nothing
    }
    ${flow.step === 'stream' ? streamStep(flow) : flow.step === 'ingestor' ? ingestorStep(flow) : liveStep(flow)}
  </section>`;
}

function streamStep(flow: SetupFlow) {
  const { streams } = flow;
  return html`<h2 part="heading">1. Choose a stream</h2>
    ${
      streams === undefined
        ? html`<p>${pending(flow.streamsTask) ? 'Loading your streams...' : ''}</p>`
        : streams.length === 0
          ? html`<p>No streams yet: create one below.</p>`
          : html`<ul part="stream-list" class="stream-list">
              ${streams.map(
                (stream) =>
                  html`<li>
                    <span class="name" id=${`stream-${stream.id}`}>${stream.name}</span>
                    <span class=${`badge ${stream.status}`}>${stream.status === 'on' ? 'On' : 'Off'}</span>
                    ${stream.update_time ? html`<time datetime=${stream.update_time}>${formatTime(stream.update_time)}</time>` : nothing}
                    <button part="button" type="button" aria-describedby=${`stream-${stream.id}`} @click=${() => flow.useStream(stream)}>
                      Use this stream
                    </button>
                    ${
                      flow.confirmingDelete === stream.id
                        ? html`<span class="confirm" role="group" aria-labelledby=${`stream-${stream.id}`}>
                            Delete it for good?
                            <button part="button" type="button" class="danger" @click=${() => flow.deleteStream(stream)}>
                              Delete stream
                            </button>
                            <button
                              part="button"
                              type="button"
                              id="cancel-delete"
                              @click=${() => flow.askDelete(undefined, `delete-${stream.id}`)}
                            >
                              Cancel
                            </button>
                          </span>`
                        : html`<button
                            part="button"
                            type="button"
                            id=${`delete-${stream.id}`}
                            aria-describedby=${`stream-${stream.id}`}
                            @click=${() => flow.askDelete(stream.id, 'cancel-delete')}
                          >
                            Delete
                          </button>`
                    }
                  </li>`,
              )}
            </ul>`
    }
    <form part="create-form" class="create-form" @submit=${(event: SubmitEvent) => submitStream(event, flow)}>
      <label for="stream-name">New stream name</label>
      <input id="stream-name" name="name" .value=${flow.host.streamName} maxlength="100" autocomplete="off" required />
      <button part="button" type="submit" ?disabled=${pending(flow.createTask)}>Create stream</button>
    </form>`;
}

function ingestorStep(flow: SetupFlow) {
  const { ingestors, highlighted, selection, highlight } = flow;
  // Selected for this stream. One selected for another stream is shown as the service reports it, but can be selected
  // here: the selection moves to this stream.
  const selectedId = selection?.streamId === flow.stream?.id ? selection?.ingestorId : undefined;
  return html`<h2 part="heading">2. Choose an edge ingestor</h2>
    <p>For the stream <strong>${flow.stream?.name}</strong>. The nearest ingestor usually gives the best result.</p>
    ${
      ingestors === undefined
        ? html`<p>${pending(flow.ingestorsTask) ? 'Finding ingestors near you...' : ''}</p>`
        : ingestors.length === 0
          ? html`<p>No ingestor is available right now. Try again in a minute.</p>`
          : html`${renderIngestorMap({ ingestors, selectedId, highlightedId: highlighted, onHighlight: highlight })}
              <table part="ingestor-list" class="ingestor-list">
                <caption class="visually-hidden">
                  Edge ingestors, nearest first
                </caption>
                <thead>
                  <tr>
                    <th scope="col">IP address</th>
                    <th scope="col">State</th>
                    <th scope="col">Stake</th>
                    <th scope="col"><span class="visually-hidden">Action</span></th>
                  </tr>
                </thead>
                <tbody @mouseleave=${() => highlight(undefined)} @focusout=${() => highlight(undefined)}>
                  ${ingestors.map((ingestor, index) => {
                    const ours = ingestor.id === selection?.ingestorId;
                    return html`<tr
                      class=${ingestor.id === highlighted ? 'highlighted' : ''}
                      @mouseenter=${() => highlight(ingestor.id)}
                      @focusin=${() => highlight(ingestor.id)}
                    >
                      <td id=${`ingestor-${index}`}>
                        ${ingestor.ip ?? ingestor.id} ${index === 0 ? html`<span class="badge nearest">Nearest</span>` : nothing}
                        ${ingestor.id === selectedId ? html`<span class="badge">Selected</span>` : nothing}
                      </td>
                      <td>${ingestor.state}</td>
                      <td>${ingestor.stakes === null ? '–' : ingestor.stakes.toLocaleString()}</td>
                      <td>
                        <button
                          part="button"
                          type="button"
                          aria-describedby=${`ingestor-${index}`}
                          ?disabled=${pending(flow.selectTask) || (ingestor.state !== 'available' && !ours)}
                          @click=${() => flow.selectIngestor(ingestor.id)}
                        >
                          Select
                        </button>
                      </td>
                    </tr>`;
                  })}
                </tbody>
              </table>`
    }
    <div class="actions"><button part="button" type="button" @click=${() => flow.back()}>Back</button></div>`;
}

function liveStep(flow: SetupFlow) {
  const { selection, liveStatus, releasing } = flow;
  const stream = flow.liveStream;
  const held = selection && liveStatus !== 'ended' && liveStatus !== 'expired';
  return html`<h2 part="heading">3. Go live</h2>
    ${
      liveStatus === 'on'
        ? html`<p class="live"><span part="live-badge" class="live-badge">LIVE</span> ${stream?.name} is live.</p>
            ${releasing === undefined && stream ? flow.preview.render(stream) : nothing}`
        : liveStatus === 'ended'
          ? html`<p>The stream ended. Select an ingestor to go live again.</p>`
          : liveStatus === 'expired'
            ? html`<p>The ingestor selection expired before a stream arrived.</p>
                <button part="button" type="button" @click=${() => flow.reselect()}>Select again</button>`
            : nothing
    }
    ${
      // A selection that ended or expired has nothing left to show or to release.
      held
        ? html`<dl part="credentials" class="credentials">
              <div>
                <dt>RTMP server</dt>
                <dd>
                  <code>${selection.server}</code>
                  <button part="button" type="button" @click=${() => flow.copy('server')}>Copy server</button>
                </dd>
              </div>
              <div>
                <dt>Stream key</dt>
                <dd>
                  <code class="key">${flow.keyRevealed ? selection.key : '•'.repeat(16)}</code>
                  <button part="button" type="button" @click=${() => flow.toggleKey()}>
                    ${flow.keyRevealed ? 'Hide key' : 'Show key'}
                  </button>
                  <button part="button" type="button" @click=${() => flow.copy('key')}>Copy key</button>
                </dd>
              </div>
            </dl>
            ${
              liveStatus === 'waiting'
                ? html`<ol class="obs-steps">
                      <li>In OBS, open Settings &gt; Stream.</li>
                      <li>Choose Service: Custom.</li>
                      <li>Paste the RTMP server into Server and the stream key into Stream Key.</li>
                      <li>Click Start Streaming.</li>
                    </ol>
                    <p class="countdown">
                      Waiting for your stream. The selection expires in
                      <span class="time">${formatDuration(flow.remaining)}</span> unless a stream arrives.
                    </p>`
                : nothing
            }`
        : nothing
    }
    ${releasing === undefined ? nothing : html`<p class="progress">Releasing the ingestor... ${releasing} s</p>`}
    <div class="actions">
      ${
        held
          ? html`<button part="button" type="button" ?disabled=${releasing !== undefined} @click=${() => flow.unselect()}>Unselect</button>`
          : nothing
      }
      <button part="button" type="button" @click=${() => flow.back()}>Back</button>
    </div>`;
}

const pending = (task: Task) => task.status === TaskStatus.PENDING;

/** Creates a stream with the name typed, or points at the empty field. */
function submitStream(event: SubmitEvent, flow: SetupFlow): void {
  event.preventDefault();
  const input = (event.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
  const name = input.value.trim();
  if (name) flow.createStream(name);
  else input.focus();
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
