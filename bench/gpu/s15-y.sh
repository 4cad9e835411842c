# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~230 s, nothing in the background: split-K on
# every projection (the default since this bundle) against splitting only the long-K, few-workgroup projections
# (GRAFT_SPLITK_ALL=0, the default before), both captured, with the adapter rows' x·Aᵀ following the base's
# slicing and each input transposed once (gpu-explore splitk-ab: 3 rounds, one row and 4 rows, one process).
source bench/gpu/device-env.sh
L=$OUT/splitk.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
timeout 70 node $E models qwen2.5-1.5b qwen2.5-0.5b smollm2-135m > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-1.5b qwen2.5-0.5b smollm2-135m; do
  left 190 || break
  echo "== splitk-ab $m" >> $L; timeout $(( 235 - ($(date +%s) - t) )) node $E splitk-ab $m >> $L 2>&1
done
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | grep -v '"rounds"' | cut -c1-300
