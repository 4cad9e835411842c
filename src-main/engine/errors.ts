/**
 * Errors that cross every boundary (CLI, IPC) as data: a stable code a program can branch on,
 * and a message a person can act on, naming the file and the place (line, tensor, key) concerned.
 */
export type GraftErrorCode =
  | 'BAD_FILE' // corrupt or truncated file
  | 'BAD_INPUT' // malformed user input (dataset row, flag, config)
  | 'NOT_FOUND' // missing file, tensor, adapter
  | 'UNSUPPORTED' // unknown architecture, dtype, format version
  | 'INCOMPATIBLE' // adapter does not fit the base model
  | 'OUT_OF_MEMORY' // estimate says it will not fit
  | 'CANCELLED'
  | 'IO' // disk full, permission denied
  | 'INTERNAL';

export interface GraftErrorData {
  code: GraftErrorCode;
  message: string;
  file?: string;
  /** Where in the file: a line number, a tensor name, a JSON key. */
  where?: string;
  /**
   * The job option at fault, by its schema key ('lr', 'rank'): the CLI words it as its flag (--lr), the GUI
   * as the form field's label, which it highlights. Messages refer to other options as {key} (wordError).
   */
  field?: string;
}

export class GraftError extends Error {
  readonly code: GraftErrorCode;
  readonly file?: string;
  readonly where?: string;
  readonly field?: string;

  constructor(code: GraftErrorCode, message: string, opts: { file?: string; where?: string; field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GraftError';
    this.code = code;
    this.file = opts.file;
    this.where = opts.where;
    this.field = opts.field;
  }

  toData(): GraftErrorData {
    return { code: this.code, message: this.message, file: this.file, where: this.where, ...(this.field ? { field: this.field } : {}) };
  }
}

export function toErrorData(err: unknown): GraftErrorData {
  if (err instanceof GraftError) return err.toData();
  if (err instanceof Error) {
    const sys = (err as NodeJS.ErrnoException).code;
    if (sys === 'ENOSPC' || sys === 'EACCES' || sys === 'EROFS' || sys === 'EDQUOT') return { code: 'IO', message: err.message };
    if (sys === 'ENOENT') return { code: 'NOT_FOUND', message: err.message };
    return { code: 'INTERNAL', message: err.message };
  }
  return { code: 'INTERNAL', message: String(err) };
}
