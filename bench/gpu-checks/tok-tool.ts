/**
 * Engine helpers as commands, for GPU-machine checks that run without tsx (bundled by merged-export-prepare.sh to
 * .gpu/tok-tool.mjs):
 *   node .gpu/tok-tool.mjs MODEL '["text", ...]'     the ids of each text (with the model's special tokens), as JSON
 *   node .gpu/tok-tool.mjs wide-base OUT.gguf FROM    a random llama GGUF with rows of 256 (Q4_K blocks) and FROM's tokenizer
 */
import { openModelSource } from '../../src-main/engine/io/model-source.js';
import { writeWideLlamaGguf } from '../../src-main/engine/models/random-gguf.js';

const [first, ...rest] = process.argv.slice(2);
if (first === 'wide-base') {
  await writeWideLlamaGguf(rest[0], rest[1]);
} else {
  const source = await openModelSource(first);
  const tok = await source.tokenizer();
  if (!tok) throw new Error(`${first}: no tokenizer`);
  console.log(JSON.stringify((JSON.parse(rest[0]) as string[]).map((t) => tok.encode(t, { addSpecial: true }))));
  source.close();
}
