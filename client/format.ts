/** Human-readable output of importctl (the --json forms print the objects instead). */
import { formatAddress } from '../common/address';
import type { ShippingSite } from '../common/azure-job';
import type { PrepareProgress } from '../common/prepare-contract';
import { formatProblems, type Problem } from '../common/problems';
import type { JobRow, JobStatusView, RunSummary } from './job-service';

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const when = (d: Date | string): string => (typeof d === 'string' ? d : d.toISOString()).replace('T', ' ').slice(0, 19);
const indent = (text: string, by: string): string => text.split('\n').join(`\n${by}`);

/** A site's address, or Azure's instruction where it gives one instead (Data Box). */
const siteWhere = (site: ShippingSite): string => (site.address ? formatAddress(site.address) : (site.instruction ?? ''));

export function formatPrepareProgress(p: PrepareProgress): string {
  const pct = p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 0;
  return `preparing: ${pct}% — ${p.filesDone}/${p.filesTotal} files, ${mib(p.bytesDone)} of ${mib(p.bytesTotal)}${p.currentFile ? `, now ${p.currentFile}` : ''}`;
}

export function formatRuns(runs: readonly RunSummary[]): string[] {
  if (runs.length <= 1) return [];
  return [
    `  runs (${runs.length}, newest first):`,
    ...runs.map((r) => `    ${r.runId}  started ${when(r.startTime)}  ${r.closeTime ? `ended ${when(r.closeTime)}` : 'still running'}  ${r.outcome}${r.rerun ? '  (rerun)' : ''}`),
  ];
}

export function formatStatus(view: JobStatusView): string {
  const s = view.status;
  const run = view.execution;
  if (!s) {
    return [`job ${view.jobName}: workflow ${run.outcome} (no worker answered the status query)`, ...formatRuns(view.runs)].join('\n');
  }
  const lines = [`job ${s.jobName}: ${s.step}${s.azureState ? ` (Azure: ${s.azureState}${s.cancelRequested ? ', cancel requested' : ''})` : ''}${run.rerun ? ' [rerun]' : ''}`];
  if (s.failure) lines.push(`  failure: ${indent(s.failure, '    ')}`);
  if (view.prepareProgress) lines.push(`  ${formatPrepareProgress(view.prepareProgress)}`);
  if (s.site) {
    lines.push(`  ship to: ${s.site.displayName} (${s.site.locationName}) — carriers: ${s.site.supportedCarriers.join(', ')}`);
    lines.push(`    ${indent(siteWhere(s.site), '    ')}`);
  }
  if (s.shippingDeadline && s.step === 'awaiting-shipping') {
    const days = Math.ceil((Date.parse(s.shippingDeadline) - Date.now()) / 86_400_000);
    lines.push(`  ship by: ${s.shippingDeadline.slice(0, 10)} (${days} day(s) left before Azure deletes the job)`);
  }
  if (s.shipment) lines.push(`  shipped: ${s.shipment.carrierName} ${s.shipment.trackingNumber}, ${s.shipment.driveCount} drive(s) on ${s.shipment.shipDate} by ${s.shipment.submittedBy}`);
  if (s.transferPercentComplete !== undefined) lines.push(`  transfer: ${s.transferPercentComplete}%`);
  if (s.returnPackage) lines.push(`  returned: ${s.returnPackage.carrierName} ${s.returnPackage.trackingNumber}`);
  if (s.drives.length > 0) {
    lines.push('  drives:');
    for (const d of s.drives) {
      const extra = [d.copyStatus, d.percentComplete !== undefined ? `${d.percentComplete}%` : undefined, d.errorLogUri ? `errors: ${d.errorLogUri}` : undefined].filter(Boolean).join(', ');
      lines.push(`    ${d.driveId}  ${d.state}${extra ? `  (${extra})` : ''}`);
    }
  }
  if (s.remindersSent.length > 0) lines.push(`  reminders sent: ${s.remindersSent.map((r) => `${r.kind} ${r.at.slice(0, 10)}`).join(', ')}`);
  for (const r of s.rejectedSignals) lines.push(`  rejected shipping signal ${r.at}: ${r.problems.join('; ')}`);
  lines.push(...formatRuns(view.runs));
  lines.push('  timeline:');
  for (const t of s.timeline.slice(-12)) lines.push(`    ${when(t.at)}  ${t.event}${t.by ? ` [${t.by}]` : ''}${t.detail ? ` — ${t.detail}` : ''}`);
  return lines.join('\n');
}

export function formatJobList(rows: readonly JobRow[]): string {
  if (rows.length === 0) return 'no matching import jobs';
  const header = ['JOB', 'STEP', 'AZURE STATE', 'TRACKING', 'WORKFLOW', 'STARTED', 'ENDED', 'RUN'];
  const table = rows.map((r) => [
    r.jobName,
    r.step ?? '-',
    r.azureState ?? '-',
    r.trackingNumber ?? '-',
    r.executionStatus.toLowerCase(),
    when(r.startTime).slice(0, 16),
    r.closeTime ? when(r.closeTime).slice(0, 16) : '-',
    `${r.runId.slice(0, 8)}${r.rerun ? ' (rerun)' : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  return [header, ...table].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatSites(sites: readonly ShippingSite[]): string {
  return sites
    .map((s) => {
      const state = s.isOpen ? 'open' : `CLOSED${s.closedReason ? ` (${s.closedReason})` : ''} → ship to ${s.alternateLocationNames.join(' or ') || '(no alternate)'}`;
      return `${s.locationName.padEnd(16)} ${s.displayName.padEnd(22)} ${state}; carriers: ${s.supportedCarriers.join(', ') || '-'}\n    ${indent(siteWhere(s), '    ')}`;
    })
    .join('\n');
}

export function formatProblemList(problems: readonly Problem[]): string {
  return formatProblems(problems.map((p) => (p.field ? p : { ...p, field: '(spec)' }))).join('\n  ');
}
