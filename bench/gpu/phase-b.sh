# GPU machine, second call while the first one's machine is still warm: llama.cpp (built by phase A)
# and PyTorch + PEFT measured in the same call as Graft's decode and training rows.
source .gpu/prelude.sh
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm GRAFT_GRAPH_CACHE=/tmp/graft-graphs
E=.gpu/gpu-explore.cjs; L=$OUT/graft-b.log; P=$OUT/peers.log
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
while [ ! -f /tmp/lc/build.done ]; do sleep 2; done; echo "llama.cpp build rc $(cat /tmp/lc/build.done)" >> $P
t=$(date +%s)
echo "== Graft decode (graph cache warm)" >> $L
timeout 150 node $E decode stories260K smollm2-135m qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
if [ "${DECODE_ONLY:-0}" != 1 ]; then
  echo "== Graft decode, WebGPU validation on (the old default)" >> $L
  GRAFT_WEBGPU_VALIDATE=1 timeout 60 node $E decode smollm2-135m >> $L 2>&1
  echo "== Graft training" >> $L
  timeout 100 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
  timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
  timeout 90 node $E step qwen2.5-0.5b 1x512 nf4 >> $L 2>&1
fi
if [ "${DECODE_ONLY:-0}" = 1 ]; then
  echo "== Graft decode on a 4-bit base (int4, fused)" >> $L
  timeout 240 node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1
  while [ ! -f /tmp/lc/q4.done ]; do sleep 2; done
fi
echo "graft elapsed $(( $(date +%s) - t ))" >> $L
B=/tmp/lc/build/bin; M=/tmp/lc/models; cat /tmp/lc/models.log >> $P; ls $M >> $P
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
[ "${DECODE_ONLY:-0}" = 1 ] && { cat /tmp/lc/quant-*.log | grep -iE "error|size" | tail -6 >> $P; $B/llama-bench -m $M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null; }
for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $P; done
if [ "${DECODE_ONLY:-0}" != 1 ]; then
  cd /tmp && OUT=/tmp timeout 200 python3 $OLDPWD/.gpu/anchor_train.py > /dev/null 2>&1; cd $OLDPWD
  cat /tmp/anchors-pytorch-peft.json >> $P
fi
echo "total elapsed $(( $(date +%s) - t ))" >> $L
grep -v '^\[' $L | cut -c1-1200; tail -c 4000 $P
