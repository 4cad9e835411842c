# GPU machine, call 2 of 2 for issue 13, carry [".gpu"] (bench/gpu/train-prepare.sh), on a fresh machine:
# Graft's fp16 and QLoRA-fp16 rows after the MatMul change (1.5B first: its first step from an empty graph
# cache), Graft's QLoRA step at Llama-3.1-8B shapes with its GPU memory (bench/gpu/qlora-8b.sh), PyTorch + PEFT
# on the same shapes in the same call (bench/gpu/peer-train.py), and `verify-reference --device gpu` on every
# golden (CPU fallback disabled) while time is left.
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 100 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== warm: training rows" >> $L
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 60 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $L 2>&1
echo "graft rows elapsed $(( $(date +%s) - t ))" >> $L
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
G8=${GRAFT_8B_TIMEOUT:-240}; BUDGET=$(( G8 - 10 )) timeout $G8 bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
timeout 170 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 llama3.1-8b:1x1024 >> $P 2> $OUT/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
VERIFY_UNTIL=${VERIFY_UNTIL:-585} source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-700; grep '^{' $OUT/graft-8b.log | cut -c1-1500; tail -4 $OUT/graft-8b.log | cut -c1-300; tail -c 1500 $P; tail -1 $V
