# GPU machine, first of two back-to-back device calls (see docs/gpu-speed.md): starts llama.cpp's CUDA
# build in the background, then measures Graft's start-up from an empty graph cache (the "first time")
# and again from a warm one in a new process, and makes the random-init bench models.
source .gpu/prelude.sh
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm GRAFT_GRAPH_CACHE=/tmp/graft-graphs
E=.gpu/gpu-explore.cjs; L=$OUT/graft-a.log
BUILD_ONLY=1 WAIT=0 nice -n 10 bash .gpu/llamacpp/run.sh > /dev/null 2>&1
if [ "${DECODE_ONLY:-0}" = 1 ]; then (nice -n 10 bash bench/gpu/peer-q4.sh > /tmp/lc/peer-q4.log 2>&1 &)
else (nice -n 10 python3 .gpu/llamacpp/make_models.py /tmp/lc/models /tmp/lc/src .gpu/llamacpp/tokenizer > /tmp/lc/models.log 2>&1 &); fi
t=$(date +%s)
echo "== cold graph cache (first time): decode" >> $L
timeout 300 node $E decode ${COLD_MODELS:-stories260K smollm2-135m qwen2.5-0.5b qwen2.5-1.5b} >> $L 2>&1
echo "== warm graph cache (second time), new process: decode" >> $L
timeout 120 node $E decode qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
# DECODE_ONLY=1: the decode rows alone (a change that touches no training graph), and the job bundle's
# one-GPU check (bench/gpu-checks/job-bundle-1gpu.sh, when .gpu/job exists) while llama.cpp builds.
if [ "${DECODE_ONLY:-0}" != 1 ]; then
  echo "== cold: training step 1.5B fp16 1x512 (first step after start)" >> $L
  timeout 150 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
elif [ -d .gpu/job/bundle ]; then
  # Few files come back from a device call: the adapter folder as one archive, the comparison beside it.
  OUT=/tmp/jobout timeout 240 bash bench/gpu-checks/job-bundle-1gpu.sh > $OUT/job.log 2>&1; echo "job rc $?" >> $OUT/job.log
  tar czf $OUT/fsdp-bf16.tgz -C /tmp/jobout fsdp-bf16 fsdp-fp32.log fsdp-bf16.log 2>/dev/null; cp /tmp/jobout/equivalence.json $OUT/ 2>/dev/null
fi
echo "elapsed $(( $(date +%s) - t ))" >> $L
grep -v '^\[' $L | cut -c1-1500
