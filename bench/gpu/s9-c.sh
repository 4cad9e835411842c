# GPU machine, one call with nothing else running beside (calls A and B had llama.cpp's build and the 8B
# conversion in the background): every training row beside PyTorch + PEFT (8B included), the EP's fp16 MatMul
# rate, the 1.5B first step from an empty graph cache on fp32 files and on bf16 files (as real checkpoints
# ship), the 8B step's GPU memory, then Graft's decode from an empty graph cache with the Chat's sampling.
# carry [".gpu"] without .gpu/shared/fixtures. Report: npx tsx bench/gpu/train-report.ts COMMIT C=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; D=$OUT/graft-decode.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
BENCH_DTYPE=BF16 timeout 60 node $E models qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache, fp32 files" >> $L
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== cold: the same from bf16 files" >> $L
BENCH_DTYPE=BF16 timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== cold: the same from bf16 files, ORT's graph optimizations at the basic level (a graph cache of its own)" >> $L
BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-basic timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
source bench/gpu/train-rows.sh
left=$(( 560 - ($(date +%s) - t) )); echo "== decode, empty graph cache, $left s left" >> $D
[ $left -gt 30 ] && timeout $left node $E decode smollm2-135m qwen2.5-0.5b qwen2.5-1.5b >> $D 2>&1
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-300; grep -v '^\[' $D | cut -c1-200; tail -c 1200 $P; grep '^{"bench"' $OUT/graft-8b.log | cut -c1-200
