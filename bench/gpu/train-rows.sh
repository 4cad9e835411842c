# Sourced by the device scripts that measure issue 13's rows (train-final.sh, s9-c.sh), after device-env.sh, with
# $L (Graft's log), $P (the peers' log) and $t (the call's start) set: the warm training rows, the EP's fp16
# MatMul rate, the 8B QLoRA step with its GPU memory, then PyTorch + PEFT on the same shapes.
echo "== warm: training rows" >> $L
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 75 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $L 2>&1
GEMM_FORMS=float16:matmul timeout 40 node $E gemm 4096,896,4864 >> $L 2>&1
echo "graft rows elapsed $(( $(date +%s) - t ))" >> $L
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
BUDGET=90 timeout 100 bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
timeout 170 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 llama3.1-8b:1x1024 >> $P 2> $OUT/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
