# GPU machine, alone, the shortest form of s10-d.sh (the session's device time nearly spent): Qwen2.5-0.5B shapes only,
# split-K against plain MatMuls (and split everywhere), then the fused 4-bit ops against none (and the MLP op only),
# alternating in one process each. Carry [".gpu"].
source bench/gpu/device-env.sh
L=$OUT/ab.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
timeout 40 node $E models qwen2.5-0.5b >> $L 2>&1
timeout 90 node $E decode-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
timeout 70 node $E packed-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
grep -v '^\[' $L | cut -c1-900
