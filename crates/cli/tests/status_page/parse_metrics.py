"""Parses Prometheus text exposition with the prometheus_client package's own parser.

Usage: python parse_metrics.py < metrics.txt
Prints one JSON object: {family name: {"type": t, "samples": [[sample name, labels, value]]}}.
A text the parser rejects exits non-zero with its error.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    out[family.name] = {
        "type": family.type,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
print(json.dumps(out))
