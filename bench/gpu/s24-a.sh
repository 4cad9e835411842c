# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~6 min, nothing in the background (session 24's
# call A): does ORT 1.31.1's one-row MatMul (its new GEMV program) make a plain fp16 projection beat the split-K
# form the decode graph uses? The projections of 0.5B, 135M and 1.5B at the padded stream's width, fp16, timed
# inside captured replays (gpu-explore matvec-replay: S=1 plain, the rest split), then whole decodes: split every
# projection (now) against splitting none (GRAFT_SPLITK=0) and only the long-K ones (gpu-explore split-ab).
source bench/gpu/device-env.sh
L=$OUT/a.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
echo "== matvec-replay at $(( $(date +%s) - t ))" >> $L
timeout 150 node $E matvec-replay '1024,1152:1,8,16,32:f16' '896,1024:1,7,14,28:f16' '1024,9728:1,2,4:f16' '4864,1024:1,8,16,32:f16' \
  '768,960:1,12,24:f16' '768,3072:1,6,12:f16' '1536,768:1,24,48:f16' '1536,17920:1,2:f16' '8960,1536:1,10,20:f16' 2>&1 | grep -v Warning >> $L
timeout 60 node $E models qwen2.5-0.5b smollm2-135m > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m; do
  echo "== split-ab $m at $(( $(date +%s) - t ))" >> $L
  timeout 170 node $E split-ab $m 2>&1 | grep -v Warning | grep round >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
