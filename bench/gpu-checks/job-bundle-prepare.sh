#!/usr/bin/env bash
# Issue 19/20, step 1 of 3 — HERE (a machine with Node and this checkout), before the GPU run:
#   - the stories260K name task (Zara, 40 steps, the settings of test/engine/train-loop/stories-name.test.ts)
#     exported with `graft job export` to .gpu/job/bundle (1 process) and .gpu/job/bundle-ga2 (batch 2 × 2
#     accumulation: the same 4 rows per step, shareable by 2 processes);
#   - Graft's own local run of the same settings on the CPU, its JSON lines in .gpu/job/local.jsonl;
#   - for the 2-GPU script: node, onnxruntime-node (../shared/gpu/prepare.sh), the engine's job tools bundled
#     to .gpu/graft-job.cjs, SmolLM2's tokenizer in .gpu/job/tok.
# Then: run bench/gpu-checks/job-bundle-1gpu.sh (or -fsdp-2gpu.sh) on the GPU machine with carry [".gpu"].
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
MODEL="${GRAFT_STORIES:-../shared/models/stories260K/stories260K.gguf}"
W=.gpu/job
rm -rf "$W"
mkdir -p "$W"
node -e '
const places = ["park", "garden", "forest", "beach", "house", "school"];
const things = ["ball", "kite", "cat", "flower", "box", "bird"];
const s = [];
for (let i = 0; i < 48; i++)
  s.push(`Once upon a time, there was a little girl named Zara. Zara loved to play in the ${places[i % 6]}. One day, Zara saw a big ${things[(i * 5) % 6]}. Zara was very happy.`);
process.stdout.write(s.join("\n\n") + "\n");' > "$W/zara.txt"
FLAGS=(--model "$MODEL" --data "$W/zara.txt" --steps 40 --seq-len 64 --lr 5e-3 --rank 8 --warmup 4 --val-split 0.1 --eval-every 20 --seed 0)
node bin/graft.mjs job export "${FLAGS[@]}" --batch 4 --out "$W/bundle" --name zara-remote
node bin/graft.mjs job export "${FLAGS[@]}" --batch 2 --grad-accum 2 --out "$W/bundle-ga2" --name zara-remote-2gpu
node bin/graft.mjs train "${FLAGS[@]}" --batch 4 --out "$W/local-adapter" --device cpu --json > "$W/local.jsonl"
node bin/graft.mjs train "${FLAGS[@]}" --batch 2 --grad-accum 2 --out "$W/local-adapter-ga2" --device cpu --json > "$W/local-ga2.jsonl"
cp -r ../shared/models/smollm2-135m-instruct-tokenizer "$W/tok"
# Node and onnxruntime-node for the GPU machine (only the 2-GPU script's Qwen part needs them).
bash ../shared/gpu/prepare.sh > /dev/null || echo "job-bundle-prepare: ../shared/gpu/prepare.sh failed; the 2-GPU script's Qwen part will not run" >&2
npx esbuild bench/gpu-checks/job-tools.ts --bundle --platform=node --format=cjs --target=node20 --external:onnxruntime-node --outfile=.gpu/graft-job.cjs --log-level=warning
du -sh .gpu "$W"
