# GPU machine, first of two back-to-back calls for issue 12 (carry [".gpu"] from decode-train-prepare.sh, the
# goldens packed): session 11's s11-d1.sh with what it lacked. llama.cpp's build and its models
# (F16; Q4_K_M with the 8B) start in the background; meanwhile the A/B pairs run in one process each, printing
# each round as it ends (split-K against plain MatMuls, ORT's fused 4-bit ops against none); llama-batched-bench
# once built. decode-vs-llamacpp-b.sh follows at once on the warm machine (call it within 30 s).
source bench/gpu/device-env.sh
L=$OUT/ab.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
source bench/gpu/peers-build-start.sh
timeout 120 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 200 && timeout 110 node $E decode-ab qwen2.5-0.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 300 && timeout 90 node $E decode-ab qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 380 && timeout 80 node $E packed-ab qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
while [ ! -f /tmp/lc/build.done ] && [ $(( $(date +%s) - t )) -lt 500 ]; do sleep 2; done; echo "llama.cpp build rc $(cat /tmp/lc/build.done 2>/dev/null) at $(( $(date +%s) - t ))" >> $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
[ -f /tmp/lc/build.done ] && left 530 && for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $P; done
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-600; tail -c 1500 $P
