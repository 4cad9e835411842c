# GPU machine, first of two back-to-back calls (carry [".gpu"] from decode-train-prepare.sh, fixtures moved aside):
# llama.cpp's CUDA build and its models start in the background (nice 10); meanwhile the A/B pairs of session 10,
# each in one process, alternating (so the build's load falls on both sides alike): split-K projections against
# plain MatMuls (fp32 bases, one row and 4 rows) and ORT's fused 4-bit ops against none; then llama.cpp F16 and
# 4 sequences once built. s11-d2.sh follows at once on the warm machine.
source bench/gpu/device-env.sh
L=$OUT/ab.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
source bench/gpu/peers-build-start.sh
timeout 90 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
timeout 100 node $E decode-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 250 && timeout 70 node $E packed-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 300 && timeout 60 node $E decode-ab smollm2-135m >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 340 && timeout 80 node $E packed-ab qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 380 && timeout 100 node $E decode-ab qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
while [ ! -f /tmp/lc/build.done ] && [ $(( $(date +%s) - t )) -lt 500 ]; do sleep 2; done; echo "llama.cpp build rc $(cat /tmp/lc/build.done 2>/dev/null) at $(( $(date +%s) - t ))" >> $P
B=/tmp/lc/build/bin; M=/tmp/lc/models; ls $M >> $P 2>&1
[ -f /tmp/lc/build.done ] && left 520 && for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $P; done
echo "total $(( $(date +%s) - t )) s" >> $P; df -h /tmp | tail -1 >> $P
grep -v '^\[' $L | cut -c1-900; tail -c 1500 $P
