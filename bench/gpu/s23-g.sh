# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~3 min, nothing in the background (session 23's
# call G): greedy chains of 16 and 32 steps, now run in rounds over 8 captures (decode-capture.ts CHAIN_SLOTS),
# against chains of 8 (gpu-explore chain-ab: 3 rounds alternating in one process), 0.5B.
source bench/gpu/device-env.sh
L=$OUT/g.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
echo "== chain-ab qwen2.5-0.5b at $(( $(date +%s) - t ))" >> $L
timeout 150 node $E chain-ab qwen2.5-0.5b 2>&1 | grep -v Warning | grep round >> $L
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
