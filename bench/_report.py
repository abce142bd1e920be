"""How the benchmarks print their figures (not a benchmark itself)."""

from __future__ import annotations

import os

import _engine_common as common
import numpy as np


def pct(values: list[float], q: float) -> float:
    return common.percentile(values, q)


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "p50    n/a      p95    n/a     (no samples)"
    return f"p50 {pct(values, 50) * 1000:7.1f} ms  p95 {pct(values, 95) * 1000:7.1f} ms  (n={len(values)})"


def fmt_s(values: list[float]) -> str:
    if not values:
        return "p50   n/a    p95   n/a   (no samples)"
    return f"p50 {pct(values, 50):6.3f} s  p95 {pct(values, 95):6.3f} s  (n={len(values)})"


def ratio(a: float, b: float) -> str:
    if not (b and np.isfinite(a) and np.isfinite(b)):
        return "  n/a"
    return f"{a / b:5.2f}x"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
