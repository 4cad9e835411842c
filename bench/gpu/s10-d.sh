# GPU machine, alone (nothing in the background): this pass's changes against the path before in one process,
# alternating (bench/gpu-explore.ts decode-ab / packed-ab): split-K projections against plain MatMuls (fp32 bases,
# one row and 4 rows), ORT's fused 4-bit ops against none (symmetric 4-bit base). Call s10-b ran them in separate
# processes while llama.cpp built and converted beside them, which left them incomparable. Carry [".gpu"].
source bench/gpu/device-env.sh
L=$OUT/ab.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
timeout 40 node $E models qwen2.5-0.5b >> $L 2>&1
timeout 90 node $E decode-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 200 && timeout 70 node $E packed-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 230 && timeout 60 node $E models smollm2-135m >> $L 2>&1 && timeout 60 node $E decode-ab smollm2-135m >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 280 && timeout 90 node $E packed-ab qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 330 && timeout 60 node $E models qwen2.5-1.5b >> $L 2>&1 && timeout 100 node $E decode-ab qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
grep -v '^\[' $L | cut -c1-700
