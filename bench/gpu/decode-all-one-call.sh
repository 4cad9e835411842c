# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~400 s (session 16: 432 s with an A/B): ALL of issue 12's rows (items 1-4: the
# three models one stream and 4 rows, start-up, the 4-bit bases up to the 8B) with llama.cpp's in the same call.
# decode-one-call.sh ran the build and Graft one after the other and had no time left for the 4-bit rows; here
# they run at once on separate cores: the background (llama.cpp's CUDA build, its models) pinned to cores 4-15
# at low priority, Graft pinned to cores 0-3, the GPU its own. Then, once built, with nothing beside: llama-bench
# tg128 on all six models, llama-batched-bench 4 sequences; then, time left, Graft's 0.5B rows again with nothing
# beside (a control for the load). Session 16's call A also ran an A/B there (the rows' LoRA delta added by the
# split sum's Gemm: 2% slower, reverted). `verify-reference --device gpu` is in the
# training call (train-one-call.sh). Report: REPORT_CALLS=A,A npx tsx bench/gpu/report-decode.ts DIR DIR COMMIT.
source bench/gpu/device-env.sh
L=$OUT/graft-d2.log; P=$OUT/peers2.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P; cp $P $OUT/peers.log
[ -d .gpu/llamacpp/tokenizer ] || tar -xJf .gpu/llamacpp/tokenizer.tar.xz -C .gpu/llamacpp
BG=""; command -v taskset > /dev/null && BG="taskset -c 4-15"   # unpinned where there is no taskset
BUILD_ONLY=1 WAIT=0 nice -n 10 $BG bash .gpu/llamacpp/run.sh > /dev/null 2>&1
(nice -n 10 $BG bash bench/gpu/peer-q4.sh > /tmp/lc/peer-q4.log 2>&1 &)
[ -n "$BG" ] && taskset -cp 0-3 $$ > /dev/null   # Graft (this shell's children) on cores 0-3
echo "pinned: graft ${BG:+$(taskset -cp $$ | sed 's/.*: //')}, background ${BG:-not pinned} at $(( $(date +%s) - t ))" >> $L
export DECODE_AB=0   # the read-back/caches-copied variants: measured in earlier calls, no time here
timeout 150 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
ROWS_UNTIL=260 FIRST_T=110 SECOND_T=35 source bench/gpu/decode-rows.sh
# while the build goes on (both arms under its load, pinned): an A/B of this session's change, AB (default session
# 22's: split-K in the fp16 graph, every projection / the long-K ones / none; session 20 ran pad-ab qwen2.5-0.5b
# smollm2-135m here, session 16 argmax-ab qwen2.5-0.5b). Before the 4-bit rows, at most 100 s: session 22's call B
# ran it after them, and its 8B's first start (96 s) left no time for it.
AB=${AB:-split-ab qwen2.5-0.5b}
ab_t=$(( 340 - ($(date +%s) - t) )); [ $ab_t -gt 100 ] && ab_t=100
left 300 && echo "== $AB (llama.cpp building beside)" >> $L && timeout $ab_t node $E $AB >> $L 2>&1
left 380 && echo "== 4-bit base" >> $L && timeout $(( 480 - ($(date +%s) - t) )) node $E packed llama3.1-8b qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "graft rows done at $(( $(date +%s) - t ))" >> $L
[ -n "$BG" ] && taskset -cp 0-$(( $(nproc --all) - 1 )) $$ > /dev/null
PEERS_WAIT_UNTIL=500 source bench/gpu/peers-bench.sh
# nothing beside now: the 0.5B greedy rows again (graph cache filled)
left 540 && echo "== control, nothing beside: qwen2.5-0.5b" >> $L && DECODE_QUICK=1 timeout 30 node $E decode qwen2.5-0.5b >> $L 2>&1
bg CONT; echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | grep -v '"rounds"' | cut -c1-300; tail -c 400 $P
