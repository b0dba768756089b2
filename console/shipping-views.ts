/** The clerk's pages: jobs awaiting shipment with their ship form, the receipt, and the packing slip. */
import type { JobRow } from '../client/job-service';
import type { ReturnAddress } from '../common/address';
import type { Problem } from '../common/problems';
import type { ImportJobStatus, ShipmentReceipt } from '../workflows/import-job-messages';
import { html, type SafeHtml } from './html';
import { addressLines, daysLeft, daysLeftText, formatDate, formatTime, layout, shipToBlock, type PageContext, type Viewer } from './views';

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

/** Sorts the workflow's structured problems into the form's fields; problems of other fields are shown above the form. */
export function shipProblemsByField(problems: readonly Problem[]): Pick<ShipFormState, 'fieldErrors' | 'generalErrors'> {
  const fieldErrors: ShipFormState['fieldErrors'] = {};
  const generalErrors: string[] = [];
  for (const p of problems) {
    if ((SHIP_FIELDS as readonly string[]).includes(p.field)) (fieldErrors[p.field as ShipField] ??= []).push(p.message);
    else generalErrors.push(p.message);
  }
  return { fieldErrors, generalErrors };
}

function urgencyClass(days: number | undefined): string {
  if (days === undefined) return 'badge';
  if (days <= URGENT_DAYS) return 'badge urgent';
  if (days <= WARN_DAYS) return 'badge warn';
  return 'badge ok';
}

function fieldError(workflowId: string, field: ShipField, form: ShipFormState | undefined): SafeHtml {
  const errs = form?.fieldErrors[field];
  if (!errs?.length) return html``;
  return html`<p class="field-error" id="${`err-${field}-${workflowId}`}" data-field="${field}" role="alert">${errs.join(' ')}</p>`;
}

function shipForm(viewer: Viewer, row: JobRow, status: ImportJobStatus, form: ShipFormState | undefined, today: string): SafeHtml {
  const carriers = status.site?.supportedCarriers ?? [];
  const v = form?.values ?? {};
  const selectedCarrier = v.carrierName ?? (carriers.length === 1 ? carriers[0] : '');
  const invalid = (f: ShipField): string => (form?.fieldErrors[f]?.length ? 'true' : 'false');
  const id = (f: string): string => `${f}-${row.workflowId}`;
  return html`<form method="post" action="${`/jobs/${row.workflowId}/ship`}" class="ship-form" novalidate>
    <input type="hidden" name="_csrf" value="${viewer.csrfToken}">
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
      <label for="${id('shipDate')}">${SHIP_FIELD_LABELS.shipDate} <span class="muted">(YYYY-MM-DD)</span></label>
      <input id="${id('shipDate')}" name="shipDate" inputmode="numeric" pattern="\\d{4}-\\d{2}-\\d{2}" placeholder="YYYY-MM-DD" maxlength="10" value="${v.shipDate ?? today}" aria-invalid="${invalid('shipDate')}" required>
      ${fieldError(row.workflowId, 'shipDate', form)}
    </div>
    <div class="actions">
      <button type="submit" class="primary">Record shipment</button>
    </div>
  </form>`;
}

export function shippingPage(opts: {
  viewer: Viewer;
  jobs: { row: JobRow; status: ImportJobStatus }[];
  forms?: Map<string, ShipFormState>;
  notice?: PageContext['notice'];
  now?: number;
}): string {
  const now = opts.now ?? Date.now();
  const today = formatDate(new Date(now).toISOString());
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
          ${status.site ? shipToBlock(status.site) : html`<p class="muted">No shipping site chosen yet.</p>`}
          <p class="muted small-print">The site is checked again when you submit; if it has closed you are told where to ship instead.</p>
        </section>
        <section>
          <h3>Drives in the box (${status.drives.length})</h3>
          <ul class="drives">${status.drives.map((d) => html`<li><code>${d.driveId}</code></li>`)}</ul>
        </section>
        <section class="ship">
          <h3>Shipping details</h3>
          ${shipForm(opts.viewer, row, status, form, today)}
        </section>
      </div>
    </article>`;
  });
  return layout(
    { viewer: opts.viewer, title: 'Awaiting shipment', active: 'shipping', notice: opts.notice },
    html`<header class="page-head">
      <h1>Jobs awaiting shipment</h1>
      <p class="muted">Oldest first. Azure deletes an import job that has no shipping information two weeks after it was created.</p>
    </header>
    ${cards.length > 0 ? cards : html`<section class="card empty"><p>No jobs are waiting for drives to be shipped.</p></section>`}`,
  );
}

export function shippedPage(opts: { viewer: Viewer; jobName: string; workflowId: string; receipt: ShipmentReceipt }): string {
  const r = opts.receipt;
  return layout(
    {
      viewer: opts.viewer,
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
        <dt>Recorded by</dt><dd>${opts.viewer.username}</dd>
      </dl>
      <p><a href="/shipping">Back to jobs awaiting shipment</a> · <a href="${`/jobs/${opts.workflowId}/slip`}">Packing slip</a></p>
    </section>`,
  );
}

export function packingSlipPage(opts: { viewer: Viewer; workflowId: string; status: ImportJobStatus; returnAddress?: ReturnAddress; qr: SafeHtml }): string {
  const { status } = opts;
  const shipment = status.shipment;
  const carriers = status.site?.supportedCarriers ?? [];
  return layout(
    { viewer: opts.viewer, title: `Packing slip ${status.jobName}`, bodyClass: 'slip-page' },
    html`<div class="no-print slip-tools">
      <a href="${opts.viewer.role === 'operator' ? `/jobs/${opts.workflowId}` : '/shipping'}">← Back</a>
      <button type="button" class="primary" id="print-button">Print</button>
      <script src="/static/print.js" defer></script>
    </div>
    <article class="slip" id="packing-slip">
      <header class="slip-head">
        <div>
          <h1>Azure import · Packing slip</h1>
          <p class="job-name">Job <strong>${status.jobName}</strong></p>
        </div>
        <figure class="slip-qr" id="slip-qr" title="Job name and drive serials">${opts.qr}<figcaption>job + drive serials</figcaption></figure>
      </header>
      <div class="slip-grid">
        <section>
          <h2>Ship to</h2>
          ${status.site ? html`<p class="muted">${status.site.displayName}</p>${shipToBlock(status.site)}` : html`<p>No shipping site chosen yet.</p>`}
        </section>
        <section>
          <h2>Return address</h2>
          ${opts.returnAddress ? addressLines(opts.returnAddress) : html`<p class="muted">Not available.</p>`}
        </section>
      </div>
      <section class="slip-shipment" id="slip-shipment">
        <h2>Shipment</h2>
        <dl class="kv">
          <dt>Carrier</dt><dd>${shipment ? shipment.carrierName : html`<span class="write-in">${carriers.length ? carriers.join(' / ') : '________________'}</span>`}</dd>
          <dt>Tracking number</dt><dd>${shipment ? html`<code>${shipment.trackingNumber}</code>` : html`<span class="write-in">______________________________</span>`}</dd>
          <dt>Ship date</dt><dd>${shipment ? formatDate(shipment.shipDate) : html`<span class="write-in">____-__-__</span>`}</dd>
          <dt>Ship by</dt><dd><strong>${formatTime(status.shippingDeadline)}</strong></dd>
        </dl>
      </section>
      <section>
        <h2>Drives (${status.drives.length})</h2>
        <table class="slip-drives">
          <thead><tr><th>#</th><th>Drive serial</th><th>Packed</th></tr></thead>
          <tbody>${status.drives.map((d, i) => html`<tr><td>${i + 1}</td><td><code>${d.driveId}</code></td><td class="box">☐</td></tr>`)}</tbody>
        </table>
      </section>
      <section class="slip-foot">
        <p class="muted">Include this slip in the box. Drive serials must match the import job; the code above lists them.</p>
      </section>
    </article>`,
  );
}
