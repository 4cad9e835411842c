"""Filter for device logs: JSON lines lose their 'sessions' list (graph build timings, long); other lines pass."""
import json, sys
for line in sys.stdin:
    if line.startswith('{'):
        try:
            d = json.loads(line)
            print(json.dumps({k: v for k, v in d.items() if k not in ('sessions', 'sessions_created')}))
            continue
        except ValueError:
            pass
    print(line, end='')
