# Issue 18 item 2, step 2 of 2: do Graft's merged exports (a Hugging Face folder, and GGUF in F16, Q8_0 and
# Q4_K_M) load and run outside Graft? Runs on the GPU machine WITHOUT node_modules or tsx:
#   HERE:     bash bench/gpu-checks/merged-export-prepare.sh          (makes .gpu/: Node, onnxruntime-node, the
#                                                                       bundled CLI, llama.cpp's source)
#   DEVICE:   run with carry [".gpu"], timeout 600:  bash bench/gpu-checks/merged-export.sh
# (a fresh machine spends ~270 s building llama.cpp, started first and overlapped with Graft's part; if the call
#  runs out, run the same command again on the warm machine: the build in /tmp/lc is reused). Needs Python with
#  torch + transformers for the Hugging Face half.
# Results under $OUT: checks.txt (one verdict a line), graft.json, transformers.json, llamacpp.txt, *.log.
#
# What it checks:
#  1. Graft (the bundled CLI) trains a small adapter on stories260K (CPU, seconds) into a library, and exports
#     it merged: a Hugging Face folder and three GGUFs, each GGUF with its Ollama Modelfile beside it.
#  2. The folder has tokenizer.json, tokenizer_config.json, special_tokens_map.json, generation_config.json.
#  3. Graft loads every export: greedy tokens of the F16 and Q8_0 GGUFs equal the merged folder's; Q4_K_M's
#     first 8 tokens do (4-bit weights may move a later near-tie).
#  4. transformers loads the folder, tokenizes 4 texts as Graft does, and its greedy continuation equals
#     Graft's (merged folder, and the adapter applied live on the GGUF base).
#  5. llama.cpp's llama-completion runs each GGUF greedily: its text starts with Graft's text from the same
#     file ("ok"); "near" when the first 6 words agree and a later near-tie differs (llama.cpp rounds the
#     activations to 8 bits in its quantized matmuls, Graft does not); FAIL otherwise. And llama.cpp's own
#     convert_hf_to_gguf.py converts the merged folder.
#  6. stories260K's rows (64, 172) are not whole Q4_K blocks, so its Q4_K_M holds Q8_0/F16 only. A random
#     256-wide llama (stories' tokenizer) with a trained adapter is exported in Q4_K_M and F16: llama.cpp runs
#     the Q4_K_M file (as in 5), and llama-quantize's own Q4_K_M of Graft's F16 file has the same type for
#     every tensor as Graft's Q4_K_M (llama.cpp's mix, read with its gguf-py).
set -u
[ -f .gpu/prelude.sh ] && source .gpu/prelude.sh
# the bundle imports onnxruntime-node as an ES module, which resolves from a node_modules folder, not NODE_PATH
[ -e node_modules ] || ln -sfn /tmp/gpu/node_modules node_modules
if [ -f .gpu/cli/graft.mjs ]; then G=(node .gpu/cli/graft.mjs); TOK=(node .gpu/tok-tool.mjs); else G=(node bin/graft.mjs); TOK=(npx tsx bench/gpu-checks/tok-tool.ts); fi
OUT=${OUT:-$(mktemp -d)}; mkdir -p "$OUT"
W=$(mktemp -d)
MODEL=resources/demo/stories260K.gguf
CHECKS=$OUT/checks.txt
: > "$CHECKS"
note() { echo "$1" | tee -a "$CHECKS"; }
# llama.cpp builds in the background (run.sh starts it detached, once) while Graft and transformers work.
LC=/tmp/lc
A=.gpu/llamacpp; [ -f $A/run.sh ] || A=../shared/anchors/llamacpp
if [ ! -x $LC/build/bin/llama-completion ] && [ -f $A/run.sh ]; then BUILD_ONLY=1 WAIT=0 bash $A/run.sh > "$OUT/llamacpp-build-start.log" 2>&1; fi
QUANTS=(F16 Q8_0 Q4_K_M)
PROMPTS=("Tom had" "Lily saw")

python3 - "$W/stories.jsonl" <<'PY'
import json, sys
stories = ["Tom had a red ball. He threw it to his dog. The dog ran and got it. Tom was happy.",
           "Lily saw a big cat. The cat was sad. Lily gave it some milk. The cat smiled.",
           "Ben wanted to fly. He made a kite. The wind took it up high. Ben laughed.",
           "Max lost his hat. He looked under the bed. The hat was there. Max put it on."]
with open(sys.argv[1], "w") as f:
    for s in stories: f.write(json.dumps({"text": s}) + "\n")
PY
LIB=(--library "$W/lib")
"${G[@]}" train --model $MODEL --data "$W/stories.jsonl" "${LIB[@]}" --name stories --out "$W/adapter" --steps 120 --lr 3e-3 --seq-len 48 --device cpu > "$OUT/train.log" 2>&1 || { note "FAIL train (see train.log)"; exit 1; }
"${G[@]}" adapters export stories "${LIB[@]}" --format merged --out "$W/merged" --base $MODEL > "$OUT/export.log" 2>&1 || { note "FAIL merged export (see export.log)"; exit 1; }
for q in "${QUANTS[@]}"; do
  "${G[@]}" adapters export stories "${LIB[@]}" --format merged-gguf --gguf-quant $q --out "$W/merged-$q.gguf" --base $MODEL >> "$OUT/export.log" 2>&1 \
    && note "ok   merged GGUF $q written ($(du -k "$W/merged-$q.gguf" | cut -f1) KiB) with $(ls "$W/merged-$q.Modelfile" 2>/dev/null | xargs -r basename)" \
    || note "FAIL merged GGUF $q export (see export.log)"
done
ls -la "$W" "$W/merged" > "$OUT/files.txt"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json config.json model.safetensors; do
  [ -f "$W/merged/$f" ] && note "ok   merged folder has $f" || note "FAIL merged folder lacks $f"
done

# Graft's greedy answers from every export, and from the adapter applied live on the GGUF base.
gen() { "${G[@]}" generate --model "$1" "${@:3}" --prompt "$2" --max-tokens 40 --temperature 0 --device cpu --json; }
{
  echo '{'
  for i in 0 1; do
    p=${PROMPTS[$i]}
    echo "\"$p\": {\"merged\": $(gen "$W/merged" "$p"), \"live\": $(gen $MODEL "$p" --adapter "$W/adapter")"
    for q in "${QUANTS[@]}"; do echo ", \"gguf-$q\": $(gen "$W/merged-$q.gguf" "$p")"; done
    echo "}$([ $i -eq 0 ] && echo ,)"
  done
  echo '}'
} > "$OUT/graft.json"
python3 - "$OUT/graft.json" <<'PY' | tee -a "$CHECKS"
import json, sys
g = json.load(open(sys.argv[1]))
for p, r in g.items():
    ref = r["merged"]["ids"]
    for q in ("F16", "Q8_0", "Q4_K_M"):
        ids = r[f"gguf-{q}"]["ids"]
        n = min(len(ids), len(ref)) if q != "Q4_K_M" else min(8, len(ref))
        ok = ids[:n] == ref[:n] and n > 0
        print(("ok  " if ok else "FAIL") + f" Graft loads merged-{q}.gguf: greedy from {p!r} equals the merged folder's over {n} tokens")
PY

# The 256-wide model (step 6): a base with Q4_K-sized rows, an adapter trained on it, merged in Q4_K_M and F16.
"${TOK[@]}" wide-base "$W/wide.gguf" $MODEL || note "FAIL writing the 256-wide base"
"${G[@]}" train --model "$W/wide.gguf" --data "$W/stories.jsonl" "${LIB[@]}" --name wide --steps 20 --lr 3e-3 --seq-len 48 --device cpu > "$OUT/train-wide.log" 2>&1 || note "FAIL train on the wide base (see train-wide.log)"
for q in Q4_K_M F16; do
  "${G[@]}" adapters export wide "${LIB[@]}" --format merged-gguf --gguf-quant $q --out "$W/wide-$q.gguf" --base "$W/wide.gguf" >> "$OUT/export.log" 2>&1 || note "FAIL wide merged GGUF $q export"
done
for p in "${PROMPTS[@]}"; do
  echo "{\"$p\": $(gen "$W/wide-Q4_K_M.gguf" "$p")}" >> "$OUT/graft-wide.jsonl"
done

TEXTS='["Once upon a time, Lily saw a cat.", "  two  spaces\nand a newline", "ünïcödé 😀 bytes", "Tom had a red ball."]'
"${TOK[@]}" "$W/merged" "$TEXTS" > "$OUT/graft-tokens.json" || note "FAIL Graft's tokenizer tool (graft-tokens.json)"
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
        print(("ok  " if gen[: len(g)] == g else "FAIL") + f" transformers greedy from {p!r} matches Graft ({kind}, {len(g)} tokens, graft finish {r[kind]['finish']})")
print("info chat_template in tokenizer_config.json:", "chat_template" in json.load(open(f"{d}/tokenizer_config.json")))
json.dump(res, open(f"{out}/transformers.json", "w"), indent=1)
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || note "FAIL the transformers check did not run to the end (its error is above)"

# llama.cpp: each merged GGUF as it is, and its own converter on the merged folder (waits for the build).
if [ ! -x $LC/build/bin/llama-completion ] && [ -f $A/run.sh ]; then BUILD_ONLY=1 bash $A/run.sh > "$OUT/llamacpp-build.log" 2>&1; fi
if [ -x $LC/build/bin/llama-completion ]; then
  : > "$OUT/llamacpp.txt"
  for q in "${QUANTS[@]}"; do
    for p in "${PROMPTS[@]}"; do
      txt=$($LC/build/bin/llama-completion -m "$W/merged-$q.gguf" -p "$p" -n 40 --temp 0 -s 0 -no-cnv 2>>"$OUT/llamacpp-run.log")
      echo "[$q] $p => $txt" >> "$OUT/llamacpp.txt"
      python3 - "$OUT/graft.json" "$q" "$p" "$txt" <<'PY' | tee -a "$CHECKS"
import json, sys
graft, q, p, txt = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
want = graft[p][f"gguf-{q}"]["text"]
txt = txt.lstrip()  # llama-completion echoes the prompt, after a space from the BOS token's piece
got = txt[len(p):] if txt.startswith(p) else txt
norm = lambda s: " ".join(s.split())
if norm(got).startswith(norm(want)): v = "ok  "
elif norm(got).split()[:6] == norm(want).split()[:6]: v = "near"
else: v = "FAIL"
print(f"{v} llama.cpp greedy on merged-{q}.gguf from {p!r}: {norm(got)[:80]!r} vs Graft {norm(want)[:80]!r}")
PY
    done
  done
  for p in "${PROMPTS[@]}"; do
    txt=$($LC/build/bin/llama-completion -m "$W/wide-Q4_K_M.gguf" -p "$p" -n 40 --temp 0 -s 0 -no-cnv 2>>"$OUT/llamacpp-run.log")
    echo "[wide Q4_K_M] $p => $txt" >> "$OUT/llamacpp.txt"
    python3 - "$OUT/graft-wide.jsonl" "$p" "$txt" <<'PY' | tee -a "$CHECKS"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
p, txt = sys.argv[2], sys.argv[3]
want = next(r[p] for r in rows if p in r)["text"]
txt = txt.lstrip()  # llama-completion echoes the prompt, after a space from the BOS token's piece
got = txt[len(p):] if txt.startswith(p) else txt
norm = lambda s: " ".join(s.split())
v = "ok  " if norm(got).startswith(norm(want)) else "near" if norm(got).split()[:6] == norm(want).split()[:6] else "FAIL"
print(f"{v} llama.cpp greedy on the 256-wide Q4_K_M (Q4_K/Q6_K blocks) from {p!r}: {norm(got)[:80]!r} vs Graft {norm(want)[:80]!r}")
PY
  done
  if [ -x $LC/build/bin/llama-quantize ]; then
    $LC/build/bin/llama-quantize "$W/wide-F16.gguf" "$W/wide-llamacpp-Q4_K_M.gguf" Q4_K_M > "$OUT/llama-quantize.log" 2>&1 || note "FAIL llama-quantize on Graft's F16 GGUF (see llama-quantize.log)"
    PYTHONPATH=$LC/src/gguf-py python3 - "$W/wide-Q4_K_M.gguf" "$W/wide-llamacpp-Q4_K_M.gguf" <<'PY' 2>&1 | tee -a "$CHECKS"
import sys
from gguf import GGUFReader
ours, theirs = ({t.name: t.tensor_type.name for t in GGUFReader(f).tensors} for f in sys.argv[1:3])
diff = {n: (ours.get(n), theirs.get(n)) for n in set(ours) | set(theirs) if ours.get(n) != theirs.get(n)}
kinds = sorted(set(ours.values()))
print(("ok  " if not diff else "FAIL") + f" Graft's Q4_K_M has llama-quantize's type for every tensor ({len(ours)} tensors: {', '.join(kinds)})" + (f"; differ: {diff}" if diff else ""))
PY
  fi
  PYTHONPATH=$LC/src/gguf-py python3 $LC/src/convert_hf_to_gguf.py "$W/merged" --outfile "$W/converted-f16.gguf" --outtype f16 > "$OUT/convert.log" 2>&1 \
    && note "ok   llama.cpp's convert_hf_to_gguf.py converted the merged folder" || note "FAIL convert_hf_to_gguf.py on the merged folder (see convert.log)"
else
  note "FAIL llama.cpp: no llama-completion at $LC/build/bin (build log: llamacpp-build.log; needs $A/run.sh)"
fi
rm -rf "$W"
if grep -q FAIL "$CHECKS"; then echo "some checks failed"; exit 1; fi
echo "all checks passed"
