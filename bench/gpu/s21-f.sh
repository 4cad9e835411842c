# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~6 min, nothing in the background: the fused
# decode graph in fp16 (GRAFT_DECODE_FP16=1) against fp32, 3 rounds alternating in one process, one row and 4
# rows, after how far their greedy ids agree, at 0.5B, 135M and 1.5B shapes.
source bench/gpu/device-env.sh
L=$OUT/f.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 120 node $E models smollm2-135m qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  left 480 || break
  echo "== f16-ab $m at $(( $(date +%s) - t ))" >> $L
  timeout 170 node $E f16-ab $m 2>&1 | grep -v '^\[' | grep -v Warning | grep -E 'round|agreement|Error|error' >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-420
