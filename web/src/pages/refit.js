// The refit control: start a refit, follow its progress live, cancel it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { gql } from '../api.js';
import { useSubscription } from '../hooks.js';
import { count, dateTime, duration } from '../format.js';
import { Badge } from '../ui.js';

const JOB = `query Job($id: ID!) {
  segmentation(id: $id) { job { id status customersDone customersTotal durationMs startedAt finishedAt error } }
}`;

/** How often a running job is also read over HTTP, in case an event was missed. */
const POLL_MS = 1000;

const PROGRESS = `subscription Progress($id: ID) {
  jobProgress(segmentationId: $id) { jobId done total status }
}`;

/** Shows the running or last job; `onFinished` runs when a job ends here. */
export function RefitControl({ segmentation, onFinished: reload }) {
  const [job, setJob] = useState(segmentation.job);
  // The event and the poll can both see a job end: the page is reloaded once per job.
  const reported = useRef(null);
  const onFinished = (jobId) => {
    if (reported.current === jobId) return;
    reported.current = jobId;
    reload?.();
  };
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  useEffect(() => setJob(segmentation.job), [segmentation.job?.id, segmentation.job?.status]);
  useSubscription(PROGRESS, { id: segmentation.id }, ({ jobProgress: progress }) => {
    setJob((previous) => ({
      ...(previous?.id === progress.jobId ? previous : {}),
      id: progress.jobId,
      status: progress.status,
      customersDone: progress.done,
      customersTotal: progress.total,
    }));
    if (progress.status !== 'RUNNING') onFinished(progress.jobId);
  });
  const running = job?.status === 'RUNNING';
  // Events only tell of what happens after the subscription starts: a job that ended before
  // (or an event lost on a reconnect) is caught by reading the job while it runs.
  useEffect(() => {
    if (!running) return undefined;
    const timer = setInterval(async () => {
      try {
        const data = await gql(JOB, { id: segmentation.id });
        const current = data.segmentation?.job;
        if (current && current.status !== 'RUNNING') {
          setJob(current);
          onFinished(current.id);
        }
      } catch (error) {
        console.warn('reading the refit job:', error.message);
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [running, segmentation.id]);
  const act = async (mutation) => {
    setBusy(true);
    setMessage('');
    try {
      await gql(mutation, { id: segmentation.id });
      if (mutation.includes('refreshSegmentation'))
        setJob((previous) => (previous?.status === 'RUNNING' ? previous : { status: 'RUNNING', customersDone: 0, customersTotal: 0 }));
    } catch (error) {
      setMessage(error.message);
    } finally {
      setBusy(false);
    }
  };
  const total = job?.customersTotal ?? 0;
  const done = job?.customersDone ?? 0;
  const finished = job && job.status !== 'RUNNING';
  return html`<div class="refit" id="refit">
    <div class="refit-buttons">
      <button type="button" id="refit-button" disabled=${busy || running}
        onClick=${() => act('mutation($id: ID!) { refreshSegmentation(id: $id) { id } }')}>Refit now</button>
      <button type="button" id="cancel-button" class="secondary" disabled=${busy || !running}
        onClick=${() => act('mutation($id: ID!) { cancelRefresh(id: $id) }')}>Cancel</button>
    </div>
    ${job
      ? html`<div class="job" data-status=${job.status}>
          <label for="refit-progress">
            ${running ? 'Refit running' : 'Last refit'} <${Badge} value=${job.status} />
          </label>
          <progress id="refit-progress" max=${finished && job.status === 'SUCCEEDED' ? 1 : Math.max(total, 1)}
            value=${finished && job.status === 'SUCCEEDED' ? 1 : done}></progress>
          <span class="meta">
            ${count(done)} of ${count(total)} customers
            ${job.durationMs != null && finished ? ` · took ${duration(job.durationMs)}` : ''}
            ${job.finishedAt ? ` · finished ${dateTime(job.finishedAt)}` : ''}
          </span>
          ${job.error && html`<p class="error">${job.error}</p>`}
        </div>`
      : html`<p class="meta">Never refitted.</p>`}
    <p role="status" class="error-text">${message}</p>
  </div>`;
}
