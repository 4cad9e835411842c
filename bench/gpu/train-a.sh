# GPU machine, first of two back-to-back device calls for issue 13 (training against PyTorch + PEFT):
# Graft's training rows, the EP's own GEMM ceiling, `verify-reference --device gpu` on every golden; the CPU-side
# checks of issues 16 and 18 (PEFT composition, merged exports with llama.cpp's own build) run nice'd beside them
# and are collected by train-b.sh. Prepare here with `bash bench/gpu/train-prepare.sh`; device call with carry [".gpu"].
source .gpu/prelude.sh
ln -sfn /tmp/gpu/node_modules node_modules   # the ESM bundles resolve onnxruntime-node (and koffi) from here
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm GRAFT_GRAPH_CACHE=/tmp/graft-graphs
E=.gpu/gpu-explore.cjs; L=$OUT/train-a.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/device.txt
mkdir -p /tmp/merged /tmp/peft
(OUT=/tmp/merged nice -n 10 bash bench/gpu-checks/merged-export.sh > /tmp/merged/run.log 2>&1; echo "rc $?" >> /tmp/merged/run.log) &
(OUT=/tmp/peft nice -n 10 bash bench/gpu-checks/methods-composition-peft.sh > /tmp/peft/run.log 2>&1; echo "rc $?" >> /tmp/peft/run.log) &
t=$(date +%s)
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 150 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== the EP's GEMM ceiling at the steps' shapes" >> $L
timeout 90 node $E gemm >> $L 2>&1
echo "== warm: training rows" >> $L
timeout 100 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
for p in nf4 nf4-fp16 int4-fp16; do timeout 90 node $E step qwen2.5-0.5b 1x512 $p >> $L 2>&1; done
timeout 120 node $E step qwen2.5-1.5b 1x512 nf4-fp16 >> $L 2>&1
echo "graft elapsed $(( $(date +%s) - t ))" >> $L
# ORT's per-op profile of two steps (the largest profile file of each run is its step session's)
mkdir -p /tmp/prof
for run in "8x512 fp16" "1x512 nf4-fp16"; do
  set -- $run; GRAFT_ORT_PROFILE=/tmp/prof/$2-$1 timeout 120 node $E step qwen2.5-0.5b $1 $2 > /dev/null 2>&1
  f=$(ls -S /tmp/prof/$2-$1*.json 2> /dev/null | head -1); [ -n "$f" ] && python3 bench/ort-profile-summary.py $f > $OUT/profile-qwen05b-$2-$1.json
done
echo "profiles elapsed $(( $(date +%s) - t ))" >> $L
# Exactness on the same GPU: every golden through the bundled CLI, CPU fallback disabled.
V=$OUT/verify-gpu.jsonl; : > $V; ok=0; n=0
for d in .gpu/shared/fixtures/hf-reference/* .gpu/shared/fixtures/hf-reference-more/* .gpu/shared/fixtures/peft-methods/*; do
  [ -d "$d" ] || continue; n=$((n + 1))
  if line=$(timeout 45 node .gpu/cli/graft.mjs verify-reference "$d" --device gpu 2> /tmp/err.txt); then ok=$((ok + 1)); fi
  [ -n "$line" ] || line="{\"error\":$(python3 -c 'import json,sys;print(json.dumps(open(sys.argv[1]).read()[-300:]))' /tmp/err.txt)}"
  echo "{\"fixture\":\"$d\",\"report\":$line}" >> $V
done
echo "{\"ok\":$ok,\"total\":$n,\"device\":\"$(cat $OUT/device.txt)\"}" >> $V
echo "total elapsed $(( $(date +%s) - t ))" >> $L
grep -v '^\[' $L | cut -c1-1200; tail -1 $V
