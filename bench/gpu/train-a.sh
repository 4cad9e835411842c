# GPU machine, call 1 of 2 for issue 13 (training against PyTorch + PEFT), carry [".gpu"] (bench/gpu/train-prepare.sh):
# Graft's training rows, the EP's own GEMM ceiling and PyTorch + PEFT's anchor in the same call; the CPU-side checks
# of issues 16 and 18 (PEFT composition; merged exports in transformers and llama.cpp, with llama.cpp's own build)
# run nice'd beside them and come back as checks.tgz.
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
mkdir -p /tmp/merged /tmp/peft
(OUT=/tmp/merged nice -n 10 bash bench/gpu-checks/merged-export.sh > /tmp/merged/run.log 2>&1; echo "rc $?" >> /tmp/merged/run.log) &
(OUT=/tmp/peft nice -n 10 bash bench/gpu-checks/methods-composition-peft.sh > /tmp/peft/run.log 2>&1; echo "rc $?" >> /tmp/peft/run.log) &
t=$(date +%s)
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 150 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== the EP's GEMM ceiling at the steps' shapes" >> $L
timeout 90 node $E gemm >> $L 2>&1
echo "== warm: training rows" >> $L
timeout 100 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
for p in nf4 nf4-fp16 int4-fp16; do timeout 90 node $E step qwen2.5-0.5b 1x512 $p >> $L 2>&1; done
timeout 120 node $E step qwen2.5-1.5b 1x512 nf4-fp16 >> $L 2>&1
echo "graft elapsed $(( $(date +%s) - t ))" >> $L
(cd /tmp && OUT=/tmp timeout 200 python3 $OLDPWD/.gpu/anchor_train.py > /tmp/anchor.log 2>&1); cat /tmp/anchors-pytorch-peft.json >> $P
echo "peers elapsed $(( $(date +%s) - t ))" >> $L
for d in merged peft; do
  while [ $(( $(date +%s) - t )) -lt ${CHECKS_WAIT:-560} ] && ! grep -q '^rc' /tmp/$d/run.log 2> /dev/null; do sleep 3; done
done
tar czf $OUT/checks.tgz -C /tmp merged peft 2> /dev/null
echo "total elapsed $(( $(date +%s) - t ))" >> $L
grep -v '^\[' $L | cut -c1-900; tail -c 1500 $P; tail -2 /tmp/merged/run.log /tmp/peft/run.log; cat /tmp/merged/checks.txt 2> /dev/null | tail -30
