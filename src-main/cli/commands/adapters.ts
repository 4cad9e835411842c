/** `graft adapters ...`: the adapter library from the command line. Every subcommand takes --library DIR. */
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import type { AdapterMeta } from '../../store/adapter-meta';
import { EXPORT_OPTIONS, given, IMPORT_OPTIONS } from '../../engine/options/adapters';
import { validateOptions } from '../../engine/options/schema';
import { blendIntoLibrary, exportAdapter, importChecked, type BlendPart } from '../../store/adapter-ops';
import { AdapterLibrary, type LibraryEntry, type SortKey } from '../../store/library';
import { defaultLibraryDir } from '../../store/paths';
import { listTrash, moveToTrash, restoreFromTrash } from '../../store/trash';
import type { CommandRegistrar } from './index';
import { choiceFlag, intFlag } from './parse-flags';
import { addSchemaFlags, inputFromFlags } from './schema-flags';

interface Common {
  library?: string;
  json?: boolean;
}

const openLibrary = (flags: Common) => AdapterLibrary.open(flags.library ?? defaultLibraryDir());
const collect = (v: string, prev: string[] = []) => [...prev, v];

function print(flags: Common, data: unknown, human: () => string): void {
  console.log(flags.json ? JSON.stringify(data) : human());
}

function size(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} KB`;
}

function row(e: LibraryEntry): string {
  const m = e.meta;
  return [m.name, m.id, `r=${m.r}`, m.base?.id ? `base ${m.base.id}` : 'base ?', size(e.sizeBytes), m.created.slice(0, 10), m.tags.length ? `[${m.tags.join(', ')}]` : '']
    .filter(Boolean)
    .join('  ');
}

function details(e: LibraryEntry): string {
  const m: AdapterMeta = e.meta;
  const lines = [
    `${m.name}  (${m.id})`,
    `  folder:   ${e.dir}`,
    `  method:   ${m.method}, r=${m.r}, alpha=${m.alpha}${m.rslora ? ', rsLoRA' : ''}, targets ${m.targets.join(',')}`,
    `  base:     ${m.base ? `${m.base.id || '?'} (${m.base.arch || 'arch unknown'})${m.base.hash ? ` sha256 ${m.base.hash.slice(0, 12)}…` : ''}` : 'unknown'}`,
    `  dataset:  ${m.dataset ? m.dataset.name : '-'}`,
    `  created:  ${m.created}`,
    `  source:   ${m.source || '-'}`,
    ...(m.remote ? [`  trained:  remotely on ${m.remote.host} (${m.remote.processes} × ${m.remote.devices[0] ?? '?'}, ${m.remote.distributed || '?'}, ${m.remote.precision}; job ${m.remote.job})`] : []),
    `  size:     ${size(e.sizeBytes)}`,
  ];
  if (m.tags.length) lines.push(`  tags:     ${m.tags.join(', ')}`);
  if (Object.keys(m.metrics).length) lines.push(`  metrics:  ${Object.entries(m.metrics).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (m.lossCurve.length) lines.push(`  loss:     ${m.lossCurve[0].loss} → ${m.lossCurve[m.lossCurve.length - 1].loss} over ${m.lossCurve.length} points`);
  if (m.notes) lines.push(`  notes:    ${m.notes}`);
  return lines.join('\n');
}

/** "NAME:WEIGHT"; the weight is after the last colon so names may hold colons. */
export function parseBlendPart(arg: string): BlendPart {
  const i = arg.lastIndexOf(':');
  const weight = i > 0 ? Number(arg.slice(i + 1)) : NaN;
  if (i <= 0 || !Number.isFinite(weight) || arg.slice(i + 1).trim() === '') {
    throw new GraftError('BAD_INPUT', `blend takes NAME:WEIGHT pairs (e.g. poems:0.5), got "${arg}"`, { where: arg });
  }
  return { ref: arg.slice(0, i), weight };
}

export const registerAdapters: CommandRegistrar = (program: Command) => {
  const adapters = program.command('adapters').description('the adapter library: list, import, export, blend');
  const sub = (spec: string, description: string) =>
    adapters.command(spec).description(description).option('--library <dir>', `library folder (default: ${defaultLibraryDir()})`).option('--json', 'print JSON');

  sub('list', 'list the adapters in the library')
    .option('--query <words>', 'only adapters whose name, tags, notes, base or dataset contain every word')
    .option('--tag <tag>', 'only adapters with this tag (repeatable)', collect)
    .option('--sort <key>', 'name | created | size | rank', choiceFlag('--sort', ['name', 'created', 'size', 'rank'] as const), 'name')
    .option('--desc', 'reverse the order')
    .option('--trash', 'list the trash instead')
    .action(async (flags: Common & { query?: string; tag?: string[]; sort: SortKey; desc?: boolean; trash?: boolean }) => {
      const lib = await openLibrary(flags);
      const { entries, problems } = flags.trash ? await listTrash(lib) : await lib.list({ query: flags.query, tags: flags.tag, sort: flags.sort, descending: flags.desc });
      print(flags, { library: lib.root, entries: entries.map((e) => ({ ...e.meta, dir: e.dir, sizeBytes: e.sizeBytes })), problems }, () =>
        [entries.length ? entries.map(row).join('\n') : `(no adapters in ${flags.trash ? 'the trash of ' : ''}${lib.root})`, ...problems.map((p) => `unreadable: ${p.dir}: ${p.message}`)].join('\n'),
      );
    });

  sub('show <name>', 'show one adapter').action(async (name: string, flags: Common) => {
    const e = await (await openLibrary(flags)).get(name);
    print(flags, { ...e.meta, dir: e.dir, sizeBytes: e.sizeBytes }, () => details(e));
  });

  addSchemaFlags(sub('import <path>', 'import a PEFT folder, .zip, adapter_model.safetensors or GGUF LoRA'), IMPORT_OPTIONS)
    .option('--tag <tag>', 'add a tag (repeatable)', collect)
    .action(async (src: string, flags: Common & { tag?: string[] }) => {
      // The import schema (engine/options/adapters.ts) judges the flags, as it judges the Adapters screen's requests.
      const o = validateOptions(IMPORT_OPTIONS, await inputFromFlags(IMPORT_OPTIONS, flags));
      const basePath = given(o.basePath);
      const e = await importChecked(await openLibrary(flags), src, { name: given(o.name), basePath, arch: given(o.arch), tags: flags.tag, onWarning: (m) => console.error(`graft: warning: ${m}`) });
      print(flags, { ...e.meta, dir: e.dir }, () => `imported ${e.meta.name} (${e.meta.id})${basePath ? `, compatible with ${basePath}` : ''}`);
    });

  addSchemaFlags(sub('export <name>', 'export an adapter for PEFT, llama.cpp/Ollama, or as a merged model (Hugging Face folder or GGUF)'), EXPORT_OPTIONS)
    .requiredOption('--out <path>', 'where to write (a folder for peft/merged, a file for peft-zip/gguf/merged-gguf)')
    .action(async (name: string, flags: Common & { out: string }) => {
      const o = validateOptions(EXPORT_OPTIONS, await inputFromFlags(EXPORT_OPTIONS, flags));
      const r = await exportAdapter(await openLibrary(flags), name, { format: o.format, out: flags.out, base: given(o.base), ggufType: o.ggufType, ggufQuant: o.ggufQuant, ollamaBase: given(o.ollamaBase) });
      print(flags, r, () => [`wrote ${r.out}`, ...r.extra.map((f) => `wrote ${f}  (ollama create NAME -f ${f})`)].join('\n'));
    });

  sub('rm <name>', 'move an adapter to the trash (undo: graft adapters restore)').action(async (name: string, flags: Common) => {
    const t = await moveToTrash(await openLibrary(flags), name);
    print(flags, { id: t.meta.id, name: t.meta.name, deletedAt: t.deletedAt }, () => `moved ${t.meta.name} to the trash; undo with: graft adapters restore "${t.meta.name}"`);
  });

  sub('restore [name]', 'bring an adapter back from the trash (default: the last one deleted)').action(async (name: string | undefined, flags: Common) => {
    const e = await restoreFromTrash(await openLibrary(flags), name);
    print(flags, { id: e.meta.id, name: e.meta.name }, () => `restored ${e.meta.name} (${e.meta.id})`);
  });

  sub('rename <name> <new-name>', 'rename an adapter').action(async (name: string, newName: string, flags: Common) => {
    const e = await (await openLibrary(flags)).rename(name, newName);
    print(flags, { id: e.meta.id, name: e.meta.name }, () => `renamed to ${e.meta.name}`);
  });

  sub('tag <name> <tags...>', 'set tags (replaces the existing ones; --add to add)')
    .option('--add', 'add to the existing tags')
    .action(async (name: string, tags: string[], flags: Common & { add?: boolean }) => {
      const lib = await openLibrary(flags);
      const current = flags.add ? (await lib.get(name)).meta.tags : [];
      const e = await lib.setTags(name, [...current, ...tags]);
      print(flags, { id: e.meta.id, tags: e.meta.tags }, () => `${e.meta.name}: ${e.meta.tags.join(', ') || '(no tags)'}`);
    });

  sub('notes <name> <text>', 'set the notes of an adapter').action(async (name: string, text: string, flags: Common) => {
    const e = await (await openLibrary(flags)).setNotes(name, text);
    print(flags, { id: e.meta.id, notes: e.meta.notes }, () => `${e.meta.name}: notes saved`);
  });

  sub('blend <parts...>', 'blend adapters, e.g. graft adapters blend poems:0.5 code:0.5 --name both')
    .requiredOption('--name <name>', 'name of the new adapter')
    .option('--rank <r>', 'compress to rank r by SVD (default: exact, the ranks summed)', intFlag('--rank', 1))
    .action(async (parts: string[], flags: Common & { name: string; rank?: number }) => {
      const { entry, result } = await blendIntoLibrary(await openLibrary(flags), parts.map(parseBlendPart), { name: flags.name, rank: flags.rank });
      print(flags, { id: entry.meta.id, name: entry.meta.name, r: entry.meta.r, mode: result.mode, relativeError: result.relativeError, worst: result.worst }, () =>
        result.mode === 'exact'
          ? `blended into ${entry.meta.name} (${entry.meta.id}): exact, r=${entry.meta.r}`
          : `blended into ${entry.meta.name} (${entry.meta.id}): r=${entry.meta.r}, reconstruction error ${(100 * result.relativeError).toFixed(2)}% (worst ${result.worst?.tensor}: ${(100 * (result.worst?.relativeError ?? 0)).toFixed(2)}%)`,
      );
    });
};
