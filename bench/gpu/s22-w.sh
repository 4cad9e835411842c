# Session 22's call W, run as two commands on the machine call V left warm (carry [".gpu"], bundle 1870c67), nothing
# beside; kept here as they ran. 1) the adapter rows' x·Aᵀ split along K against one batched MatMul, in the fp16 graph
# (`gpu-explore lorasplit-ab`, 3 rounds alternating in one process). 2) the split-K workgroup targets: the default
# (1,024 for both), the adapters' at 4,096 and 512, the base's at 2,048; one process each (DECODE_QUICK=1), two rounds.
source bench/gpu/device-env.sh; t=$(date +%s); mkdir -p $OUT
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))"
timeout 200 node $E lorasplit-ab qwen2.5-0.5b 2>&1 | grep -v Warning | grep -v '"rounds"' | tee $OUT/lorasplit.log
for r in 0 1; do for v in "X=1" "GRAFT_LORA_SPLITK=4096" "GRAFT_SPLITK=2048" "GRAFT_LORA_SPLITK=512"; do
  echo "== $v round $r at $(( $(date +%s) - t ))"
  env $v DECODE_QUICK=1 timeout 60 node $E decode qwen2.5-0.5b 2>&1 | grep -o '"greedy_tok_s":[0-9.]*\|"greedy_4rows_tok_s_per_row":[0-9.]*\|"greedy_4adapters_tok_s_per_row":[0-9.]*\|"greedy_1adapter_tok_s":[0-9.]*' | tr '\n' ' '; echo
done; done 2>&1 | tee $OUT/splitk-sizes.log
