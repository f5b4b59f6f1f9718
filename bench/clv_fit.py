"""Benchmark: BG/NBD + Gamma-Gamma fit (and the per-customer predictions) for 100,000 customers.

Simulates customers from known BG/NBD and Gamma-Gamma parameters (`analytics.simulate`: up to
three years, time in weeks at day resolution, as the job feeds the model), fits both models by
maximum likelihood and computes P(alive), expected purchases in 90 and 365 days and the
predicted 12-month value of every customer. Prints the time of each step and the recovered
parameters next to the true ones. Target: under 30 s for the fit.

    python bench/clv_fit.py [--customers 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cvo_plugin.analytics import clv  # noqa: E402
from cvo_plugin.analytics.simulate import simulate_customers  # noqa: E402

TRUE_BGNBD = {"r": 0.6, "alpha": 12.0, "a": 0.8, "b": 2.5}
TRUE_GAMMA_GAMMA = {"p": 4.0, "q": 5.0, "v": 60.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    customers = simulate_customers(args.customers, TRUE_BGNBD, TRUE_GAMMA_GAMMA, seed=args.seed)
    x, t_x, T, m_x = customers.x, customers.t_x, customers.T, customers.m_x

    times = {}
    start = time.perf_counter()
    bgnbd = clv.bgnbd_fit(x, t_x, T)
    times["BG/NBD fit"] = time.perf_counter() - start
    step = time.perf_counter()
    gamma_gamma = clv.gamma_gamma_fit(x, m_x)
    times["Gamma-Gamma fit"] = time.perf_counter() - step
    fit_total = time.perf_counter() - start
    step = time.perf_counter()
    clv.p_alive(bgnbd, x, t_x, T)
    clv.expected_purchases(bgnbd, 90 / 7, x, t_x, T)
    e365 = clv.expected_purchases(bgnbd, 365 / 7, x, t_x, T)
    clv.predicted_value(e365, clv.expected_spend(gamma_gamma, x, m_x), 0.45)
    times["P(alive), E[orders 90/365 d], 12-month value"] = time.perf_counter() - step
    times["total"] = time.perf_counter() - start

    print(
        f"BG/NBD + Gamma-Gamma: {args.customers:,} simulated customers ({int((x > 0).sum()):,} repeat buyers)"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} cpus, {platform.machine()}"
    )
    print()
    print("| step | seconds |")
    print("| --- | ---: |")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.2f} |")
    print()
    print("| parameter | true | fitted |")
    print("| --- | ---: | ---: |")
    for name, value in TRUE_BGNBD.items():
        print(f"| BG/NBD {name} | {value:g} | {getattr(bgnbd, name):.3f} |")
    for name, value in TRUE_GAMMA_GAMMA.items():
        print(f"| Gamma-Gamma {name} | {value:g} | {getattr(gamma_gamma, name):.3f} |")
    print(
        f"\nconverged: BG/NBD {bgnbd.converged}, Gamma-Gamma {gamma_gamma.converged}; "
        f"target fit < 30 s: {'met' if fit_total < 30 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
