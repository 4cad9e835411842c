# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~5 min, nothing in the background: would a
# residual stream padded to a multiple of 256 (where the EP's RMSNorm kernels are balanced: bench/op-floors.ts,
# call A) pay? A proxy: the whole model at that width (0.5B at 1,024, 135M at 768) against the real width, one
# process each, alternating, greedy one row and 4 rows (DECODE_QUICK).
source bench/gpu/device-env.sh
L=$OUT/p.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 200 node $E models qwen2.5-0.5b qwen2.5-0.5b-w1024 smollm2-135m smollm2-135m-w768 > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b qwen2.5-0.5b-w1024 qwen2.5-0.5b qwen2.5-0.5b-w1024 smollm2-135m smollm2-135m-w768 smollm2-135m smollm2-135m-w768; do
  left 330 || break
  echo "== decode $m" >> $L
  DECODE_QUICK=1 timeout 45 node $E decode $m 2>&1 | grep -v '^\[' | grep -v Warning | sed 's/"sessions":\[[^]]*\],//' >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-420
