/**
 * Graft's tokenizer from the command line, for GPU-machine checks that run without tsx (bundled by
 * merged-export-prepare.sh to .gpu/tok-tool.mjs):  node .gpu/tok-tool.mjs MODEL '["text", ...]'
 * prints the ids of each text (with the model's special tokens) as one JSON array.
 */
import { openModelSource } from '../../src-main/engine/io/model-source.js';

const [model, texts] = process.argv.slice(2);
const source = await openModelSource(model);
const tok = await source.tokenizer();
if (!tok) throw new Error(`${model}: no tokenizer`);
console.log(JSON.stringify((JSON.parse(texts) as string[]).map((t) => tok.encode(t, { addSpecial: true }))));
source.close();
