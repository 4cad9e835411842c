# GPU machine, fresh: issue 12's rows and llama.cpp's in ONE call (~570 s), session 12's s12-x.sh with the 8B
# added now that its Q4_K_M file is written in seconds (make_llama8b_q4.py, via peer-q4.sh).
# Here first: bash bench/gpu/decode-train-prepare.sh (the goldens go packed, so the carry stays under 64 MiB).
# Since capture (session 14) the 4-bit rows rarely fit after the three models' rows: bench/gpu/s14-d.sh measures
# them (and the 1.5B row) in a second call, with llama.cpp's figures for them from that call.
# Device: carry [".gpu"], timeout 595. Report: REPORT_CALLS=A,X npx tsx bench/gpu/report-decode.ts DIR DIR COMMIT
# (the same folder twice: this call's llama-batched-bench lines are in peers.log).
# - background: llama.cpp's CUDA build, the 8B Q4_K_M, the small F16 models; meanwhile the bench models are
#   written and `verify-reference --device gpu` runs (correctness only: the load does not matter);
# - once built: the small Q4_K_M files, then with the background stopped (SIGSTOP) and nothing beside:
#   llama-bench tg128, llama-batched-bench 4 sequences, Graft's decode rows, the 4-bit rows up to 8B.
source bench/gpu/device-env.sh
L=$OUT/graft-d2.log; P=$OUT/peers2.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P; cp $P $OUT/peers.log
source bench/gpu/peers-build-start.sh
timeout 120 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
VERIFY_UNTIL=220 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
# while llama.cpp builds (both arms under the same load): split-K on every projection against the default split
left 250 && echo "== splitk-ab qwen2.5-0.5b (llama.cpp building beside)" >> $OUT/splitk.log && timeout $(( 320 - ($(date +%s) - t) )) node $E splitk-ab qwen2.5-0.5b >> $OUT/splitk.log 2>&1
PEERS_WAIT_UNTIL=330 source bench/gpu/peers-bench.sh
# with capture on, each form's first start opens a captured session too: session 14's 1.5B run needed ~100 s
ROWS_UNTIL=440 FIRST_T=${FIRST_T:-110} SECOND_T=35 source bench/gpu/decode-rows.sh
left 470 && echo "== 4-bit base" >> $L && timeout $(( 585 - ($(date +%s) - t) )) node $E packed llama3.1-8b qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
bg CONT; echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-300; tail -c 400 $P; tail -1 $OUT/verify-gpu.jsonl; grep -v '^\[' $OUT/splitk.log | grep -v '"rounds"' | cut -c1-300
