"""Summarizes reference-engine logs: loss per source from the first to the last outer step, and whether
every replica logged the same parameter hash at every outer step. Exit 1 when hashes disagree."""
import json
import sys

outer = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "outer":
                outer.setdefault(event["outer_step"], []).append(event)

if not outer:
    print("no outer step completed")
    sys.exit(1)
steps = sorted(outer)
first, last = outer[steps[0]][0], outer[steps[-1]][0]
print(f"outer steps {steps[0]}..{steps[-1]}, quorum of {len(first['quorum'])}: {', '.join(first['quorum'])}")
print(f"training loss: {first['loss']:.3f} -> {last['loss']:.3f}")
for source in sorted(first["eval"]):
    print(f"eval loss {source:<12} {first['eval'][source]:.3f} -> {last['eval'][source]:.3f}")
disagreements = [step for step in steps if len({event["hash"] for event in outer[step]}) > 1]
replicas = max(len(events) for events in outer.values())
sent = sum(event["bytes_sent"] for events in outer.values() for event in events) / sum(len(e) for e in outer.values())
print(f"bytes sent per replica per outer step: {sent:.0f}")
if disagreements:
    print(f"parameter hashes DIFFER at outer steps {disagreements}")
    sys.exit(1)
print(f"parameter hashes agree at all {len(steps)} outer steps ({replicas} replicas)")
