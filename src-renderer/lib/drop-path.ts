/**
 * What a drop gives: a path where the platform hands one over (a file manager's text/uri-list or a dragged path
 * string), else only the dropped files' names and contents (browsers never reveal paths).
 */
/** Only getData is read, so this also runs (and is tested) outside a browser. */
export function droppedPath(dt: { getData(type: string): string } | null | undefined): string | null {
  if (!dt) return null;
  const uris = dt.getData('text/uri-list') || dt.getData('text/plain');
  const first = uris
    .split(/\r?\n/)
    .map((s) => s.trim())
    .find((s) => s && !s.startsWith('#'));
  if (!first) return null;
  if (first.startsWith('file://')) {
    const p = decodeURIComponent(new URL(first).pathname);
    return /^\/[A-Za-z]:\//.test(p) ? p.slice(1) : p; // file:///C:/x on Windows
  }
  return /^(\/|[A-Za-z]:[\\/]|~)/.test(first) ? first : null;
}
