#!/usr/bin/env python3
# Writes in an audit log (bench work dir, --keep-work), per user and per burst (a gap > 5 s splits
# them): count, span, rate, mean server latency (received -> response complete) and mean writes at
# the server (sum of server time / span). Usage: python3 bench/scripts/audit-concurrency.py <audit.log>

import json, sys
from datetime import datetime
def ts(s): return datetime.fromisoformat(s.replace('Z','+00:00')).timestamp()
writes = {}
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except: continue
    if e.get('stage') != 'ResponseComplete': continue
    if e.get('verb') not in ('create','patch','update'): continue
    u = e['user']['username']
    a, b = ts(e['requestReceivedTimestamp']), ts(e['stageTimestamp'])
    writes.setdefault(u, []).append((a, b))
for u, ws in writes.items():
    ws.sort()
    # bursts: split where a gap > 5 s
    bursts = [[ws[0]]]
    for w in ws[1:]:
        if w[0] - bursts[-1][-1][0] > 5: bursts.append([w])
        else: bursts[-1].append(w)
    for bu in bursts:
        if len(bu) < 500: continue
        span = max(b for _, b in bu) - bu[0][0]
        lat = sum(b - a for a, b in bu) / len(bu)
        busy = sum(b - a for a, b in bu) / span
        print(f"{u:30s} start {datetime.utcfromtimestamp(bu[0][0]).strftime('%H:%M:%S')} n={len(bu):6d} span={span:6.1f}s rate={len(bu)/span:6.0f}/s server-latency={lat*1000:6.1f}ms at-server={busy:5.1f}")
