# GPU machine, second call while s9-a.sh's machine is warm: Graft's decode (warm graph cache, new process), with
# the same rows read after every step and with the caches copied (the path before, DECODE_AB), and on a 4-bit base
# (int4, fused) up to Llama-3.1-8B, beside llama.cpp F16 and Q4_K_M built by call A; then
# `verify-reference --device gpu` while time is left.
source bench/gpu/device-env.sh
L=$OUT/graft-b.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
echo "== Graft decode (graph cache warm)" >> $L
timeout 200 node $E decode stories260K smollm2-135m qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== Graft decode on a 4-bit base (int4, fused)" >> $L
timeout 170 node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1
echo "graft elapsed $(( $(date +%s) - t ))" >> $L
while [ ! -f /tmp/lc/build.done ] && [ $(( $(date +%s) - t )) -lt 420 ]; do sleep 2; done; echo "llama.cpp build rc $(cat /tmp/lc/build.done)" >> $P
while [ ! -f /tmp/lc/q4.done ] && [ $(( $(date +%s) - t )) -lt 430 ]; do sleep 2; done
B=/tmp/lc/build/bin; M=/tmp/lc/models; tail -5 /tmp/lc/models.log >> $P; ls $M >> $P
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
$B/llama-bench -m $M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $P; done
echo "peers elapsed $(( $(date +%s) - t ))" >> $P
VERIFY_UNTIL=${VERIFY_UNTIL:-560} V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-700; tail -c 2500 $P; tail -1 $OUT/verify-gpu.jsonl
