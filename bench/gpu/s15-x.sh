# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~330 s, nothing in the background: this
# session's two split products measured against the forms before them, in one process each, and GPU profiles.
# - the training step with the LoRA factors' x·Aᵀ split (ops/matmul.ts splitInnerForward, the default now) against
#   one MatMul (GRAFT_LORA_SPLIT=0), both captured, 1.5B and 0.5B 1×512, in turn;
# - 4 rows side by side with the adapter rows' x·Aᵀ split (fused-lora.ts loraSlices) against one batched MatMul
#   (gpu-explore lorasplit-ab, 3 rounds);
# - GPU-timestamp profiles (op by op: ORT's profiler does not see replays): the 1.5B 1×512 step, the 0.5B decode
#   one row and 4 rows.
source bench/gpu/device-env.sh
L=$OUT/x.log; t=$(date +%s); mkdir -p /tmp/prof
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for round in 1 2; do
  for form in one split; do
    sp=1; [ $form = one ] && sp=0
    echo "== form: x·Aᵀ $form, round $round" >> $L
    left 250 && BENCH_DTYPE=BF16 GRAFT_LORA_SPLIT=$sp timeout 45 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
    left 270 && GRAFT_LORA_SPLIT=$sp timeout 40 node $E step qwen2.5-0.5b 1x512 fp16 >> $L 2>&1
  done
done
echo "== form: end" >> $L; echo "train A/B elapsed $(( $(date +%s) - t ))" >> $L
left 330 && timeout $(( 420 - ($(date +%s) - t) )) node $E lorasplit-ab qwen2.5-0.5b >> $L 2>&1
echo "decode A/B elapsed $(( $(date +%s) - t ))" >> $L
sum() { p=$(ls -S /tmp/prof/$1*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs $2 --shapes 40 > $OUT/profile-$1.json; }
left 480 && BENCH_DTYPE=BF16 GRAFT_GRAPH_CAPTURE=0 GRAFT_ORT_PROFILE=/tmp/prof/step15 timeout 50 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1; sum step15 4
left 520 && GRAFT_GRAPH_CAPTURE=0 timeout 40 node $E decode-profile /tmp/prof/dec1 qwen2.5-0.5b >> $L 2>&1; sum dec1 126
left 550 && GRAFT_GRAPH_CAPTURE=0 timeout 40 node $E decode-profile /tmp/prof/dec4 --rows4 qwen2.5-0.5b >> $L 2>&1; sum dec4 126
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-400; for f in $OUT/profile-*.json; do echo "== $f"; head -c 1500 $f; done
