"""Reads a Prometheus text-format page with prometheus_client's own parser and prints every sample as one
JSON object: {"name{label=value,...}": value}, labels sorted. The metrics test compares two of these.

    python metrics_sample.py http://127.0.0.1:9100/metrics
"""

import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    samples = {"__content_type__": content_type}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
