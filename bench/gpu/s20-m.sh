# GPU machine (carry [".gpu"] from decode-train-prepare.sh), ~5 min, nothing in the background: the one-row
# projections of the fused decode graph in each form, timed inside a captured replay (bench/matvec-replay.ts):
# Qwen2.5-0.5B's five (qkv, o, gate|up, down, the LM head) across slice counts, fp32 and fp16 weights; then
# 1.5B's and 135M's largest.
source bench/gpu/device-env.sh
L=$OUT/m.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 300 node $E matvec-replay 2>&1 | grep -v '^\[' | grep -v Warning >> $L
echo "0.5B done at $(( $(date +%s) - t ))" >> $L
left 420 && timeout 200 node $E matvec-replay 1536,2048:1,8,16,32 1536,17920:1,2,4,8,16 8960,1536:1,20,35,70 head:1536,151936:8,16,32 576,3072:1,2,4,8,16 head:576,49152:4,8,16 2>&1 | grep -v '^\[' | grep -v Warning >> $L
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-300
