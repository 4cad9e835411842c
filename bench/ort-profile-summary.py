"""Summarizes an ONNX Runtime profile (enableProfiling) by op type: total kernel time, count, share."""
import json, sys, collections
events = json.load(open(sys.argv[1]))
by_op = collections.defaultdict(lambda: [0, 0])
for e in events:
    if e.get('cat') == 'Node' and e.get('name', '').endswith('_kernel_time'):
        op = e.get('args', {}).get('op_name', '?')
        by_op[op][0] += e.get('dur', 0)
        by_op[op][1] += 1
total = sum(v[0] for v in by_op.values()) or 1
rows = sorted(by_op.items(), key=lambda kv: -kv[1][0])
print(json.dumps({'total_ms': total / 1000, 'by_op': [{'op': k, 'ms': v[0] / 1000, 'count': v[1], 'share': round(v[0] / total, 3)} for k, v in rows[:25]]}, indent=1))
