/** `graft chat`: an interactive chat that keeps its history; /adapter switches adapters between turns. */
import readline from 'node:readline/promises';
import { chatRenderer, chatStops } from '../../engine/data/chat-template.js';
import type { ChatMessage } from '../../engine/data/types.js';
import { GraftError, toErrorData } from '../../engine/errors.js';
import { generate } from '../../engine/infer/generate.js';
import type { RowAdapter } from '../../engine/adapters/row-lora.js';
import { loadModel } from '../../engine/model.js';
import { resolveDevice } from '../../engine/runtime/device.js';
import { textEndToken } from '../../engine/train/end-token.js';
import { collect, parseAdapterArg } from './adapter-arg.js';
import { addGenerationFlags, generationFlags, type GenerationFlags, samplingOf } from './engine.js';
import type { CommandRegistrar } from './index.js';

const HELP = `commands: /adapter REF[:SCALE] (switch; repeat the command to stack), /base (no adapter), /system TEXT, /reset, /exit`;

export const registerChat: CommandRegistrar = (program) => {
  addGenerationFlags(program.command('chat').description('chat with a model in the terminal; /adapter NAME switches adapters'))
    .option('--adapter <ref[:scale]>', 'start with this adapter (folder or library name)', collect)
    .option('--library <dir>', 'adapter library for adapter names')
    .action(async (flags: GenerationFlags & { library?: string }) => {
      const f = await generationFlags(flags);
      const model = await loadModel(f.model);
      const device = await resolveDevice(f.device);
      const tokenizer = await model.source.tokenizer();
      if (!tokenizer) throw new GraftError('NOT_FOUND', `${model.source.path}: the model has no tokenizer to chat with`, { file: model.source.path });
      const render = chatRenderer(tokenizer, { warn: (m) => console.error(`warning: ${m}`), endToken: textEndToken(model.source, model.spec, tokenizer).id });
      let adapters: (RowAdapter & { label: string })[] = await Promise.all((f.adapter ?? []).map((a) => parseAdapterArg(a, f.library)));
      let history: ChatMessage[] = f.system ? [{ role: 'system', content: f.system }] : [];
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
      console.log(`${model.spec.arch} on ${device.name}. ${HELP}`);
      let busy: AbortController | null = null;
      rl.on('SIGINT', () => (busy ? busy.abort() : rl.close()));
      const prompt = () => process.stdout.write(`[${adapters.length ? adapters.map((a) => a.label).join('+') : 'base'}] you> `);
      prompt();
      // Iterating the interface buffers lines typed (or piped) while a reply is being generated.
      for await (const raw of rl) {
        const line = raw.trim();
        if (!line) {
          prompt();
          continue;
        }
        try {
          if (line === '/exit' || line === '/quit') break;
          if (line === '/help') console.log(HELP);
          else if (line === '/base') adapters = [];
          else if (line === '/reset') history = history.filter((m) => m.role === 'system');
          else if (line.startsWith('/system ')) history = [{ role: 'system', content: line.slice(8) }, ...history.filter((m) => m.role !== 'system')];
          else if (line.startsWith('/adapter ')) adapters = [await parseAdapterArg(line.slice(9).trim(), f.library)];
          else if (line.startsWith('/')) console.log(`unknown command. ${HELP}`);
          else {
            history.push({ role: 'user', content: line });
            const ids = tokenizer.encode(render.render(history, true), { addSpecial: false });
            busy = new AbortController();
            process.stdout.write('assistant> ');
            const [r] = await generate({
              model, device, tokenizer, prompt: ids, variants: [{ adapters }], maxTokens: f.maxTokens, sampling: samplingOf(f), stop: f.stop, endOfTurn: chatStops(tokenizer, render), overflow: 'truncate', signal: busy.signal, precision: f.precision,
              onToken: (_v, t) => process.stdout.write(t.text),
            });
            busy = null;
            process.stdout.write(r.finish === 'cancelled' ? ' [stopped]\n' : '\n');
            history.push({ role: 'assistant', content: r.text });
          }
        } catch (err) {
          busy = null;
          console.error(`error: ${toErrorData(err).message}`);
        }
        prompt();
      }
      rl.close();
    });
};
