# GPU machine, first of two back-to-back calls (carry [".gpu"] from decode-train-prepare.sh, fixtures moved aside):
# llama.cpp's CUDA build and its models (F16; Q4_K_M with the 8B) start in the background; then Graft's decode with
# split-K projections (now) and without (GRAFT_SPLITK=0, before), each model in its own process from an empty graph
# cache; the 4-bit base (symmetric codes) with ORT's fused 4-bit ops (now) and without (GRAFT_NBITS_FUSION=0) up to
# Llama-3.1-8B; a GPU-timestamp profile of the 0.5B decode with split-K; then llama.cpp F16 once it is built.
# s10-c.sh follows at once on the warm machine (Q4_K_M, batched, verify-reference).
source bench/gpu/device-env.sh
L=$OUT/graft-b.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
source bench/gpu/peers-build-start.sh
clean() { rm -rf /tmp/graft-graphs; }
for m in smollm2-135m qwen2.5-0.5b qwen2.5-1.5b; do
  echo "== now (split-K 64): $m" >> $L; clean
  DECODE_AB=0 timeout 90 node $E decode $m >> $L 2>&1
done
echo "== 4-bit, fused ops (now)" >> $L; clean
timeout 150 node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1; clean
echo "elapsed $(( $(date +%s) - t ))" >> $L
for m in smollm2-135m qwen2.5-0.5b qwen2.5-1.5b; do
  left 380 || break
  echo "== before (GRAFT_SPLITK=0): $m" >> $L; clean
  GRAFT_SPLITK=0 DECODE_AB=0 DECODE_QUICK=1 timeout 60 node $E decode $m >> $L 2>&1
done
echo "== 4-bit, fused ops off (before)" >> $L
left 420 && GRAFT_NBITS_FUSION=0 timeout 60 node $E packed qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1; clean
echo "graft elapsed $(( $(date +%s) - t ))" >> $L; df -h /tmp | tail -1 >> $L
mkdir -p $OUT/prof
left 470 && timeout 50 node $E decode-profile $OUT/prof/splitk qwen2.5-0.5b >> $L 2>&1; clean
for f in $OUT/prof/*.json; do [ -s $f ] && python3 bench/ort-profile-summary.py $f --shapes 25 --runs 126 > $f.summary; done
find $OUT/prof -name '*.json' -delete
while [ ! -f /tmp/lc/build.done ] && [ $(( $(date +%s) - t )) -lt 520 ]; do sleep 2; done; echo "llama.cpp build rc $(cat /tmp/lc/build.done 2>/dev/null) at $(( $(date +%s) - t ))" >> $P
B=/tmp/lc/build/bin; M=/tmp/lc/models; ls $M >> $P 2>&1
[ -f /tmp/lc/build.done ] && $B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
echo "total $(( $(date +%s) - t )) s" >> $P; df -h /tmp | tail -1 >> $P
grep -v '^\[' $L | cut -c1-600; tail -c 1200 $P
