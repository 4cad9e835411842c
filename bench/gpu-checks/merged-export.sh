# Issue 18 item 2: does a merged export from a GGUF base load and run outside Graft?
# Run from the repository root on the GPU machine: bash bench/gpu-checks/merged-export.sh
# Needs Node (.gpu/prelude.sh), Python with torch + transformers, and for the llama.cpp half the source tarball
# at ../shared/anchors/llamacpp (built by its run.sh with BUILD_ONLY=1; skipped with a note when absent).
# Results under $OUT: graft.json, transformers.json, llamacpp.txt and a one-line verdict per check in checks.txt.
#
# What it checks:
#  1. Graft trains a small adapter on the demo model (stories260K.gguf, CPU, seconds), and exports it merged.
#  2. The merged folder has tokenizer.json, tokenizer_config.json, special_tokens_map.json, generation_config.json.
#  3. transformers loads it (AutoTokenizer + AutoModelForCausalLM), tokenizes 4 texts exactly as Graft does,
#     and its greedy continuation of 2 prompts equals Graft's (merged folder, and adapter applied live on the
#     GGUF base), compared over the tokens Graft produced (Graft stops at BOS/EOS, transformers at EOS only).
#  4. llama.cpp's convert_hf_to_gguf.py turns the merged folder into an F16 GGUF, and llama-completion's greedy
#     text for the same prompts starts with Graft's.
set -u
[ -f .gpu/prelude.sh ] && source .gpu/prelude.sh
OUT=${OUT:-$(mktemp -d)}; mkdir -p "$OUT"
W=$(mktemp -d)
MODEL=resources/demo/stories260K.gguf
CHECKS=$OUT/checks.txt
: > "$CHECKS"
note() { echo "$1" | tee -a "$CHECKS"; }

python3 - "$W/stories.jsonl" <<'PY'
import json, sys
stories = ["Tom had a red ball. He threw it to his dog. The dog ran and got it. Tom was happy.",
           "Lily saw a big cat. The cat was sad. Lily gave it some milk. The cat smiled.",
           "Ben wanted to fly. He made a kite. The wind took it up high. Ben laughed.",
           "Max lost his hat. He looked under the bed. The hat was there. Max put it on."]
with open(sys.argv[1], "w") as f:
    for s in stories: f.write(json.dumps({"text": s}) + "\n")
PY
node bin/graft.mjs train --model $MODEL --data "$W/stories.jsonl" --out "$W/adapter" --steps 120 --lr 3e-3 --seq-len 48 --device cpu > "$OUT/train.log" 2>&1 || { note "FAIL train (see train.log)"; exit 1; }
node bin/graft.mjs adapters import "$W/adapter" --library "$W/lib" --name stories --base $MODEL > /dev/null || { note "FAIL import"; exit 1; }
node bin/graft.mjs adapters export stories --library "$W/lib" --format merged --out "$W/merged" --base $MODEL > "$OUT/export.log" 2>&1 || { note "FAIL merged export (see export.log)"; exit 1; }
ls "$W/merged" | tee "$OUT/merged-files.txt"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json config.json model.safetensors; do
  [ -f "$W/merged/$f" ] && note "ok   merged folder has $f" || note "FAIL merged folder lacks $f"
done

# Graft's own answers: greedy ids from the merged folder and from the live adapter on the GGUF base.
PROMPTS=("Tom had" "Lily saw")
{
  echo '{'
  for i in 0 1; do
    p=${PROMPTS[$i]}
    m=$(node bin/graft.mjs generate --model "$W/merged" --prompt "$p" --max-tokens 40 --temperature 0 --device cpu --json)
    a=$(node bin/graft.mjs generate --model $MODEL --adapter "$W/adapter" --prompt "$p" --max-tokens 40 --temperature 0 --device cpu --json)
    echo "\"$p\": {\"merged\": $m, \"live\": $a}$([ $i -eq 0 ] && echo ,)"
  done
  echo '}'
} > "$OUT/graft.json"
cat > "$W/tok.mts" <<'TS'
import { loadTokenizer } from './src-main/engine/tokenize/load.ts';
const tok = (await loadTokenizer(process.argv[2]))!;
const texts = JSON.parse(process.argv[3]) as string[];
console.log(JSON.stringify(texts.map((t) => tok.encode(t, { addSpecial: true }))));
TS
cp "$W/tok.mts" ./.tok-check.mts
TEXTS='["Once upon a time, Lily saw a cat.", "  two  spaces\nand a newline", "ünïcödé 😀 bytes", "Tom had a red ball."]'
node --import tsx ./.tok-check.mts "$W/merged" "$TEXTS" > "$OUT/graft-tokens.json"; rm -f ./.tok-check.mts

python3 - "$W/merged" "$OUT" "$TEXTS" <<'PY' 2>&1 | tee -a "$CHECKS"
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
d, out, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tok = AutoTokenizer.from_pretrained(d)
model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
graft_tokens = json.load(open(f"{out}/graft-tokens.json"))
graft = json.load(open(f"{out}/graft.json"))
res = {"tokens": [], "generate": {}}
for t, g in zip(texts, graft_tokens):
    ids = tok(t)["input_ids"]
    res["tokens"].append({"text": t, "transformers": ids, "graft": g})
    print(("ok  " if ids == g else "FAIL") + f" transformers tokenizes {t!r} as Graft does")
for p, r in graft.items():
    ids = tok(p, return_tensors="pt")["input_ids"]
    gen = model.generate(ids, max_new_tokens=40, do_sample=False)[0, ids.shape[1]:].tolist()
    res["generate"][p] = gen
    for kind in ("merged", "live"):
        g = r[kind]["ids"]
        same = gen[: len(g)] == g
        print(("ok  " if same else "FAIL") + f" transformers greedy from {p!r} matches Graft ({kind}, {len(g)} tokens, graft finish {r[kind]['finish']})")
print("info chat_template in tokenizer_config.json:", "chat_template" in json.load(open(f"{d}/tokenizer_config.json")))
json.dump(res, open(f"{out}/transformers.json", "w"), indent=1)
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || note "FAIL the transformers check did not run to the end (its error is above)"

# llama.cpp: convert the merged folder with its own converter and run it.
LC=/tmp/lc
A=shared/anchors/llamacpp; [ -d $A ] || A=../shared/anchors/llamacpp
if [ ! -x $LC/build/bin/llama-completion ] && [ -f $A/run.sh ]; then BUILD_ONLY=1 bash $A/run.sh > "$OUT/llamacpp-build.log" 2>&1; fi
if [ -x $LC/build/bin/llama-completion ]; then
  PYTHONPATH=$LC/src/gguf-py python3 $LC/src/convert_hf_to_gguf.py "$W/merged" --outfile "$W/merged-f16.gguf" --outtype f16 > "$OUT/convert.log" 2>&1 \
    && note "ok   llama.cpp's convert_hf_to_gguf.py converted the merged folder" || note "FAIL convert_hf_to_gguf.py (see convert.log)"
  : > "$OUT/llamacpp.txt"
  for p in "${PROMPTS[@]}"; do
    txt=$($LC/build/bin/llama-completion -m "$W/merged-f16.gguf" -p "$p" -n 40 --temp 0 -no-cnv 2>/dev/null)
    echo "$p => $txt" >> "$OUT/llamacpp.txt"
    want=$(python3 -c "import json,sys; print(sys.argv[1] + ' ' + json.load(open('$OUT/graft.json'))[sys.argv[1]]['merged']['text'])" "$p")
    case "$txt" in "$want"*) note "ok   llama.cpp greedy from '$p' starts with Graft's text";; *) note "FAIL llama.cpp greedy from '$p': '$txt' vs Graft '$want'";; esac
  done
else
  note "FAIL llama.cpp: no llama-completion at $LC/build/bin (build log: llamacpp-build.log; needs $A/run.sh)"
fi
rm -rf "$W"
if grep -q FAIL "$CHECKS"; then echo "some checks failed"; exit 1; fi
echo "all checks passed"
