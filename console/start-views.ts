/** The operator's "Start a job" page: spec text or file, the two CSVs, a template, "Validate only" and "Start". */
import type { Problem } from '../common/problems';
import { html } from './html';
import { layout, type Viewer } from './views';

export function startPage(opts: { viewer: Viewer; text?: string; problems?: Problem[]; valid?: string }): string {
  const problems = opts.problems ?? [];
  return layout(
    { viewer: opts.viewer, title: 'Start a job', active: 'start', notice: opts.valid ? { kind: 'ok', text: `${opts.valid} Nothing was started or stored.` } : undefined },
    html`<section class="card">
      <h1>Start an import job</h1>
      <p class="muted">The same spec language as <code>importctl start</code>: YAML or JSON. With <code>drives.prepare.datasetCsv</code> /
        <code>drivesetCsv</code>, upload the two CSVs below or give absolute paths on the preparation station.
        <a href="/start/template.yaml" download>Download a template</a>.</p>
      ${problems.length
        ? html`<div class="form-error" role="alert" id="spec-problems"><p>The spec has ${problems.length} problem(s):</p>
            <ul class="problems">${problems.map((p) => html`<li data-field="${p.field}" class="pre-line">${p.field}: ${p.message}</li>`)}</ul></div>`
        : ''}
      <form method="post" action="/start" enctype="multipart/form-data">
        <input type="hidden" name="_csrf" value="${opts.viewer.csrfToken}">
        <label for="spec">Job spec</label>
        <textarea id="spec" name="spec" rows="22" spellcheck="false" class="code" required>${opts.text ?? ''}</textarea>
        <div class="upload-row">
          <div><label for="datasetCsvFile">Dataset CSV <span class="muted">(for datasetCsv)</span></label><input id="datasetCsvFile" name="datasetCsvFile" type="file" accept=".csv,text/csv"></div>
          <div><label for="drivesetCsvFile">Driveset CSV <span class="muted">(for drivesetCsv)</span></label><input id="drivesetCsvFile" name="drivesetCsvFile" type="file" accept=".csv,text/csv"></div>
        </div>
        <div class="actions">
          <button type="submit" name="action" value="validate" id="validate-button">Validate only</button>
          <button type="submit" name="action" value="start" class="primary" id="start-button">Validate and start</button>
        </div>
      </form>
    </section>`,
  );
}
