# GPU machine, at once after s12-x.sh (nothing to carry: .gpu and /tmp/lc are still there). This is call Y of
# session 12 as it ran (one command line then): llama.cpp's Llama-3.1-8B Q4_K_M once its file is whole (waited
# 75 s: it was not), then Graft's 4-bit base at the same shapes with the background stopped. The session's
# device time ran out before the 8B run printed. Next time: give the quantizer its ~4 minutes first (run
# this with the wait raised to ~300 s) on a call of its own.
source bench/gpu/device-env.sh
L=$OUT/graft-packed.log; P=$OUT/peers3.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P; ls -la /tmp/lc/models >> $P
while [ ! -f /tmp/lc/q4.done ] && [ $(( $(date +%s) - t )) -lt ${Q4_WAIT:-75} ]; do sleep 2; done
echo "q4 done: $([ -f /tmp/lc/q4.done ] && echo yes || echo no) at $(( $(date +%s) - t ))" >> $P
[ -f /tmp/lc/q4.done ] && /tmp/lc/build/bin/llama-bench -m /tmp/lc/models/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 0 -n 128 -r 3 -o json > $OUT/llama-bench-8b.json 2>/dev/null
pkill -STOP -f 'make_llama8b|convert_hf_to_gguf|llama-quantize|peer-q4'
echo "== 4-bit base" >> $L; timeout 120 node $E packed llama3.1-8b >> $L 2>&1
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-300; tail -12 $P; grep avg_ts $OUT/llama-bench-8b.json
