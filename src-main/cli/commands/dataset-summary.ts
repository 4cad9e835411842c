import { TOKEN_CAP, type DatasetSummary } from '../../engine/data/inspect';

/** Human-readable lines for `graft dataset inspect`. */
export function formatSummary(s: DatasetSummary, maxIssues = 50): string[] {
  const out = [`${s.file}: ${s.format} (${s.container}), ${s.records} records: ${s.kept} kept, ${s.dropped} dropped`];
  for (const w of s.warnings) out.push(`warning: ${w}`);
  for (const i of s.issues.slice(0, maxIssues)) out.push(`  line ${i.line}: ${i.reason}`);
  if (s.issueCount > maxIssues) out.push(`  ... and ${s.issueCount - maxIssues} more (use --json for all)`);
  const t = s.tokens;
  if (t) {
    const atLeast = t.max > Math.max(t.seqLen ?? 0, TOKEN_CAP) ? 'at least ' : ''; // the longest rows were counted up to the cap
    out.push(`tokens: ${atLeast}${t.total} total, ${t.trained} trained; per row min ${t.min}, mean ${t.mean.toFixed(1)}, max ${atLeast}${t.max}`);
    if (t.seqLen) out.push(`${t.truncated} rows are longer than --seq-len ${t.seqLen} and would be truncated`);
    const peak = Math.max(1, ...t.histogram.map((b) => b.count));
    let lo = 1;
    for (const b of t.histogram) {
      const label = b.upTo === null ? `> ${lo - 1}` : `${lo}-${b.upTo}`;
      if (b.count > 0) out.push(`  ${label.padStart(11)} ${String(b.count).padStart(8)} ${'#'.repeat(Math.ceil((40 * b.count) / peak))}`);
      if (b.upTo !== null) lo = b.upTo + 1;
    }
  }
  return out;
}
