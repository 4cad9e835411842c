# GPU machine, call 2 of 2 for issue 13, carry [".gpu"]: Graft's QLoRA step at Llama-3.1-8B shapes with its GPU
# memory beside PyTorch + PEFT's bf16 LoRA of the same shapes (same call), ORT's per-op profile of two steps, and
# `verify-reference --device gpu` on every golden (CPU fallback disabled).
source .gpu/prelude.sh
ln -sfn /tmp/gpu/node_modules node_modules
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm GRAFT_GRAPH_CACHE=/tmp/graft-graphs
E=.gpu/gpu-explore.cjs; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
timeout ${GRAFT_8B_TIMEOUT:-240} bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
timeout 150 python3 bench/gpu/peer-8b-lora.py >> $P 2> $OUT/peer-8b.err; echo "peer 8b rc $? after $(( $(date +%s) - t )) s" >> $P
# ORT's per-op profile of two steps (the largest profile file of each run is its step session's)
mkdir -p /tmp/prof
for run in "8x512 fp16" "1x512 nf4-fp16"; do
  set -- $run; GRAFT_ORT_PROFILE=/tmp/prof/$2-$1 timeout 120 node $E step qwen2.5-0.5b $1 $2 > /dev/null 2>&1
  f=$(ls -S /tmp/prof/$2-$1*.json 2> /dev/null | head -1); [ -n "$f" ] && python3 bench/ort-profile-summary.py $f > $OUT/profile-qwen05b-$2-$1.json
done
echo "profiles done after $(( $(date +%s) - t )) s" >> $P
V=$OUT/verify-gpu.jsonl; : > $V; ok=0; n=0
for d in .gpu/shared/fixtures/hf-reference/* .gpu/shared/fixtures/hf-reference-more/* .gpu/shared/fixtures/peft-methods/*; do
  [ -d "$d" ] || continue; n=$((n + 1))
  if line=$(timeout 45 node .gpu/cli/graft.mjs verify-reference "$d" --device gpu 2> /tmp/err.txt); then ok=$((ok + 1)); fi
  [ -n "$line" ] || line="{\"error\":$(python3 -c 'import json,sys;print(json.dumps(open(sys.argv[1]).read()[-300:]))' /tmp/err.txt)}"
  echo "{\"fixture\":\"$d\",\"report\":$line}" >> $V
done
echo "{\"ok\":$ok,\"total\":$n,\"device\":\"$(head -1 $P)\"}" >> $V
echo "total $(( $(date +%s) - t )) s" >> $P
tail -5 $OUT/graft-8b.log; tail -c 1500 $P; tail -1 $V
