"""Summarizes an ONNX Runtime profile (enableProfiling) by op type (kernel time, count, share), and with
--shapes N the N heaviest (op, output shape) groups, which say which tensors the time goes to.
--runs R divides every figure by the number of session runs in the profile (per-step figures)."""
import json, sys, collections
args = sys.argv[1:]
def opt(name, default):
    if name in args:
        i = args.index(name); v = args[i + 1]; del args[i:i + 2]; return int(v)
    return default
top = opt('--shapes', 0)
runs = opt('--runs', 1)
events = json.load(open(args[0]))
by_op = collections.defaultdict(lambda: [0, 0])
by_shape = collections.defaultdict(lambda: [0, 0])
for e in events:
    if e.get('cat') == 'Node' and e.get('name', '').endswith('_kernel_time'):
        a = e.get('args', {})
        op = a.get('op_name', '?')
        by_op[op][0] += e.get('dur', 0)
        by_op[op][1] += 1
        if top:
            outs = a.get('output_type_shape', [])
            shape = ';'.join(f"{list(o.keys())[0]}{list(o.values())[0]}" for o in outs if isinstance(o, dict))
            by_shape[(op, shape)][0] += e.get('dur', 0)
            by_shape[(op, shape)][1] += 1
total = sum(v[0] for v in by_op.values()) or 1
rows = sorted(by_op.items(), key=lambda kv: -kv[1][0])
out = {'runs': runs, 'total_ms': round(total / 1000 / runs, 3),
       'by_op': [{'op': k, 'ms': round(v[0] / 1000 / runs, 3), 'count': v[1] / runs, 'share': round(v[0] / total, 3)} for k, v in rows[:25]]}
if top:
    srows = sorted(by_shape.items(), key=lambda kv: -kv[1][0])[:top]
    out['by_shape'] = [{'op': k[0], 'out': k[1], 'ms': round(v[0] / 1000 / runs, 3), 'count': v[1] / runs,
                        'us_each': round(v[0] / v[1], 1), 'share': round(v[0] / total, 3)} for k, v in srows]
print(json.dumps(out, indent=1))
