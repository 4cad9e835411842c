# GPU machine, first of two back-to-back calls covering issues 12 and 13 together; carry [".gpu"] made by
# bench/gpu/prepare.sh + the training material (bench/gpu/decode-train-prepare.sh). Starts llama.cpp's CUDA build
# and its models (F16, then Q4_K_M with the 8B) in the background, then: Graft's decode from an empty graph cache
# (first time) and from a warm one in a new process (second time), the 1.5B training step from an empty cache,
# the training rows, PyTorch + PEFT on the same shapes, and GPU profiles of the 1x512 steps while time is left.
# Then decode-train-b.sh on the still-warm machine. Report: bench/gpu/report.ts and train-report.ts.
source bench/gpu/device-env.sh
L=$OUT/graft-a.log; T=$OUT/train/train-a.log; P=$OUT/train/peers.log; t=$(date +%s)
mkdir -p $OUT/train; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
source bench/gpu/peers-build-start.sh
echo "== cold graph cache (first time): decode" >> $L
timeout 240 node $E decode stories260K smollm2-135m qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== warm graph cache (second time), new process: decode" >> $L
timeout 90 node $E decode qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "decode elapsed $(( $(date +%s) - t ))" >> $L
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $T
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $T 2>&1
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $T 2>&1
timeout 60 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $T 2>&1
echo "train elapsed $(( $(date +%s) - t ))" >> $T
timeout 120 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 >> $P 2> $OUT/train/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
mkdir -p /tmp/prof
for r in "qwen2.5-0.5b 1x512 fp16" "qwen2.5-0.5b 1x512 nf4-fp16" "qwen2.5-1.5b 1x512 fp16"; do
  [ $(( $(date +%s) - t )) -lt ${PROFILE_UNTIL:-500} ] || break
  set -- $r; rm -f /tmp/prof/*; GRAFT_ORT_PROFILE=/tmp/prof/p timeout 45 node $E step $1 $2 $3 > /dev/null 2>&1
  p=$(ls -S /tmp/prof/p_*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs 4 --shapes 30 > $OUT/train/profile-$1-$2-$3.json
done
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-400; grep -v '^\[' $T | cut -c1-400; tail -c 1500 $P
