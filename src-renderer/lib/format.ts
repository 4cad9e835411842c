/** Small display helpers shared by the screens. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function baseName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

/**
 * A reply's generation figures: "1 token", "12 tokens · 30 tokens/s". The speed needs two tokens (the first
 * one's time is the time to first token), so a one-token reply has none rather than "0 tokens/s".
 */
export function formatReplyStats(s: { tokens: number; tokensPerSecond: number; ttftMs: number }): string {
  const count = `${s.tokens} ${s.tokens === 1 ? 'token' : 'tokens'}`;
  const speed = s.tokens > 1 && s.tokensPerSecond > 0 ? ` · ${s.tokensPerSecond < 10 ? s.tokensPerSecond.toFixed(1) : Math.round(s.tokensPerSecond)} tokens/s` : '';
  return `${count}${speed} · first after ${Math.round(s.ttftMs)} ms`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}K`;
  return String(n);
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
