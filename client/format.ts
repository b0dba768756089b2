/** Human-readable output of importctl (the --json forms print the raw objects instead). */
import type { SiteInfo } from '../common/import-job-contract';
import type { PrepareProgress } from '../common/prepare-contract';
import type { ImportJobStatus } from '../workflows/import-job-messages';

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export function formatAddress(site: SiteInfo): string {
  const a = site.address;
  return [a.recipientName, a.streetAddress1, a.streetAddress2, `${a.city}${a.stateOrProvince ? `, ${a.stateOrProvince}` : ''} ${a.postalCode}`, a.countryOrRegion, a.phone && `phone ${a.phone}`]
    .filter((x) => x && String(x).trim())
    .join('\n    ');
}

export function formatStatus(s: ImportJobStatus, prepare?: PrepareProgress): string {
  const lines = [`job ${s.jobName}: ${s.step}${s.azureState ? ` (Azure: ${s.azureState}${s.cancelRequested ? ', cancel requested' : ''})` : ''}`];
  if (s.failure) lines.push(`  failure: ${s.failure}`);
  if (prepare) {
    const pct = prepare.bytesTotal > 0 ? Math.floor((prepare.bytesDone / prepare.bytesTotal) * 100) : 0;
    lines.push(`  preparing: ${pct}% — ${prepare.filesDone}/${prepare.filesTotal} files, ${mib(prepare.bytesDone)} of ${mib(prepare.bytesTotal)}${prepare.currentFile ? `, now ${prepare.currentFile}` : ''}`);
  }
  if (s.site) {
    lines.push(`  ship to: ${s.site.displayName} (${s.site.locationName}) — carriers: ${s.site.supportedCarriers.join(', ')}`);
    lines.push(`    ${formatAddress(s.site)}`);
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
  lines.push('  timeline:');
  for (const t of s.timeline.slice(-12)) lines.push(`    ${t.at.replace('T', ' ').slice(0, 19)}  ${t.event}${t.by ? ` [${t.by}]` : ''}${t.detail ? ` — ${t.detail}` : ''}`);
  return lines.join('\n');
}

export function formatJobList(rows: { jobName: string; status: string; step?: string; azureState?: string; tracking?: string; startTime: string }[]): string {
  if (rows.length === 0) return 'no matching import jobs';
  const header = ['JOB', 'STEP', 'AZURE STATE', 'TRACKING', 'WORKFLOW', 'STARTED'];
  const table = rows.map((r) => [r.jobName, r.step ?? '-', r.azureState ?? '-', r.tracking ?? '-', r.status, r.startTime.slice(0, 16).replace('T', ' ')]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  return [header, ...table].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatSites(sites: SiteInfo[]): string {
  return sites
    .map((s) => {
      const state = s.isOpen ? 'open' : `CLOSED → ship to ${s.alternateLocationNames.join(' or ') || '(no alternate)'}`;
      return `${s.locationName.padEnd(16)} ${s.displayName.padEnd(22)} ${state}; carriers: ${s.supportedCarriers.join(', ')}\n    ${formatAddress(s)}`;
    })
    .join('\n');
}
