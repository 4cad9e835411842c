# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~4 min, nothing in the background: which rows make
# the fp16 graph slower than fp32 in a captured decode at 0.5B (call F: one base row +10-18%, 4 rows with adapters
# -12-15%; call G's profile had the 4 rows' GPU time 10% lower in fp16): 4 adapter rows, 4 base rows, one adapter row.
source bench/gpu/device-env.sh
L=$OUT/r.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 100 node $E models qwen2.5-0.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
timeout 200 node $E f16-rows qwen2.5-0.5b 2>&1 | grep -v Warning | grep -E 'rows|graft|rror' >> $L
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-300
