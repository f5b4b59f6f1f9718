"""Benchmark: the widget's recommendations endpoint under load (wrk against gunicorn on loopback).

Builds the demo store in a fresh PostgreSQL database (or SQLite with `--sqlite`), computes its
cross-sells, starts gunicorn on 127.0.0.1 (`cvo_plugin:create_app()`, production settings,
Redis for the cache and the limits unless `--no-redis`), warms the cache, then runs wrk for
`--duration` seconds at `--rate` requests a second spread over the shop's 60 most ordered
products (a Lua script paces the requests on a monotonic clock and picks a product per
request). Prints the achieved rate, latency percentiles and errors, and checks the target:
1,000 requests/s for 60 s with p99 under 20 ms and no errors. Exits 1 when it is missed.

The per-address limit is raised for the run (every request comes from 127.0.0.1); the per-shop
limit keeps its default (120,000 a minute), so both limits are still counted on every request.

    python bench/widget_load.py [--duration 60] [--rate 1000] [--workers 2] [--threads 1]
        [--pg postgresql://postgres@127.0.0.1:5432/cvo_bench_widget | --sqlite] [--no-redis]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import select  # noqa: E402

from cvo_plugin.config import Settings  # noqa: E402
from cvo_plugin.db import Database  # noqa: E402
from cvo_plugin.migrate import upgrade  # noqa: E402
from cvo_plugin.models import Shop  # noqa: E402
from cvo_plugin.services.crosssell import bought_products  # noqa: E402
from cvo_plugin.services.demo import build_demo_store  # noqa: E402
from cvo_plugin.tasks import COMPUTE_CROSSSELL, QUEUE_ANALYTICS, TaskQueue  # noqa: E402

TARGET_RATE = 1000
TARGET_P99_MS = 20.0
PRODUCTS = 60

LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } cvo_timespec;
int clock_gettime(int clk_id, cvo_timespec *tp);
]]
local ts = ffi.new("cvo_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local interval = %(interval_ms)f  -- ms between requests of one wrk thread
local next_at = nil
local counter = 0

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Accept"] = "application/json"})
end

function delay()
  local now = now_ms()
  if next_at == nil then next_at = now end
  next_at = next_at + interval
  local wait = next_at - now
  if wait < 0 then return 0 end
  return wait
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'CVO_RESULT {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50": %%d, "p90": %%d, "p99": %%d, ' ..
    '"p999": %%d, "max": %%d, "mean": %%f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(database_url: str, customers: int) -> tuple[str, list[str]]:
    """The demo shop with computed cross-sells; its public key and most ordered products."""
    upgrade(database_url)
    database = Database(database_url)
    with tempfile.TemporaryDirectory() as tmp:
        store = build_demo_store(database, Path(tmp) / "demo", customers=customers, seed=7)
    settings = Settings(env="testing", database_url=database_url, secret_key="s", token_encryption_key="k")
    TaskQueue(settings, database).enqueue(
        COMPUTE_CROSSSELL, store.shop_id, kind="crosssell", queue=QUEUE_ANALYTICS
    )
    with database.session() as session:
        key = session.scalars(select(Shop.public_key).where(Shop.id == store.shop_id)).one()
        products = [p.platform_id for p in bought_products(session, store.shop_id, limit=PRODUCTS)]
    database.dispose()
    return key, products


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        "cvo_plugin:create_app()",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def run_wrk(base: str, paths: Path, rate: int, duration: int, connections: int, tmp: Path) -> dict[str, Any]:
    threads = 1
    script = tmp / "pace.lua"
    script.write_text(LUA % {"paths": paths, "interval_ms": 1000.0 * threads / rate})
    command = [
        "wrk",
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{duration}s",
        "--timeout",
        "2s",
        "--script",
        str(script),
        base,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("CVO_RESULT "))
    return json.loads(line[len("CVO_RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--rate", type=int, default=TARGET_RATE)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cvo_bench_widget")
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of PostgreSQL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis for the cache and limits")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.sqlite:
            database_url = f"sqlite:///{tmp / 'bench.db'}"
        else:
            from import_orders import fresh_postgres

            database_url = fresh_postgres(args.pg)
        started = time.perf_counter()
        key, products = prepare(database_url, args.customers)
        ready = time.perf_counter() - started
        print(f"demo shop with {len(products)} products to ask for, ready in {ready:.1f} s")
        redis_url = "" if args.no_redis else args.redis
        if redis_url:
            from redis import Redis

            Redis.from_url(redis_url).flushdb()
        env = {
            **os.environ,
            "CVO_ENV": "production",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": os.urandom(24).hex(),
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "CVO_INSTANCE_DIR": str(tmp / "instance"),
            "WIDGET_RATE_LIMIT_IP": str(args.rate * 120),
        }
        paths = tmp / "paths.txt"
        paths.write_text(
            "\n".join(f"/widget/v1/recommendations?shop={key}&product_id={p}&limit=4" for p in products)
            + "\n"
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(env, port, args.workers, args.threads)
        try:
            for _ in range(args.workers * 3):  # every worker fills its process cache
                for path in paths.read_text().split():
                    with urllib.request.urlopen(base + path, timeout=10) as response:
                        assert response.status == 200
            result = run_wrk(base, paths, args.rate, args.duration, args.connections, tmp)
        finally:
            stop(server)

    seconds = result["duration_us"] / 1e6
    rate = result["requests"] / seconds
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    p99_ms = result["p99"] / 1000
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); wrk: 1 thread, "
        f"{args.connections} connections, paced at {args.rate}/s; database: "
        f"{'SQLite' if args.sqlite else 'PostgreSQL'}; Redis: {'off' if not redis_url else 'on'}"
    )
    print("| duration (s) | requests | requests/s | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | max (ms) "
          "| errors |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {seconds:.1f} | {result['requests']:,} | {rate:,.0f} | {result['p50'] / 1000:.2f} | "
        f"{result['p90'] / 1000:.2f} | {p99_ms:.2f} | {result['p999'] / 1000:.2f} | "
        f"{result['max'] / 1000:.2f} | {errors} |"
    )
    ok = rate >= 0.98 * TARGET_RATE and p99_ms < TARGET_P99_MS and errors == 0
    full = args.duration >= 60 and args.rate >= TARGET_RATE
    verdict = "met" if ok else "MISSED"
    print(f"target (>= {TARGET_RATE}/s for 60 s, p99 < {TARGET_P99_MS:.0f} ms, no errors): {verdict}"
          + ("" if full else " (short run: not the full target)"))  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
