/**
 * Text from a file, made safe to put in an error message: control characters (a terminal escape sequence can
 * rewrite the screen, a newline can forge a line of output) become \u escapes, and long text is cut short.
 */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
