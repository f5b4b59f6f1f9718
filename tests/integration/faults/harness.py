"""Real processes for the fault tests: `cvo worker` subprocesses, a redis-server of our own, and a
TCP proxy in front of PostgreSQL that a test can slow down or cut."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `predicate` until it returns something true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def descendants(pid: int) -> list[int]:
    """The processes started by `pid`, and theirs (from /proc), deepest first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    for child in children.get(pid, []):
        found += [*descendants_of(children, child), child]
    return found


def descendants_of(children: dict[int, list[int]], pid: int) -> list[int]:
    found: list[int] = []
    for child in children.get(pid, []):
        found += [*descendants_of(children, child), child]
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WorkerProcess:
    """`cvo worker` in its own process group (SIGKILL takes its work-horse down with it)."""

    def __init__(self, env: dict[str, str], queues: str, name: str, log_dir: Path) -> None:
        self.env, self.queues, self.name = env, queues, name
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, burst: bool = False) -> WorkerProcess:
        args = [
            sys.executable,
            "-c",
            "from cvo_plugin.cli import main; main()",
            "worker",
            "--queues",
            self.queues,
        ]
        args += ["--name", f"{self.name}-{time.monotonic_ns()}"] + (["--burst"] if burst else [])
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its work-horse (RQ starts the horse in a session of its own, so
        it is found by its parent), as a crash of the machine or the OOM killer would."""
        assert self.process is not None
        for pid in [*descendants(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End the worker (warm shutdown first)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def worker_env(database_url: str, redis_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker process of the tests."""
    from tests.conftest import TOKEN_KEY

    env = dict(os.environ)
    env.update(
        CVO_ENV="testing",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TOKEN_ENCRYPTION_KEY=TOKEN_KEY,
        SECRET_KEY="test-secret-key",
        CVO_INSTANCE_DIR=str(instance),
        JOB_RETRY_INTERVALS="1,1,1",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        SHOPIFY_API_KEY="test-api-key",
        SHOPIFY_API_SECRET="test-api-secret-0123456789abcdef",
    )
    env.update(extra)
    return env


class RedisServer:
    """A redis-server of our own on a free port, persisting to an append-only file in `directory`
    (so a restart keeps the queues, as a production Redis with AOF does)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis

        client = Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: _pings(client), 10, "redis-server to start")
        client.close()
        return self

    def restart(self) -> RedisServer:
        """Start again on the same port and data directory."""
        self.kill()
        return self.start()

    def kill(self) -> None:
        """SIGKILL the server (what is fsynced to the AOF survives)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` drops every connection and refuses new ones
    until `restore()`; `upload_rate` (bytes a second from the client, per connection) slows
    writes down (a `COPY` to the server) while reads stay fast."""

    def __init__(self, target: tuple[str, int], upload_rate: float | None = None) -> None:
        self.target = target
        self.upload_rate = upload_rate
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._stop.clear()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Drop every connection and stop listening (new connections are refused)."""
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self.start()

    def url(self, database_url: str) -> str:
        """`database_url` pointed at this proxy."""
        from sqlalchemy.engine import make_url

        return (
            make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        )

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        """Copy both ways between the client `a` and the server `b`."""
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is a and self.upload_rate:
                        time.sleep(len(data) / self.upload_rate)
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._sockets -= {a, b}
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass
