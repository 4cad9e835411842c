/**
 * Words an engine error for one audience. The engine names options by their schema key: the field at fault
 * in `field`, any other option inside the message as `{key}`. The CLI passes `--flag` names, the GUI the form
 * labels; the engine itself never knows either.
 */
import type { GraftErrorData } from '../errors.js';

/** `name` returns undefined for a key it does not know, which then stays as written. */
export function wordError(e: Pick<GraftErrorData, 'message' | 'field'>, name: (key: string) => string | undefined): string {
  const message = e.message.replace(/\{([a-zA-Z][a-zA-Z0-9]*)\}/g, (whole, key: string) => name(key) ?? whole);
  const subject = e.field === undefined ? undefined : name(e.field);
  return subject ? `${subject} ${message}` : message;
}
