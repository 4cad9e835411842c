"""Summarizes an ONNX Runtime profile (enableProfiling) by op type: time, count, share.
The WebGPU EP writes two kinds of events: 'Node' (the host's time in each kernel's Compute, i.e. recording
the dispatch, plus a first run's shader compilation) and 'Api' (the GPU's own timestamps of each dispatch,
named NODE&OP&PROGRAM, with the shapes in args). GPU time is the 'Api' events; --host summarizes 'Node'.
--shapes N adds the N heaviest (op, shapes) groups; --runs R divides every figure by the number of session
runs in the profile (per-step figures; the first run, which compiles shaders, is best left out by the caller)."""
import json, sys, collections
args = sys.argv[1:]
def opt(name, default):
    if name in args:
        i = args.index(name); v = args[i + 1]; del args[i:i + 2]; return int(v)
    return default
top = opt('--shapes', 0)
runs = opt('--runs', 1)
host = '--host' in args
if host: args.remove('--host')
events = json.load(open(args[0]))
by_op = collections.defaultdict(lambda: [0, 0])
by_shape = collections.defaultdict(lambda: [0, 0])
for e in events:
    if host:
        if e.get('cat') != 'Node' or not e.get('name', '').endswith('_kernel_time'): continue
        a = e.get('args', {}); op = a.get('op_name', '?')
        shape = ';'.join(f"{list(o.keys())[0]}{list(o.values())[0]}" for o in a.get('output_type_shape', []) if isinstance(o, dict))
    else:
        if e.get('cat') != 'Api': continue
        parts = e.get('name', '').split('&'); op = parts[1] if len(parts) > 1 else parts[0]
        shape = e.get('args', {}).get('shapes', '').strip()
    by_op[op][0] += e.get('dur', 0); by_op[op][1] += 1
    if top:
        by_shape[(op, shape)][0] += e.get('dur', 0); by_shape[(op, shape)][1] += 1
total = sum(v[0] for v in by_op.values()) or 1
rows = sorted(by_op.items(), key=lambda kv: -kv[1][0])
out = {'clock': 'host (Node events)' if host else 'GPU (Api events)', 'runs': runs, 'total_ms': round(total / 1000 / runs, 3),
       'dispatches': sum(v[1] for v in by_op.values()) / runs,
       'by_op': [{'op': k, 'ms': round(v[0] / 1000 / runs, 3), 'count': v[1] / runs, 'share': round(v[0] / total, 3)} for k, v in rows[:25]]}
if top:
    srows = sorted(by_shape.items(), key=lambda kv: -kv[1][0])[:top]
    out['by_shape'] = [{'op': k[0], 'shapes': k[1][:160], 'ms': round(v[0] / 1000 / runs, 3), 'count': v[1] / runs,
                        'us_each': round(v[0] / v[1], 1), 'share': round(v[0] / total, 3)} for k, v in srows]
print(json.dumps(out, indent=1))
