# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~580 s: the rows decode-one-call.sh could not
# fit once capture made each form's first start open a second session (the 1.5B row, the 4-bit rows), with
# llama.cpp's figures for them measured in this call. Report: npx tsx bench/gpu/report-decode.ts DIR DIR COMMIT.
# - background: llama.cpp's CUDA build and its models; meanwhile the bench models are written and, captured in
#   both arms, split-K on every projection is set against the default split (gpu-explore splitk-ab, 0.5B; 1.5B
#   while the build lasts): an A/B in one process, both arms under the same load;
# - once built, background stopped: llama-bench tg128 (1.5B F16, the Q4_K_M files, the 8B), then Graft's 1.5B
#   rows from an empty graph cache, then the 4-bit rows up to 8B.
source bench/gpu/device-env.sh
L=$OUT/graft-d2.log; P=$OUT/peers2.log; S=$OUT/splitk.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P; cp $P $OUT/peers.log
source bench/gpu/peers-build-start.sh
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b qwen2.5-1.5b; do
  left 240 || break
  echo "== splitk-ab $m (llama.cpp building beside)" >> $S; timeout $(( 300 - ($(date +%s) - t) )) node $E splitk-ab $m >> $S 2>&1
done
while [ ! -f /tmp/lc/q4.done ] && left 340; do sleep 2; done; echo "build rc $(cat /tmp/lc/build.done 2>/dev/null), q4 $( [ -f /tmp/lc/q4.done ] && echo done) at $(( $(date +%s) - t ))" >> $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
bg() { pkill -$1 -f 'make_models|convert_hf_to_gguf|llama-quantize|peer-q4' ; }
bg STOP
$B/llama-bench -m $M/qwen15b-f16.gguf,$M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 0 -n 128 -r 3 -o json > $OUT/llama-bench.json 2>/dev/null
echo "peers done at $(( $(date +%s) - t ))" >> $P
rm -rf /tmp/graft-graphs
echo "== first start: qwen2.5-1.5b" >> $L; timeout 110 node $E decode qwen2.5-1.5b >> $L 2>&1; echo "elapsed $(( $(date +%s) - t ))" >> $L
left 480 && echo "== 4-bit base" >> $L && timeout $(( 588 - ($(date +%s) - t) )) node $E packed llama3.1-8b qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
bg CONT; echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-300; grep -v '^\[' $S | grep -v '"round"' | cut -c1-500; tail -c 300 $P
