# Ran at ff52318 (the form was removed after it: slower). GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~7 min, nothing in the background (session 24's
# call B): one-row projections as Mul + ReduceSum over [N, K] weights (GRAFT_ROW_PROJ=1: elementwise kernels read at
# the memory's speed; call A had the EP's one-row MatMul at 27-436 GB/s) against the split-K MatMuls, whole decodes,
# 3 rounds alternating in one process (gpu-explore rows-ab), 0.5B, 135M, 1.5B.
source bench/gpu/device-env.sh
L=$OUT/b.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 60 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  echo "== rows-ab $m at $(( $(date +%s) - t ))" >> $L
  timeout 170 node $E rows-ab $m 2>&1 | grep -v Warning | grep -E "round|rror" >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
