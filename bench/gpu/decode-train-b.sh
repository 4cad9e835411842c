# GPU machine, second call while decode-train-a.sh's machine is warm: Graft's decode (warm graph cache) and
# 4-bit-base decode beside llama.cpp F16 and Q4_K_M built by call A, then the 8B QLoRA step with its GPU memory
# beside PyTorch + PEFT on the same shapes, then `verify-reference --device gpu` while time is left.
source bench/gpu/device-env.sh
L=$OUT/graft-b.log; P=$OUT/peers.log; t=$(date +%s); mkdir -p $OUT/train
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P; cp $P $OUT/train/peers.log
echo "== Graft decode (graph cache warm)" >> $L
timeout 120 node $E decode stories260K smollm2-135m qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== Graft decode on a 4-bit base (int4, fused)" >> $L
timeout 200 node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1
echo "graft elapsed $(( $(date +%s) - t ))" >> $L
while [ ! -f /tmp/lc/build.done ]; do sleep 2; done; echo "llama.cpp build rc $(cat /tmp/lc/build.done)" >> $P
while [ ! -f /tmp/lc/q4.done ] && [ $(( $(date +%s) - t )) -lt 330 ]; do sleep 2; done
B=/tmp/lc/build/bin; M=/tmp/lc/models; cat /tmp/lc/models.log | tail -5 >> $P; ls $M >> $P
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
$B/llama-bench -m $M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $P; done
echo "peers elapsed $(( $(date +%s) - t ))" >> $P
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/train/graft-8b.log
BUDGET=100 timeout 110 bash bench/gpu/qlora-8b.sh >> $OUT/train/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/train/graft-8b.log
timeout 80 python3 bench/gpu/peer-train.py llama3.1-8b:1x1024 >> $OUT/train/peers.log 2> $OUT/train/peer.err
VERIFY_UNTIL=${VERIFY_UNTIL:-585} V=$OUT/train/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-300; tail -c 2500 $P; grep '^{' $OUT/train/graft-8b.log | cut -c1-600; tail -2 $OUT/train/peers.log; tail -1 $OUT/train/verify-gpu.jsonl
