# Ran at e5b7f31 (the one-token graph the default there; GRAFT_ONE_TOKEN=1 opts in since). GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~8 min, nothing in the background (session 24's
# call D): one row's captured steps replayed from a one-token graph of static shapes (no split-K input transposes)
# over the any-length graph's weights, shared on the device (runtime/shared-weights.ts), against the any-length graph
# replaying them (GRAFT_ONE_TOKEN=0): first the GPU memory a 1.5B one-row decode holds each way (one process each,
# nvidia-smi's memory.used sampled every 0.2 s: the weights must be there once), then gpu-explore one-token-ab (3
# rounds alternating in one process) on 0.5B, 135M, 1.5B.
source bench/gpu/device-env.sh
L=$OUT/d.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 60 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for arm in 1 0 1 0; do
  echo "== memory GRAFT_ONE_TOKEN=$arm at $(( $(date +%s) - t ))" >> $L
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > $OUT/mem-$arm.csv 2>&1 & S=$!
  GRAFT_ONE_TOKEN=$arm DECODE_QUICK=2 timeout 60 node $E decode qwen2.5-1.5b 2>&1 | grep -v Warning | grep '^{' | cut -c1-400 >> $L
  kill $S; echo "max memory.used MiB: $(sort -n $OUT/mem-$arm.csv | tail -1)" >> $L
done
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  echo "== one-token-ab $m at $(( $(date +%s) - t ))" >> $L
  timeout 130 node $E one-token-ab $m 2>&1 | grep -v Warning | grep -E "round|rror" >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
