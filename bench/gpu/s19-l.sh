# Ran at 7466dc6 (call L, session 19): the in-place form was slower (135M 4 rows 158.5-159.6 against 159.3-164.5 tok/s a row,
# 0.5B 151.7 against 154.2) and was reverted; GRAFT_LORA_BROADCAST no longer exists. Kept as the record of that A/B.
# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), at most ~150 s, nothing beside: the adapter rows'
# x·Aᵀ read in place where gate/up's base is sliced differently (GRAFT_LORA_BROADCAST=1, the default) against x
# transposed for the rows alone (=0), one process each, alternating: 135M decode, one row and 4 rows, three rounds,
# then 0.5B while time is left.
source bench/gpu/device-env.sh
L=$OUT/l.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
timeout 60 node $E models smollm2-135m > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in smollm2-135m smollm2-135m smollm2-135m qwen2.5-0.5b; do
  for b in 1 0; do
    left 125 || break
    echo "== decode $m in-place $b" >> $L
    GRAFT_LORA_BROADCAST=$b DECODE_QUICK=1 timeout 30 node $E decode $m 2>&1 | grep -v '^\[' | sed 's/"sessions":\[[^]]*\],//' >> $L
  done
done
echo "total $(( $(date +%s) - t )) s" >> $L
cut -c1-400 $L
