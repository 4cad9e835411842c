# GPU machine, one device call (issue 13 item 5): QLoRA NF4 at Llama-3.1-8B's shapes, batch 1 × 1024, LoRA r=16
# on all 7 projections, from random codes (bench/qlora-8b.ts), with this process's GPU memory read through
# VK_EXT_memory_budget (bench/gpu-memory.ts) and the engine's own memory estimate beside it.
#   here:   bash bench/gpu/prepare.sh          (makes .gpu/, with gpu-explore.cjs and koffi.tar.xz)
#   device: run(command="GRAFT_COMMIT=<short sha> bash bench/gpu/qlora-8b.sh", timeout_s=600,
#           carry=[".gpu/node.xz", ".gpu/ort.tar.xz", ".gpu/debs", ".gpu/prelude.sh", ".gpu/gpu-explore.cjs", ".gpu/koffi.tar.xz"])
#   (about 38 MB carried; train-b.sh calls it too, with train-prepare.sh's carry). The 4-bit weights are multiplied
#   in fp16 (the engine's `precision: fp16`, its fast path on a GPU). QLORA_ARGS replaces the run's flags, e.g.
#   "--checkpoint" (activation checkpointing: the least memory), "--precision fp32", "--embeddings int8" (8-bit
#   tables), "--scheme int4" or "--shape qwen2.5-1.5b"; STEPS
#   (default 3) the number of steps; BUDGET (default 590) the seconds the whole script may take: under an outer
#   `timeout`, set it a little lower, so node is stopped by this script's own timeout and leaves the GPU free.
# Writes $OUT/qlora-8b.log (progress, nvidia-smi) and $OUT/qlora-8b-<shape>-<scheme>-<tables>-<date>.json.
source .gpu/prelude.sh
[ -f .gpu/commit ] && export GRAFT_COMMIT=${GRAFT_COMMIT:-$(cat .gpu/commit)}
[ -d /tmp/gpu/node_modules/koffi ] || tar -xJf .gpu/koffi.tar.xz -C /tmp/gpu/node_modules
export GRAFT_ROOT=$PWD GRAFT_GRAPH_CACHE=/tmp/graft-graphs GRAFT_BENCH_OUT=$OUT
E=.gpu/gpu-explore.cjs; L=$OUT/qlora-8b.log
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader > $L
t=$(date +%s)
echo "== probe check: a 256 MiB initializer as the probe sees it" >> $L
timeout 40 node $E memprobe >> $L 2>&1
echo "== qlora8b ${QLORA_ARGS:-}" >> $L
# nvidia-smi beside the probe, for the record (it is expected to show little or nothing of Vulkan's allocations)
(while sleep 5; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; done > $OUT/nvidia-smi-used.log 2>&1) & NS=$!
trap 'kill $NS 2>/dev/null' EXIT
# QLORA_ARGS first: a flag's first occurrence is the one read
B=${BUDGET:-590}
timeout $(( B - ($(date +%s) - t) )) node $E qlora8b ${QLORA_ARGS:-} --shape llama3.1-8b --scheme nf4 --precision fp16 --embeddings fp16 --checkpoint --seq 1024 --steps ${STEPS:-3} >> $L 2>&1
rc=$?
echo "rc $rc elapsed $(( $(date +%s) - t )) s" >> $L
# fp32-held tables of 2.1 GB are bound as segments of maxStorageBufferRange, 16 storage buffers per shader at
# most: where that refuses them (lavapipe's 128 MiB ranges do), the same run with 8-bit tables, if time is left.
left=$(( B - ($(date +%s) - t) ))
if [ $rc -ne 0 ] && [ -z "${QLORA_ARGS:-}" ] && [ $left -gt 240 ]; then
  echo "== qlora8b --embeddings int8 (the fp16-table run failed)" >> $L
  timeout $left node $E qlora8b --embeddings int8 --shape llama3.1-8b --scheme nf4 --precision fp16 --checkpoint --seq 1024 --steps ${STEPS:-3} >> $L 2>&1
  echo "rc $? elapsed $(( $(date +%s) - t )) s" >> $L
fi
echo "nvidia-smi max used MiB: $(sort -n $OUT/nvidia-smi-used.log | tail -1)" >> $L
# JSON lines whole (bench/gpu/train-report.ts reads them from this output), the rest cut short
grep -v '^Warning' $L | awk '/^\{/ { print; next } { print substr($0, 1, 1500) }'
