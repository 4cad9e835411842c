# GPU machine, fresh or warm (carry [".gpu"] from train-prepare.sh): issue 13's rows in ONE call (~400 s), so one
# file covers items 1-5 with PyTorch + PEFT measured in the same call. Nothing runs in the background.
# - the 1.5B first step from an empty graph cache (bf16 files, ORT at the basic level; resident projections, the
#   default) and its warm step: items 1 (1.5B) and 4;
# - 0.5B 1x512 and 8x512 fp16, 0.5B NF4 1x512, the EP's fp16 MatMul rate: items 1 (0.5B), 2 and 3;
# - the 8B QLoRA step with its GPU memory (bench/gpu/qlora-8b.sh): item 5;
# - PyTorch + PEFT on every shape, the 8B included;
# - (FORMS=0 skips it) the LoRA factors' x·Aᵀ as one MatMul, split from 2,048 inputs (the default), split from 512;
# - then `verify-reference --device gpu` while time is left.
# Report: npx tsx bench/gpu/train-report.ts COMMIT ONE=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $P
# first in the log: train-report takes a call's first row as its "empty graph cache" start-up figure
STEP_PRINT_FIRST=1 BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-first timeout 75 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v first_step_only >> $L
rm -rf /tmp/gg-first
source bench/gpu/train-rows.sh
# the LoRA factors' x·Aᵀ split from 2,048 inputs (the default since session 15), against one MatMul and against a
# split from 512 inputs, in turn, all captured (ops/matmul.ts splitInnerForward)
[ "${FORMS:-1}" = 1 ] && for form in "x·Aᵀ one MatMul:0" "x·Aᵀ split from 2048:1" "x·Aᵀ split from 512:all"; do
  echo "== form: ${form%%:*}" >> $L
  left 420 && BENCH_DTYPE=BF16 GRAFT_LORA_SPLIT=${form##*:} timeout 45 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
  left 440 && GRAFT_LORA_SPLIT=${form##*:} timeout 40 node $E step qwen2.5-0.5b 1x512 fp16 >> $L 2>&1
done
echo "== form: end" >> $L
left=$(( 560 - ($(date +%s) - t) )); echo "== verify-reference, $left s left" >> $P
[ $left -gt 60 ] && VERIFY_UNTIL=545 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-300; tail -c 1500 $P; grep '^{"bench"' $OUT/graft-8b.log | cut -c1-300; tail -1 $OUT/verify-gpu.jsonl
