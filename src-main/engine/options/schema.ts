/**
 * A job's options declared once: each field's kind, default, range, help text, CLI flag and GUI label/group.
 * The CLI builds its flags and help from it (cli/commands/schema-flags.ts), the IPC validates requests with
 * `validateOptions`, the GUI draws its form from it (src-renderer/components/OptionField.svelte), and the
 * option types are derived from it (`OptionsOf`). Pure TypeScript without imports from Node: the renderer
 * bundles it.
 *
 * Errors name the field by its key (`{ code: 'BAD_INPUT', field: 'lr' }`) and word only the rule
 * ("must be a number >= 0"): the CLI prefixes `--lr`, the GUI the field's label (see word-error.ts).
 */
import { GraftError } from '../errors.js';

interface FieldCommon {
  /** The GUI's label; also what a GUI error calls the field. */
  label: string;
  /** One line for `--help` and the GUI's tooltip. */
  help: string;
  /** The GUI fieldset the field belongs to (its legend). */
  group: string;
  /** CLI flag without the dashes; the key in kebab-case by default. */
  flag?: string;
  /** What the number counts, shown after the value (steps, bytes, rows). */
  unit?: string;
  /**
   * The field applies only while other fields hold these values (QLoRA's 4-bit format needs method qlora):
   * the GUI shows it only then, and a value given otherwise is refused. A method-specific option group (an
   * adapter method's own options) is a set of fields with `when: { method: '<id>' }`. A list: any of them.
   */
  when?: Readonly<Record<string, string | readonly string[]>>;
  /** false: not offered on the command line (the CLI has its own way, e.g. a file path). */
  cli?: boolean;
  /** false: not drawn by the generic GUI form (the screen has a control of its own for it). */
  gui?: boolean;
}

export interface IntField extends FieldCommon {
  kind: 'int';
  default: number | null;
  min?: number;
  max?: number;
  /** null is a value ("none", "the default rule"), and the default when `default` is null. */
  nullable?: boolean;
}

export interface NumberField extends FieldCommon {
  kind: 'number';
  default: number | null;
  min?: number;
  max?: number;
  /** The max itself is out of range (a probability below 1, a split below 0.9). */
  maxExclusive?: boolean;
  /** The min itself is out of range (a strictly positive length). */
  minExclusive?: boolean;
  nullable?: boolean;
}

export interface EnumField extends FieldCommon {
  kind: 'enum';
  choices: readonly string[];
  default: string;
  /** GUI wording of each choice; the choice itself where absent. */
  choiceLabels?: Readonly<Record<string, string>>;
  /** The choices the app offers (its form and requests), where fewer than the CLI's. */
  appChoices?: readonly string[];
}

export interface BoolField extends FieldCommon {
  kind: 'bool';
  default: boolean;
}

export interface TextField extends FieldCommon {
  kind: 'text';
  default: string;
  /** The CLI flag takes a file whose text is the value (a chat template). */
  cliFile?: boolean;
  multiline?: boolean;
}

/** A non-empty subset of `choices`, kept in the order of `choices`. */
export interface ListField extends FieldCommon {
  kind: 'list';
  choices: readonly string[];
  default: readonly string[];
  choiceLabels?: Readonly<Record<string, string>>;
}

export type Field = IntField | NumberField | EnumField | BoolField | TextField | ListField;
export type Schema = Readonly<Record<string, Field>>;

/** The value type of one field, derived from its declaration. */
export type ValueOf<F> = F extends { kind: 'int' | 'number' }
  ? F extends { nullable: true }
    ? number | null
    : number
  : F extends { kind: 'enum'; choices: readonly (infer T)[] }
    ? T
    : F extends { kind: 'bool' }
      ? boolean
      : F extends { kind: 'text' }
        ? string
        : F extends { kind: 'list'; choices: readonly (infer T)[] }
          ? T[]
          : never;

/** The validated options of a job: every field present, defaults filled in. */
export type OptionsOf<S extends Schema> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** Every field at its default. */
export function defaultsOf<S extends Schema>(schema: S): OptionsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(schema)) out[k] = f.kind === 'list' ? [...f.default] : f.default;
  return out as OptionsOf<S>;
}

/** The subset of a schema a smaller job uses (the memory estimate takes five of training's fields). */
export function pickFields<S extends Schema, K extends keyof S & string>(schema: S, keys: readonly K[]): Pick<S, K> {
  return Object.fromEntries(keys.map((k) => [k, schema[k]])) as unknown as Pick<S, K>;
}

/**
 * The same fields without their `when`: a request that carries every method's settings at once (the Train
 * form's preview counts each method's parameters from the values the form holds, shown or not).
 */
export function unconditional<S extends Schema>(schema: S): S {
  return Object.fromEntries(Object.entries(schema).map(([k, f]) => [k, { ...f, when: undefined }])) as unknown as S;
}

export const flagOf = (key: string, f?: Field): string => f?.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Whether a field applies given the other values (its `when`). */
export function applies(f: Field, options: object): boolean {
  const values = options as Readonly<Record<string, unknown>>;
  return Object.entries(f.when ?? {}).every(([k, v]) => (typeof v === 'string' ? values[k] === v : v.includes(values[k] as string)));
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));
const bad = (field: string, message: string) => new GraftError('BAD_INPUT', message, { field });

/** The rule of a numeric field in words: "a whole number >= 1", "a number >= 0 and < 1". */
export function rangeText(f: IntField | NumberField): string {
  const lo = f.min === undefined ? '' : ` ${f.kind === 'number' && f.minExclusive ? '>' : '>='} ${f.min}`;
  const hi = f.max === undefined ? '' : ` ${f.kind === 'number' && f.maxExclusive ? '<' : '<='} ${f.max}`;
  return `${f.kind === 'int' ? 'a whole number' : 'a number'}${lo}${lo && hi ? ' and' : ''}${hi}`;
}

function checkValue(key: string, f: Field, v: unknown): unknown {
  switch (f.kind) {
    case 'int':
    case 'number': {
      if (v === null && f.nullable) return null;
      const ok =
        typeof v === 'number' &&
        Number.isFinite(v) &&
        (f.kind === 'number' || Number.isInteger(v)) &&
        (f.min === undefined || (f.kind === 'number' && f.minExclusive ? v > f.min : v >= f.min)) &&
        (f.max === undefined || (f.kind === 'number' && f.maxExclusive ? v < f.max : v <= f.max));
      if (!ok) throw bad(key, `must be ${rangeText(f)}, got ${show(v)}`);
      return v;
    }
    case 'enum':
      if (typeof v !== 'string' || !f.choices.includes(v)) throw bad(key, `must be one of ${f.choices.join(', ')}, got ${show(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad(key, `must be true or false, got ${show(v)}`);
      return v;
    case 'text':
      if (typeof v !== 'string') throw bad(key, `must be text, got ${show(v)}`);
      return v;
    case 'list': {
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !f.choices.includes(x)))
        throw bad(key, `takes one or more of ${f.choices.join(', ')}, got ${show(v)}`);
      return f.choices.filter((c) => v.includes(c));
    }
  }
}

const sameValue = (a: unknown, b: unknown) => (Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b);

/**
 * Checks a job's options against its schema and fills in the defaults. `input` is what the user gave (the
 * CLI's flags, the GUI's form); absent (undefined) fields take their default. Refuses, naming the field:
 * a value out of its type or range, an unknown key, and a value other than the default for a field that
 * does not apply (`--quant int4` without `--method qlora`).
 */
export function validateOptions<S extends Schema>(schema: S, input: unknown): OptionsOf<S> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new GraftError('BAD_INPUT', `options must be an object, got ${show(input)}`);
  const given = input as Record<string, unknown>;
  for (const k of Object.keys(given)) if (!Object.hasOwn(schema, k) && given[k] !== undefined) throw bad(k, 'is not an option of this job');
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(schema)) {
    const v = given[k];
    if (v === undefined) {
      if (f.default === null && !(f.kind === 'int' || f.kind === 'number' ? f.nullable : false)) throw bad(k, 'is required');
      out[k] = f.kind === 'list' ? [...f.default] : f.default;
    } else out[k] = checkValue(k, f, v);
  }
  // A field that does not apply may keep its default (a complete options object validates again unchanged);
  // any other value would be silently ignored, so it is refused.
  for (const [k, f] of Object.entries(schema)) {
    if (given[k] === undefined || applies(f, out) || sameValue(out[k], f.default)) continue;
    const [other, value] = Object.entries(f.when!).find(([o, val]) => !applies({ ...f, when: { [o]: val } }, out))!;
    throw bad(k, `needs {${other}} ${typeof value === 'string' ? value : value.join(' or ')}`);
  }
  return out as OptionsOf<S>;
}

/** Only the fields that apply (what a form shows: a QLoRA-only field is left out of a LoRA run). */
export function applicableOptions<S extends Schema>(schema: S, options: object): Partial<OptionsOf<S>> {
  const values = options as Readonly<Record<string, unknown>>;
  return Object.fromEntries(Object.entries(schema).filter(([, f]) => applies(f, values)).map(([k]) => [k, values[k]])) as Partial<OptionsOf<S>>;
}
