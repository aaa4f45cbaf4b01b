#!/usr/bin/env python3
"""Helm v4.2.3's own engine in-process (PyPI helm-python-sdk), timed on the same cases as
`cargo bench -p benches --bench helm`: load the chart directory, parse the case's values,
render (coalescing, dependencies and the engine). A benchmark oracle only.

    pip install helm-python-sdk && python3 benches/helm_sdk.py [ROUNDS]
"""
import statistics
import sys
import time
from pathlib import Path

from helm_python import Chart, values_from_yaml

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "helm"


def once(chart_dir, values_text):
    chart = Chart.load(str(chart_dir))
    try:
        values = values_from_yaml(values_text)
        return chart.render(values, name="demo", namespace="fleet-demo", revision=1,
                            is_install=True, is_upgrade=False)
    finally:
        chart.close()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for chart_id, case in [("podinfo", "defaults"),
                           ("kube-prometheus-stack", "defaults-with-grafana-password")]:
        base = CORPUS / chart_id
        text = (base / "cases" / f"{case}.yaml").read_text()
        once(base / "chart", text)  # warm up
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            once(base / "chart", text)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"helm-sdk render {chart_id}/{case}: median {median * 1000:.2f} ms "
              f"({1 / median:.1f} renders/s, {rounds} rounds)")


if __name__ == "__main__":
    main()
