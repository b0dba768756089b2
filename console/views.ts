/**
 * The console's page frame and shared formatting: plain server-rendered HTML. Every dynamic value goes through
 * `html` (escaped by default). No inline scripts or styles (the CSP forbids them): bars are <progress>/<meter>
 * elements, and the one tiny print script is a static file.
 */
import type { SiteAddress } from '../common/azure-job';
import { redactSecrets } from '../security/redact';
import { html, type HtmlValue, type SafeHtml } from './html';
import type { SignedInUser } from './sign-in';

/** The signed-in user a page is rendered for, with the CSRF token its forms carry. */
export type Viewer = SignedInUser & { csrfToken: string };

const DAY_MS = 86_400_000;

/** One format for every time on every page: `2026-12-01 14:05 UTC`. */
export function formatTime(iso: string | Date | undefined): string {
  if (!iso) return '–';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** One format for every date, the one the ship-date field uses: `2026-12-01`. */
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

export function daysLeftText(days: number | undefined): string {
  if (days === undefined) return 'no deadline yet';
  if (days <= 0) return 'deadline passed';
  return days === 1 ? '1 day left' : `${days} days left`;
}

/** Text from the workflow (timeline, failures) passes the redactor once more before it reaches a page. */
export const safeText = (s: string | undefined): string | undefined => (s === undefined ? undefined : redactSecrets(s));

export function addressLines(a: Pick<SiteAddress, 'recipientName' | 'streetAddress1' | 'streetAddress2' | 'city' | 'stateOrProvince' | 'postalCode' | 'countryOrRegion' | 'phone'>): SafeHtml {
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

/** Where drives go: a site with an address (Import/Export, most Data Box datacenters) or only Azure's instruction. */
export interface ShipToView {
  displayName: string;
  supportedCarriers: readonly string[];
  address?: SiteAddress;
  instruction?: string;
}

export function shipToBlock(site: ShipToView): SafeHtml {
  if (!site.address) {
    return html`<p class="instruction" data-kind="instruction">${site.instruction ?? 'Azure has not given a shipping address yet.'}</p>`;
  }
  return html`${addressLines(site.address)}${site.address.additionalShippingInformation ? html`<p class="note">${site.address.additionalShippingInformation}</p>` : ''}`;
}

// ---------- layout ----------

export interface PageContext {
  viewer?: Viewer;
  title: string;
  active?: 'shipping' | 'jobs' | 'start';
  notice?: { kind: 'ok' | 'error' | 'info'; text: HtmlValue };
  bodyClass?: string;
}

export function layout(ctx: PageContext, body: HtmlValue): string {
  const v = ctx.viewer;
  const nav = v
    ? html`<nav class="topnav">
        <span class="brand">Import console</span>
        <a href="/shipping" class="${ctx.active === 'shipping' ? 'active' : ''}">Awaiting shipment</a>
        ${v.role === 'operator'
          ? html`<a href="/jobs" class="${ctx.active === 'jobs' ? 'active' : ''}">All jobs</a>
              <a href="/start" class="${ctx.active === 'start' ? 'active' : ''}">Start a job</a>`
          : ''}
        <span class="spacer"></span>
        <span class="who">${v.displayName} <span class="role">${v.role}</span></span>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="_csrf" value="${v.csrfToken}">
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
<link rel="icon" href="/favicon.ico">
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

export function loginPage(opts: { csrf: string; error?: string; username?: string; next?: string; info?: string }): string {
  return layout(
    { title: 'Sign in', notice: opts.info ? { kind: 'info', text: opts.info } : undefined, bodyClass: 'login' },
    html`<section class="card narrow">
      <h1>Sign in</h1>
      ${opts.error ? html`<p class="form-error" role="alert" id="login-error">${opts.error}</p>` : ''}
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

export function errorPage(opts: { viewer?: Viewer; status: number; title: string; message: string }): string {
  return layout(
    { viewer: opts.viewer, title: opts.title },
    html`<section class="card narrow error-page"><h1>${opts.status} · ${opts.title}</h1><p class="pre-line">${opts.message}</p><p><a href="/">Home</a></p></section>`,
  );
}
