# GPU machine, first of two back-to-back calls (carry [".gpu"] from bench/gpu/decode-train-prepare.sh). Starts
# llama.cpp's CUDA build and its models (F16, then Q4_K_M with the 8B) in the background, then: Graft's decode from
# an empty graph cache (first time; DECODE_AB=0), the 1.5B first training step from an empty cache, the training
# rows, the EP's fp16 MatMul rate, PyTorch + PEFT on the same shapes (8B included), the 8B QLoRA step with its GPU
# memory. Then s9-b.sh on the still-warm machine (decode beside llama.cpp). Report: bench/gpu/report.ts and
# train-report.ts.
source bench/gpu/device-env.sh
L=$OUT/graft-a.log; T=$OUT/train/train-a.log; P=$OUT/train/peers.log; t=$(date +%s)
mkdir -p $OUT/train; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
source bench/gpu/peers-build-start.sh
echo "== cold graph cache (first time): decode" >> $L
DECODE_AB=0 timeout 200 node $E decode stories260K smollm2-135m qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "decode elapsed $(( $(date +%s) - t ))" >> $L
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $T
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $T 2>&1
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $T 2>&1
timeout 60 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $T 2>&1
GEMM_FORMS=float16:matmul timeout 40 node $E gemm 4096,896,4864 >> $T 2>&1
echo "train elapsed $(( $(date +%s) - t ))" >> $T
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/train/graft-8b.log
OUT=$OUT/train BUDGET=90 timeout 100 bash bench/gpu/qlora-8b.sh >> $OUT/train/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/train/graft-8b.log
timeout 170 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 llama3.1-8b:1x1024 >> $P 2> $OUT/train/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-400; grep -v '^\[' $T | cut -c1-300; tail -c 1500 $P; grep '^{"bench"' $OUT/train/graft-8b.log | cut -c1-300
