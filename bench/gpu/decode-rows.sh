# Sourced by the decode calls (s11-d2.sh, decode-vs-llamacpp-b.sh, s12-x.sh, decode-one-call.sh) after
# device-env.sh, with $L (Graft's log) and $t (the call's start) set: each model's decode rows from an empty
# graph cache in a new process (greedy, sampled, the Chat's sampling, 4 rows), and for the models in SECOND_FOR
# again with the cache filled (second start). ROWS_UNTIL: no model starts after this many seconds of the call;
# FIRST_T / SECOND_T: their timeouts.
for m in smollm2-135m qwen2.5-0.5b qwen2.5-1.5b; do
  left ${ROWS_UNTIL:-500} || break
  rm -rf /tmp/graft-graphs
  echo "== first start: $m" >> $L; timeout ${FIRST_T:-80} node $E decode $m >> $L 2>&1
  if [[ " ${SECOND_FOR:-qwen2.5-0.5b} " == *" $m "* ]]; then echo "== second start: $m" >> $L; DECODE_QUICK=1 timeout ${SECOND_T:-40} node $E decode $m >> $L 2>&1; fi
  echo "elapsed $(( $(date +%s) - t ))" >> $L
done
rm -rf /tmp/graft-graphs
