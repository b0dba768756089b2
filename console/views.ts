/**
 * The console's pages: plain server-rendered HTML. Every dynamic value goes through `html` (escaped by default).
 * No inline scripts or styles (the CSP forbids them); the stylesheet and the one tiny print script are static routes.
 */
import type { ReturnAddress } from '../common/job-spec';
import type { SiteInfo } from '../common/import-job-contract';
import type { PrepareProgress } from '../common/prepare-contract';
import { redactSecrets } from '../security/redact';
import type { CancelResult, ImportJobStatus, ShipmentReceipt } from '../workflows/import-job-messages';
import { html, type HtmlValue, type SafeHtml } from './html';
import type { JobRow } from './jobs';
import type { Session } from './sessions';

const DAY_MS = 86_400_000;
/** Jobs within this many days of Azure's 2-week expiry are highlighted as urgent, and as a warning below `WARN_DAYS`. */
export const URGENT_DAYS = 3;
export const WARN_DAYS = 7;

export const SHIP_FIELDS = ['carrierName', 'trackingNumber', 'driveCount', 'shipDate'] as const;
export type ShipField = (typeof SHIP_FIELDS)[number];
export const SHIP_FIELD_LABELS: Record<ShipField, string> = {
  carrierName: 'Carrier',
  trackingNumber: 'Tracking number',
  driveCount: 'Drives in the box',
  shipDate: 'Ship date',
};

export interface ShipFormState {
  values: Partial<Record<ShipField, string>>;
  fieldErrors: Partial<Record<ShipField, string[]>>;
  generalErrors: string[];
}

/** Splits the workflow's "field: reason; field: reason" rejection into per-field and general messages. */
export function mapShipProblems(problems: readonly string[]): Pick<ShipFormState, 'fieldErrors' | 'generalErrors'> {
  const fieldErrors: ShipFormState['fieldErrors'] = {};
  const generalErrors: string[] = [];
  for (const p of problems) {
    const m = /^([A-Za-z]+): (.*)$/s.exec(p.trim());
    const field = m?.[1] as ShipField | undefined;
    if (m && field && (SHIP_FIELDS as readonly string[]).includes(field)) (fieldErrors[field] ??= []).push(m[2]!);
    else if (p.trim()) generalErrors.push(p.trim());
  }
  return { fieldErrors, generalErrors };
}

// ---------- formatting ----------

export function formatTime(iso: string | Date | undefined): string {
  if (!iso) return '–';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDate(iso: string | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 10);
}

export function daysLeft(deadline: string | undefined, now = Date.now()): number | undefined {
  if (!deadline) return undefined;
  const t = Date.parse(deadline);
  return Number.isNaN(t) ? undefined : Math.ceil((t - now) / DAY_MS);
}

function urgencyClass(days: number | undefined): string {
  if (days === undefined) return 'badge';
  if (days <= URGENT_DAYS) return 'badge urgent';
  if (days <= WARN_DAYS) return 'badge warn';
  return 'badge ok';
}

function daysLeftText(days: number | undefined): string {
  if (days === undefined) return 'no deadline yet';
  if (days <= 0) return 'deadline passed';
  return days === 1 ? '1 day left' : `${days} days left`;
}

const safeText = (s: string | undefined): string | undefined => (s === undefined ? undefined : redactSecrets(s));

function addressLines(a: { recipientName: string; streetAddress1: string; streetAddress2?: string; city: string; stateOrProvince?: string; postalCode: string; countryOrRegion: string; phone?: string }): SafeHtml {
  const cityLine = `${a.city}${a.stateOrProvince ? `, ${a.stateOrProvince}` : ''} ${a.postalCode}`;
  return html`<address>
    <strong>${a.recipientName}</strong><br>
    ${a.streetAddress1}<br>
    ${a.streetAddress2 ? html`${a.streetAddress2}<br>` : ''}
    ${cityLine}<br>
    ${a.countryOrRegion}
    ${a.phone ? html`<br><span class="muted">Phone: ${a.phone}</span>` : ''}
  </address>`;
}

function siteAddress(site: SiteInfo): SafeHtml {
  return html`${addressLines(site.address)}${
    site.address.additionalShippingInformation ? html`<p class="note">${site.address.additionalShippingInformation}</p>` : ''
  }`;
}

function stepBadge(step: string | undefined): SafeHtml {
  const s = step ?? 'unknown';
  return html`<span class="step step-${s.replace(/[^a-z-]/g, '')}">${s}</span>`;
}

// ---------- layout ----------

export interface PageContext {
  session?: Session;
  title: string;
  active?: 'shipping' | 'jobs' | 'start';
  notice?: { kind: 'ok' | 'error' | 'info'; text: HtmlValue };
  bodyClass?: string;
}

export function layout(ctx: PageContext, body: HtmlValue): string {
  const s = ctx.session;
  const nav = s
    ? html`<nav class="topnav">
        <span class="brand">Import console</span>
        <a href="/shipping" class="${ctx.active === 'shipping' ? 'active' : ''}">Awaiting shipment</a>
        ${s.role === 'operator'
          ? html`<a href="/jobs" class="${ctx.active === 'jobs' ? 'active' : ''}">All jobs</a>
              <a href="/start" class="${ctx.active === 'start' ? 'active' : ''}">Start a job</a>`
          : ''}
        <span class="spacer"></span>
        <span class="who">${s.displayName} <span class="role">${s.role}</span></span>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="_csrf" value="${s.csrfToken}">
          <button type="submit" class="link">Sign out</button>
        </form>
      </nav>`
    : html`<nav class="topnav"><span class="brand">Import console</span></nav>`;
  const notice = ctx.notice ? html`<div class="notice ${ctx.notice.kind}" role="status">${ctx.notice.text}</div>` : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${ctx.title} · Import console</title>
<link rel="stylesheet" href="/static/console.css">
</head>
<body class="${ctx.bodyClass ?? ''}">
${nav}
<main>
${notice}
${body}
</main>
</body>
</html>`.value;
}

// ---------- pages ----------

export function loginPage(opts: { csrf: string; error?: string; username?: string; next?: string; info?: string }): string {
  return layout(
    { title: 'Sign in', notice: opts.info ? { kind: 'info', text: opts.info } : undefined, bodyClass: 'login' },
    html`<section class="card narrow">
      <h1>Sign in</h1>
      ${opts.error ? html`<p class="form-error" role="alert">${opts.error}</p>` : ''}
      <form method="post" action="/login">
        <input type="hidden" name="_csrf" value="${opts.csrf}">
        <input type="hidden" name="next" value="${opts.next ?? ''}">
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" required value="${opts.username ?? ''}" autofocus>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </section>`,
  );
}

function fieldError(workflowId: string, field: ShipField, form: ShipFormState | undefined): SafeHtml {
  const errs = form?.fieldErrors[field];
  if (!errs?.length) return html``;
  return html`<p class="field-error" id="${`err-${field}-${workflowId}`}" data-field="${field}" role="alert">${errs.join('; ')}</p>`;
}

function shipForm(session: Session, row: JobRow, status: ImportJobStatus, form: ShipFormState | undefined, today: string): SafeHtml {
  const site = status.site;
  const carriers = site?.supportedCarriers ?? [];
  const v = form?.values ?? {};
  const selectedCarrier = v.carrierName ?? (carriers.length === 1 ? carriers[0] : '');
  const invalid = (f: ShipField): string => (form?.fieldErrors[f]?.length ? 'true' : 'false');
  const id = (f: string): string => `${f}-${row.workflowId}`;
  return html`<form method="post" action="${`/jobs/${row.workflowId}/ship`}" class="ship-form" novalidate>
    <input type="hidden" name="_csrf" value="${session.csrfToken}">
    ${form?.generalErrors.length ? html`<div class="form-error" role="alert">${form.generalErrors.map((e) => html`<p>${e}</p>`)}</div>` : ''}
    <div class="field">
      <label for="${id('carrierName')}">${SHIP_FIELD_LABELS.carrierName}</label>
      <select id="${id('carrierName')}" name="carrierName" aria-invalid="${invalid('carrierName')}" required>
        ${carriers.length !== 1 ? html`<option value="">Choose a carrier…</option>` : ''}
        ${carriers.map((c) => html`<option value="${c}" ${c === selectedCarrier ? html`selected` : ''}>${c}</option>`)}
        ${v.carrierName && !carriers.includes(v.carrierName) ? html`<option value="${v.carrierName}" selected>${v.carrierName}</option>` : ''}
      </select>
      ${fieldError(row.workflowId, 'carrierName', form)}
    </div>
    <div class="field">
      <label for="${id('trackingNumber')}">${SHIP_FIELD_LABELS.trackingNumber}</label>
      <input id="${id('trackingNumber')}" name="trackingNumber" value="${v.trackingNumber ?? ''}" maxlength="60" autocomplete="off" spellcheck="false" aria-invalid="${invalid('trackingNumber')}" required>
      ${fieldError(row.workflowId, 'trackingNumber', form)}
    </div>
    <div class="field small">
      <label for="${id('driveCount')}">${SHIP_FIELD_LABELS.driveCount}</label>
      <input id="${id('driveCount')}" name="driveCount" type="number" min="1" max="10" value="${v.driveCount ?? String(status.drives.length)}" aria-invalid="${invalid('driveCount')}" required>
      ${fieldError(row.workflowId, 'driveCount', form)}
    </div>
    <div class="field small">
      <label for="${id('shipDate')}">${SHIP_FIELD_LABELS.shipDate}</label>
      <input id="${id('shipDate')}" name="shipDate" type="date" value="${v.shipDate ?? today}" max="${today}" aria-invalid="${invalid('shipDate')}" required>
      ${fieldError(row.workflowId, 'shipDate', form)}
    </div>
    <div class="actions">
      <button type="submit" class="primary">Record shipment</button>
    </div>
  </form>`;
}

export function shippingPage(opts: {
  session: Session;
  jobs: { row: JobRow; status: ImportJobStatus }[];
  forms?: Map<string, ShipFormState>;
  notice?: PageContext['notice'];
  now?: number;
}): string {
  const now = opts.now ?? Date.now();
  const today = new Date(now).toISOString().slice(0, 10);
  const cards = opts.jobs.map(({ row, status }) => {
    const days = daysLeft(status.shippingDeadline, now);
    const form = opts.forms?.get(row.workflowId);
    return html`<article class="card job" id="${`job-${row.workflowId}`}" data-job="${status.jobName}">
      <header class="job-head">
        <h2>${status.jobName}</h2>
        <span class="${urgencyClass(days)}" title="${`Azure deletes the job at ${formatTime(status.shippingDeadline)}`}">${daysLeftText(days)}</span>
        <span class="muted">ship by ${formatTime(status.shippingDeadline)}</span>
        <a class="slip-link" href="${`/jobs/${row.workflowId}/slip`}">Packing slip</a>
      </header>
      <div class="job-grid">
        <section>
          <h3>Ship to${status.site ? html` <span class="muted">· ${status.site.displayName}</span>` : ''}</h3>
          ${status.site ? siteAddress(status.site) : html`<p class="muted">No shipping site chosen yet.</p>`}
          <p class="muted small-print">The site is checked again when you submit; if it has closed you are told where to ship instead.</p>
        </section>
        <section>
          <h3>Drives in the box (${status.drives.length})</h3>
          <ul class="drives">${status.drives.map((d) => html`<li><code>${d.driveId}</code></li>`)}</ul>
        </section>
        <section class="ship">
          <h3>Shipping details</h3>
          ${shipForm(opts.session, row, status, form, today)}
        </section>
      </div>
    </article>`;
  });
  return layout(
    { session: opts.session, title: 'Awaiting shipment', active: 'shipping', notice: opts.notice },
    html`<header class="page-head">
      <h1>Jobs awaiting shipment</h1>
      <p class="muted">Oldest first. Azure deletes an import job that has no shipping information two weeks after it was created.</p>
    </header>
    ${cards.length > 0 ? cards : html`<section class="card empty"><p>No jobs are waiting for drives to be shipped.</p></section>`}`,
  );
}

export function shippedPage(opts: { session: Session; jobName: string; workflowId: string; receipt: ShipmentReceipt }): string {
  const r = opts.receipt;
  return layout(
    {
      session: opts.session,
      title: 'Shipment recorded',
      active: 'shipping',
      notice: { kind: 'ok', text: r.duplicate ? 'This shipment had already been recorded; nothing changed.' : 'Shipment recorded. The Azure job is being updated.' },
    },
    html`<section class="card narrow receipt" id="receipt">
      <h1>Shipment recorded for ${opts.jobName}</h1>
      <dl class="kv">
        <dt>Carrier</dt><dd>${r.carrierName}</dd>
        <dt>Tracking number</dt><dd><code>${r.trackingNumber}</code></dd>
        <dt>Drives</dt><dd>${r.driveCount}</dd>
        <dt>Ship date</dt><dd>${formatDate(r.shipDate)}</dd>
        <dt>Recorded at</dt><dd>${formatTime(r.recordedAt)}</dd>
        <dt>Recorded by</dt><dd>${opts.session.username}</dd>
      </dl>
      <p><a href="/shipping">Back to jobs awaiting shipment</a> · <a href="${`/jobs/${opts.workflowId}/slip`}">Packing slip</a></p>
    </section>`,
  );
}

export function packingSlipPage(opts: {
  session: Session;
  workflowId: string;
  status: ImportJobStatus;
  returnAddress?: ReturnAddress;
}): string {
  const { status } = opts;
  return layout(
    { session: opts.session, title: `Packing slip ${status.jobName}`, bodyClass: 'slip-page' },
    html`<div class="no-print slip-tools">
      <a href="/shipping">← Back</a>
      <button type="button" class="primary" id="print-button">Print</button>
      <script src="/static/print.js" defer></script>
    </div>
    <article class="slip" id="packing-slip">
      <header>
        <h1>Azure Import/Export · Packing slip</h1>
        <p class="job-name">Job <strong>${status.jobName}</strong></p>
      </header>
      <div class="slip-grid">
        <section>
          <h2>Ship to</h2>
          ${status.site ? html`<p class="muted">${status.site.displayName}</p>${siteAddress(status.site)}` : html`<p>No shipping site chosen yet.</p>`}
        </section>
        <section>
          <h2>Return address</h2>
          ${opts.returnAddress ? addressLines(opts.returnAddress) : html`<p class="muted">Not available.</p>`}
        </section>
      </div>
      <section>
        <h2>Drives (${status.drives.length})</h2>
        <table class="slip-drives">
          <thead><tr><th>#</th><th>Drive serial</th><th>Packed</th></tr></thead>
          <tbody>${status.drives.map((d, i) => html`<tr><td>${i + 1}</td><td><code>${d.driveId}</code></td><td class="box">☐</td></tr>`)}</tbody>
        </table>
      </section>
      <section class="slip-foot">
        <p>Ship by: <strong>${formatTime(status.shippingDeadline)}</strong>${
          status.shipment ? html` · Shipped ${formatDate(status.shipment.shipDate)} with ${status.shipment.carrierName}, tracking ${status.shipment.trackingNumber}` : ''
        }</p>
        <p class="muted">Include this slip in the box. Drive serials must match the import job.</p>
      </section>
    </article>`,
  );
}

function progressCell(row: JobRow, status: ImportJobStatus | undefined, prep: PrepareProgress | undefined): SafeHtml {
  if (prep && prep.bytesTotal > 0) {
    const pct = Math.floor((prep.bytesDone / prep.bytesTotal) * 100);
    return html`<progress max="100" value="${pct}"></progress> <span class="small-print">preparing ${pct}% (${prep.filesDone}/${prep.filesTotal} files)</span>`;
  }
  if (status?.transferPercentComplete !== undefined) {
    const pct = Math.max(0, Math.min(100, Math.floor(status.transferPercentComplete)));
    return html`<progress max="100" value="${pct}"></progress> <span class="small-print">transfer ${pct}%</span>`;
  }
  if (row.step === 'preparing') return html`<span class="muted">preparing…</span>`;
  return html`<span class="muted">–</span>`;
}

export function jobsPage(opts: {
  session: Session;
  q: string;
  searchError?: string;
  jobs: { row: JobRow; status?: ImportJobStatus; prep?: PrepareProgress }[];
  notice?: PageContext['notice'];
}): string {
  const rows = opts.jobs.map(({ row, status, prep }) => {
    const running = row.executionStatus === 'RUNNING';
    const reminders = status?.remindersSent ?? [];
    const escalations = reminders.filter((r) => r.kind === 'escalation').length;
    return html`<tr data-workflow-id="${row.workflowId}">
      <td><a href="${`/jobs/${row.workflowId}`}">${row.jobName}</a></td>
      <td>${stepBadge(status?.step ?? row.step)}${running ? '' : html` <span class="muted small-print">${row.executionStatus.toLowerCase()}</span>`}</td>
      <td>${status?.azureState ?? row.azureState ?? '–'}</td>
      <td>${progressCell(row, status, prep)}</td>
      <td>${reminders.length}${escalations ? html` <span class="badge urgent">${escalations} escalation</span>` : ''}</td>
      <td>${row.trackingNumber ? html`<code>${row.trackingNumber}</code>` : '–'}</td>
      <td class="drive-cell">${row.driveIds.map((d) => html`<code>${d}</code> `)}</td>
      <td>${formatTime(row.startTime)}</td>
      <td>${running ? html`<a class="danger-link" href="${`/jobs/${row.workflowId}/cancel`}">Cancel…</a>` : ''}</td>
    </tr>`;
  });
  return layout(
    { session: opts.session, title: 'All jobs', active: 'jobs', notice: opts.notice },
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
        <thead><tr><th>Job</th><th>Step</th><th>Azure state</th><th>Progress</th><th>Reminders</th><th>Tracking</th><th>Drives</th><th>Started</th><th></th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="9" class="muted empty">${opts.q ? 'No job matches.' : 'No import jobs yet.'}</td></tr>`}</tbody>
      </table>
    </section>`,
  );
}

export function jobDetailPage(opts: {
  session: Session;
  row: JobRow;
  status?: ImportJobStatus;
  prep?: PrepareProgress;
  notice?: PageContext['notice'];
}): string {
  const { row, status } = opts;
  const running = row.executionStatus === 'RUNNING';
  return layout(
    { session: opts.session, title: row.jobName, active: 'jobs', notice: opts.notice },
    html`<header class="page-head">
      <h1>${row.jobName} ${stepBadge(status?.step ?? row.step)}</h1>
      <p class="muted">Workflow <code>${row.workflowId}</code> · ${row.executionStatus.toLowerCase()} · started ${formatTime(row.startTime)}${row.closeTime ? ` · ended ${formatTime(row.closeTime)}` : ''}</p>
      <p>${running ? html`<a class="button danger" href="${`/jobs/${row.workflowId}/cancel`}">Cancel job…</a> ` : ''}<a class="button" href="${`/jobs/${row.workflowId}/slip`}">Packing slip</a></p>
    </header>
    ${!status ? html`<p class="notice info">The workflow's status is not available right now (no worker answered the query).</p>` : ''}
    <div class="detail-grid">
      <section class="card">
        <h2>Progress</h2>
        <dl class="kv">
          <dt>Azure state</dt><dd>${status?.azureState ?? row.azureState ?? '–'}${status?.cancelRequested ? ' (cancel requested)' : ''}</dd>
          <dt>Progress</dt><dd>${progressCell(row, status, opts.prep)}</dd>
          <dt>Job created</dt><dd>${formatTime(status?.jobCreatedAt)}</dd>
          <dt>Shipping deadline</dt><dd>${formatTime(status?.shippingDeadline)}</dd>
          <dt>Reminders sent</dt><dd>${status ? status.remindersSent.map((r) => html`${r.kind} ${formatTime(r.at)}<br>`) : '–'}${status?.remindersSent.length === 0 ? 'none' : ''}</dd>
          <dt>Shipment</dt><dd>${status?.shipment ? html`${status.shipment.carrierName} <code>${status.shipment.trackingNumber}</code>, ${status.shipment.driveCount} drive(s), ${formatDate(status.shipment.shipDate)} by ${status.shipment.submittedBy}` : '–'}</dd>
          <dt>Return package</dt><dd>${status?.returnPackage ? html`${status.returnPackage.carrierName} <code>${status.returnPackage.trackingNumber}</code>` : '–'}</dd>
          ${status?.failure ? html`<dt>Failure</dt><dd class="error-text">${safeText(status.failure)}</dd>` : ''}
        </dl>
      </section>
      <section class="card">
        <h2>Shipping site</h2>
        ${status?.site ? html`<p>${status.site.displayName} <span class="muted">(${status.site.supportedCarriers.join(', ')})</span></p>${siteAddress(status.site)}` : html`<p class="muted">Not chosen yet.</p>`}
      </section>
      <section class="card">
        <h2>Drives</h2>
        <table class="compact">
          <thead><tr><th>Serial</th><th>State</th><th>Copy</th><th>%</th></tr></thead>
          <tbody>${(status?.drives ?? []).map((d) => html`<tr><td><code>${d.driveId}</code></td><td>${d.state}</td><td>${d.copyStatus ?? '–'}</td><td>${d.percentComplete ?? '–'}</td></tr>`)}</tbody>
        </table>
      </section>
      <section class="card wide">
        <h2>Timeline</h2>
        <ol class="timeline">${(status?.timeline ?? []).map(
          (t) => html`<li><time>${formatTime(t.at)}</time> <span>${safeText(t.event)}</span>${t.by ? html` <span class="muted">by ${t.by}</span>` : ''}${t.detail ? html`<div class="muted small-print">${safeText(t.detail)}</div>` : ''}</li>`,
        )}</ol>
      </section>
    </div>`,
  );
}

export function cancelPage(opts: { session: Session; row: JobRow; status?: ImportJobStatus; error?: string; reason?: string; result?: CancelResult }): string {
  const { row } = opts;
  if (opts.result) {
    return layout(
      { session: opts.session, title: `Cancelled ${row.jobName}`, active: 'jobs', notice: { kind: 'ok', text: opts.result.message } },
      html`<section class="card narrow"><h1>Cancellation requested for ${row.jobName}</h1>
        <p>${opts.result.azureCancelRequested ? 'Azure was asked to cancel the job.' : 'No Azure job existed yet.'}</p>
        <p><a href="${`/jobs/${row.workflowId}`}">Back to the job</a> · <a href="/jobs">All jobs</a></p></section>`,
    );
  }
  return layout(
    { session: opts.session, title: `Cancel ${row.jobName}`, active: 'jobs' },
    html`<section class="card narrow">
      <h1>Cancel ${row.jobName}?</h1>
      <p>Step: ${stepBadge(opts.status?.step ?? row.step)} · Azure state: ${opts.status?.azureState ?? row.azureState ?? '–'}</p>
      <p class="muted">Azure accepts cancellation only before the drives have shipped. This cannot be undone.</p>
      ${opts.error ? html`<p class="form-error" role="alert" id="cancel-error">${opts.error}</p>` : ''}
      <form method="post" action="${`/jobs/${row.workflowId}/cancel`}">
        <input type="hidden" name="_csrf" value="${opts.session.csrfToken}">
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

export function startPage(opts: { session: Session; text?: string; problems?: string[] }): string {
  return layout(
    { session: opts.session, title: 'Start a job', active: 'start' },
    html`<section class="card">
      <h1>Start an import job</h1>
      <p class="muted">Paste the job spec as JSON or YAML. It is checked before anything starts; every problem is listed.</p>
      ${opts.problems?.length
        ? html`<div class="form-error" role="alert" id="spec-problems"><p>The spec has ${opts.problems.length} problem(s):</p><ul>${opts.problems.map((p) => html`<li><code>${p}</code></li>`)}</ul></div>`
        : ''}
      <form method="post" action="/start">
        <input type="hidden" name="_csrf" value="${opts.session.csrfToken}">
        <label for="spec">Job spec</label>
        <textarea id="spec" name="spec" rows="22" spellcheck="false" class="code" required>${opts.text ?? ''}</textarea>
        <div class="actions"><button type="submit" class="primary">Validate and start</button></div>
      </form>
    </section>`,
  );
}

export function errorPage(opts: { session?: Session; status: number; title: string; message: string }): string {
  return layout(
    { session: opts.session, title: opts.title },
    html`<section class="card narrow error-page"><h1>${opts.status} · ${opts.title}</h1><p>${opts.message}</p><p><a href="/">Home</a></p></section>`,
  );
}
