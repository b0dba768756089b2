/**
 * The operator's job pages: the list with real progress, the job page with its step diagram (prepare → locate →
 * create → await shipping → update → track), deadline and per-drive transfer bars, a failure panel, and the cancel
 * confirmation. Everything shown comes from the status query and the visibility row; unknown fields are simply absent.
 */
import type { JobRow } from '../client/job-service';
import type { PrepareProgress } from '../common/prepare-contract';
import type { CancelResult, ImportJobStatus, WorkflowStep } from '../workflows/import-job-messages';
import { html, type SafeHtml } from './html';
import { daysLeft, daysLeftText, formatDate, formatTime, layout, safeText, shipToBlock, type PageContext, type Viewer } from './views';

export const STEPS = [
  { key: 'prepare', label: 'Prepare drives' },
  { key: 'locate', label: 'Locate site' },
  { key: 'create', label: 'Create Azure job' },
  { key: 'await-shipping', label: 'Await shipping' },
  { key: 'update', label: 'Update Azure' },
  { key: 'track', label: 'Track' },
] as const;

const STEP_INDEX: Record<WorkflowStep, number> = {
  preparing: 0,
  locating: 1,
  'waiting-for-open-site': 1,
  creating: 2,
  'awaiting-shipping': 3,
  expired: 3,
  updating: 4,
  tracking: 5,
  completed: 6,
  closed: 6,
  cancelled: -1,
  failed: -1,
};

/** How a job reads to people: its step, never the execution status "completed" of a workflow that ended cancelled. */
export function jobStateLabel(row: JobRow, status: ImportJobStatus | undefined): string {
  if (row.executionStatus === 'FAILED' || row.executionStatus === 'TERMINATED' || row.executionStatus === 'TIMED_OUT') return row.executionStatus.toLowerCase().replace('_', ' ');
  return (status?.step ?? row.step ?? row.executionStatus.toLowerCase()).replace(/-/g, ' ');
}

/** The step a job reached; for failed and cancelled jobs, derived from what the status holds (not timeline text). */
export function reachedStep(status: ImportJobStatus): number {
  const i = STEP_INDEX[status.step] ?? 0;
  if (i >= 0) return i;
  if (status.transferPercentComplete !== undefined || status.returnPackage) return 5;
  if (status.shipment) return 4;
  if (status.jobCreatedAt) return 3;
  if (status.site) return 2;
  if (status.drives.length > 0) return 1;
  return 0;
}

export function stepDiagram(status: ImportJobStatus, now = Date.now()): SafeHtml {
  const reached = reachedStep(status);
  const ended = status.step === 'failed' || status.step === 'cancelled' || status.step === 'expired';
  const items = STEPS.map((s, i) => {
    let state = i < reached ? 'done' : i === reached ? (ended ? status.step : 'current') : 'pending';
    if (reached === 6) state = 'done';
    const extra =
      s.key === 'await-shipping' && status.shippingDeadline && i === reached && !ended
        ? deadlineBar(status, now)
        : s.key === 'track' && status.transferPercentComplete !== undefined
          ? html`<progress max="100" value="${clampPct(status.transferPercentComplete)}" aria-label="transfer"></progress><span class="small-print">${clampPct(status.transferPercentComplete)}% transferred</span>`
          : '';
    return html`<li class="${`step-node ${state}`}" data-step="${s.key}" data-state="${state}"><span class="dot">${state === 'done' ? '✓' : state === 'failed' || state === 'expired' ? '✕' : state === 'cancelled' ? '–' : String(i + 1)}</span><span class="label">${s.label}</span>${extra}</li>`;
  });
  return html`<ol class="step-diagram" id="step-diagram" aria-label="Job steps">${items}</ol>`;
}

const clampPct = (n: number): number => Math.max(0, Math.min(100, Math.floor(n)));

/** Time used of the shipping window: a meter that turns amber, then red, as the deadline nears. */
function deadlineBar(status: ImportJobStatus, now: number): SafeHtml {
  const start = status.jobCreatedAt ? Date.parse(status.jobCreatedAt) : NaN;
  const end = status.shippingDeadline ? Date.parse(status.shippingDeadline) : NaN;
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return html``;
  const used = Math.max(0, Math.min(1, (now - start) / (end - start)));
  return html`<meter min="0" max="1" low="0.5" high="0.78" optimum="0" value="${used.toFixed(3)}" aria-label="shipping window used"></meter><span class="small-print">${daysLeftText(daysLeft(status.shippingDeadline, now))} · ship by ${formatTime(status.shippingDeadline)}</span>`;
}

function progressCell(row: JobRow, status: ImportJobStatus | undefined, heartbeat: PrepareProgress | undefined): SafeHtml {
  // The station reports progress to the workflow while it copies; the activity heartbeat is the fallback.
  const prep = status?.step === 'preparing' ? (status.prepareProgress ?? heartbeat) : heartbeat;
  if (prep && prep.bytesTotal > 0) {
    const pct = Math.floor((prep.bytesDone / prep.bytesTotal) * 100);
    return html`<progress max="100" value="${pct}"></progress> <span class="small-print">preparing ${pct}% (${prep.filesDone}/${prep.filesTotal} files)</span>`;
  }
  if (status?.transferPercentComplete !== undefined) {
    const pct = clampPct(status.transferPercentComplete);
    return html`<progress max="100" value="${pct}"></progress> <span class="small-print">transfer ${pct}%</span>`;
  }
  if (status) {
    const reached = reachedStep(status);
    const label = reached >= 6 ? 'all steps done' : `${reached + 1}/6 ${STEPS[reached]?.label.toLowerCase() ?? ''}`;
    const days = status.step === 'awaiting-shipping' ? ` · ${daysLeftText(daysLeft(status.shippingDeadline))}` : '';
    return html`<progress max="6" value="${Math.min(reached, 6)}"></progress> <span class="small-print">${label}${days}</span>`;
  }
  if (row.step === 'completed' || row.step === 'closed') return html`<span class="small-print">all steps done</span>`;
  return html`<span class="muted small-print">${row.step ? row.step.replace(/-/g, ' ') : '–'}</span>`;
}

/** The one time format, split after the date so the list's column stays narrow. */
function timeOnTwoLines(t: Date): SafeHtml {
  const [date, ...time] = formatTime(t).split(' ');
  return html`<span class="nowrap">${date}</span><br><span class="nowrap muted">${time.join(' ')}</span>`;
}

function stepBadge(label: string, step: string | undefined): SafeHtml {
  return html`<span class="${`step step-${(step ?? 'unknown').replace(/[^a-z-]/g, '')}`}">${label}</span>`;
}

export function jobsPage(opts: { viewer: Viewer; q: string; searchError?: string; jobs: { row: JobRow; status?: ImportJobStatus; prep?: PrepareProgress }[]; notice?: PageContext['notice'] }): string {
  const rows = opts.jobs.map(({ row, status, prep }) => {
    const running = row.executionStatus === 'RUNNING';
    const reminders = status?.remindersSent ?? [];
    const escalations = reminders.filter((r) => r.kind === 'escalation').length;
    return html`<tr data-workflow-id="${row.workflowId}">
      <td><a href="${`/jobs/${row.workflowId}`}">${row.jobName}</a></td>
      <td>${stepBadge(jobStateLabel(row, status), status?.step ?? row.step)}</td>
      <td>${status?.azureState ?? row.azureState ?? '–'}</td>
      <td class="progress-cell">${progressCell(row, status, prep)}</td>
      <td>${reminders.length}${escalations ? html` <span class="badge urgent">${escalations} escalation</span>` : ''}</td>
      <td>${row.trackingNumber ? html`<code>${row.trackingNumber}</code>` : '–'}</td>
      <td class="drive-cell">${row.driveIds.map((d) => html`<code>${d}</code> `)}</td>
      <td class="started">${timeOnTwoLines(row.startTime)}</td>
      <td class="actions-cell">${running ? html`<a class="danger-link" href="${`/jobs/${row.workflowId}/cancel`}">Cancel…</a>` : ''}</td>
    </tr>`;
  });
  return layout(
    { viewer: opts.viewer, title: 'All jobs', active: 'jobs', notice: opts.notice },
    html`<header class="page-head">
      <h1>All import jobs</h1>
      <form method="get" action="/jobs" class="search" role="search">
        <label for="q" class="sr-only">Search</label>
        <input id="q" name="q" value="${opts.q}" placeholder="Job name, tracking number or drive serial">
        <button type="submit">Search</button>
        ${opts.q ? html`<a href="/jobs">Clear</a>` : ''}
      </form>
    </header>
    ${opts.searchError ? html`<p class="form-error" role="alert">${opts.searchError}</p>` : ''}
    <section class="card table-card">
      <table class="jobs">
        <thead><tr><th>Job</th><th>State</th><th>Azure state</th><th>Progress</th><th>Reminders</th><th>Tracking</th><th>Drives</th><th>Started</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="9" class="muted empty">${opts.q ? 'No job matches.' : 'No import jobs yet.'}</td></tr>`}</tbody>
      </table>
    </section>`,
  );
}

type DriveView = ImportJobStatus['drives'][number] & { bytesTotal?: number; error?: string };

function drivesCard(drives: readonly DriveView[]): SafeHtml {
  if (drives.length === 0) return html``;
  return html`<section class="card wide" id="drives">
    <h2>Drives</h2>
    <table class="compact drives-table">
      <thead><tr><th>Serial</th><th>State</th><th>Copy</th><th>Transfer</th><th>Logs</th></tr></thead>
      <tbody>${drives.map(
        (d) => html`<tr data-drive="${d.driveId}"><td><code>${d.driveId}</code></td><td>${d.state}</td><td>${d.copyStatus ?? '–'}${d.error ? html`<div class="error-text small-print">${safeText(d.error)}</div>` : ''}</td>
          <td>${d.percentComplete !== undefined ? html`<progress max="100" value="${clampPct(d.percentComplete)}"></progress> <span class="small-print">${clampPct(d.percentComplete)}%</span>` : html`<span class="muted">–</span>`}</td>
          <td>${logLink(d.errorLogUri, 'error log')}${logLink(d.verboseLogUri, 'verbose log')}</td></tr>`,
      )}</tbody>
    </table>
  </section>`;
}

/** Copy-log links only for https URLs (Azure blob URLs); anything else is shown as text. */
function logLink(uri: string | undefined, label: string): SafeHtml {
  if (!uri) return html``;
  return /^https:\/\//i.test(uri) ? html`<a href="${uri}" rel="noreferrer noopener" target="_blank">${label}</a> ` : html`<span class="small-print">${label}: ${uri}</span> `;
}

/** What Azure itself says about the job: its error (e.g. a copy waiting for customer action) and its stages (Data Box). */
function azurePanel(status: ImportJobStatus): SafeHtml {
  const stages = status.stages ?? [];
  if (!status.azureError && stages.length === 0) return html``;
  return html`<section class="card wide" id="azure-panel">
    <h2>Azure</h2>
    ${status.azureError ? html`<p class="instruction" role="alert">${[status.azureError.code, safeText(status.azureError.message)].filter(Boolean).join(': ')}</p>` : ''}
    ${stages.length
      ? html`<ol class="azure-stages">${stages.map((st) => html`<li data-status="${st.status ?? ''}"><strong>${st.displayName ?? st.name}</strong> <span class="muted">${st.status ?? ''}${st.at ? ` · ${formatTime(st.at)}` : ''}</span></li>`)}</ol>`
      : ''}
  </section>`;
}

function failurePanel(status: ImportJobStatus): SafeHtml {
  if (!status.failure && status.step !== 'failed') return html``;
  return html`<section class="card wide failure-panel" id="failure-panel" role="alert">
    <h2>The job failed</h2>
    <p class="failure-text">${safeText(status.failure) ?? 'The workflow failed without a message; see the timeline.'}</p>
    <p class="muted small-print">Fix the cause, then start the job again with a corrected spec (or ask Azure support about the Azure job, if it exists).</p>
  </section>`;
}

export function jobDetailPage(opts: { viewer: Viewer; row: JobRow; status?: ImportJobStatus; prep?: PrepareProgress; notice?: PageContext['notice']; now?: number }): string {
  const { row, status } = opts;
  const running = row.executionStatus === 'RUNNING';
  const ended = !running || status?.step === 'failed' || status?.step === 'cancelled';
  const slipUseful = status?.site !== undefined && !ended;
  return layout(
    { viewer: opts.viewer, title: row.jobName, active: 'jobs', notice: opts.notice },
    html`<header class="page-head">
      <h1>${row.jobName} ${stepBadge(jobStateLabel(row, status), status?.step ?? row.step)}</h1>
      <p class="muted">Workflow <code>${row.workflowId}</code> · started ${formatTime(row.startTime)}${row.closeTime ? ` · ended ${formatTime(row.closeTime)}` : ''}</p>
      <p>${running && status?.step !== 'failed' ? html`<a class="button danger" href="${`/jobs/${row.workflowId}/cancel`}">Cancel job…</a> ` : ''}${slipUseful ? html`<a class="button" href="${`/jobs/${row.workflowId}/slip`}">Packing slip</a>` : ''}</p>
    </header>
    ${!status ? html`<p class="notice info">The workflow's status is not available right now (no worker answered the query).</p>` : html`<section class="card wide">${stepDiagram(status, opts.now)}</section>`}
    ${status ? failurePanel(status) : ''}
    ${status ? azurePanel(status) : ''}
    <div class="detail-grid">
      <section class="card">
        <h2>Progress</h2>
        <dl class="kv">
          <dt>Azure state</dt><dd>${status?.azureState ?? row.azureState ?? '–'}${status?.cancelRequested ? ' (cancel requested)' : ''}</dd>
          ${opts.prep || status?.prepareProgress ? html`<dt>Preparing</dt><dd>${progressCell(row, status, opts.prep)}</dd>` : ''}
          <dt>Job created</dt><dd>${formatTime(status?.jobCreatedAt)}</dd>
          ${status?.shippingDeadline && !status.shipment ? html`<dt>Shipping deadline</dt><dd>${formatTime(status.shippingDeadline)}</dd>` : ''}
          <dt>Reminders sent</dt><dd>${status && status.remindersSent.length > 0 ? status.remindersSent.map((r) => html`${r.kind} ${formatTime(r.at)}<br>`) : 'none'}</dd>
          <dt>Shipment</dt><dd>${status?.shipment ? html`${status.shipment.carrierName} <code>${status.shipment.trackingNumber}</code>, ${status.shipment.driveCount} drive(s), ${formatDate(status.shipment.shipDate)} by ${status.shipment.submittedBy}` : '–'}</dd>
          ${status?.returnPackage ? html`<dt>Return package</dt><dd>${status.returnPackage.carrierName} <code>${status.returnPackage.trackingNumber}</code></dd>` : ''}
        </dl>
      </section>
      ${status?.site
        ? html`<section class="card" id="ship-to">
            <h2>Ship to</h2>
            <p>${status.site.displayName} <span class="muted">(${status.site.supportedCarriers.join(', ')})</span></p>
            ${shipToBlock(status.site)}
          </section>`
        : ''}
      ${drivesCard(status?.drives ?? [])}
      <section class="card wide">
        <h2>Timeline</h2>
        <ol class="timeline">${(status?.timeline ?? []).map(
          (t) => html`<li><time>${formatTime(t.at)}</time> <span>${safeText(t.event)}</span>${t.by ? html` <span class="muted">by ${t.by}</span>` : ''}${t.detail ? html`<div class="muted small-print pre-line">${safeText(t.detail)}</div>` : ''}</li>`,
        )}</ol>
      </section>
    </div>`,
  );
}

export function cancelPage(opts: { viewer: Viewer; row: JobRow; status?: ImportJobStatus; error?: string; reason?: string; result?: CancelResult }): string {
  const { row } = opts;
  if (opts.result) {
    return layout(
      { viewer: opts.viewer, title: `Cancelled ${row.jobName}`, active: 'jobs', notice: { kind: 'ok', text: opts.result.message } },
      html`<section class="card narrow"><h1>Cancellation requested for ${row.jobName}</h1>
        <p>${opts.result.azureCancelRequested ? 'Azure was asked to cancel the job.' : 'No Azure job existed yet.'}</p>
        <p><a href="${`/jobs/${row.workflowId}`}">Back to the job</a> · <a href="/jobs">All jobs</a></p></section>`,
    );
  }
  return layout(
    { viewer: opts.viewer, title: `Cancel ${row.jobName}`, active: 'jobs' },
    html`<section class="card narrow">
      <h1>Cancel ${row.jobName}?</h1>
      <p>State: ${stepBadge(jobStateLabel(row, opts.status), opts.status?.step ?? row.step)} · Azure state: ${opts.status?.azureState ?? row.azureState ?? '–'}</p>
      <p class="muted">Azure accepts cancellation only before the drives have shipped. This cannot be undone.</p>
      ${opts.error ? html`<p class="form-error pre-line" role="alert" id="cancel-error">${opts.error}</p>` : ''}
      <form method="post" action="${`/jobs/${row.workflowId}/cancel`}">
        <input type="hidden" name="_csrf" value="${opts.viewer.csrfToken}">
        <label for="reason">Reason</label>
        <textarea id="reason" name="reason" rows="3" maxlength="500" required>${opts.reason ?? ''}</textarea>
        <div class="actions">
          <button type="submit" class="danger" name="confirm" value="yes">Yes, cancel this job</button>
          <a href="${`/jobs/${row.workflowId}`}">Keep it</a>
        </div>
      </form>
    </section>`,
  );
}
