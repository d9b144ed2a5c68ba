"""Redis servers of our own, started and stopped here: a three-node Redis Cluster for the
contract suites, and a private single server for the benches' ``INFO commandstats`` (a shared
server counts every other client's commands too).

Each server listens on a free loopback port, keeps nothing on disk beyond its temporary
folder, and is stopped when the context ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CLUSTER_BUS_OFFSET = 10_000  # Redis Cluster's node-to-node port is the client port + 10000


def redis_server_missing() -> str | None:
    """Why our own servers cannot be started here, or None when they can."""
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/system-deps.sh --test installs it)"
    return None


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, bus: bool = False) -> list[int]:
    """``count`` loopback ports free now (and their cluster bus ports, with ``bus``)."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port in found or port + CLUSTER_BUS_OFFSET > 65535:
            continue
        if not bus or _port_free(port + CLUSTER_BUS_OFFSET):
            found.append(port)
    return found


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout


def _wait(check: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} within {timeout:.0f} s")


@contextlib.contextmanager
def _servers(ports: list[int], folder: Path, *extra: str) -> Iterator[None]:
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            args += ["--dir", str(folder), "--dbfilename", f"dump-{port}.rdb", *extra]
            if "--cluster-enabled" in extra:
                args += ["--cluster-config-file", f"nodes-{port}.conf"]
            processes.append(
                subprocess.Popen(
                    ["redis-server", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        for port in ports:
            _wait(
                # NOAUTH: up, with a password (--requirepass)
                lambda port=port: any(w in _cli(port, "ping") for w in ("PONG", "NOAUTH")),
                f"redis-server on port {port} did not start",
            )
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def private_redis(*extra: str, port: int | None = None) -> Iterator[str]:
    """A single redis-server of our own (``extra``: more redis-server options; ``port``: a
    port of an earlier one, to start it again there): its URL."""
    with tempfile.TemporaryDirectory(prefix="kepu-redis-") as tmp:
        if port is None:
            (port,) = free_ports(1)
        with _servers([port], Path(tmp), *extra):
            yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def redis_cluster(nodes: int = 3) -> Iterator[str]:
    """A Redis Cluster of ``nodes`` primaries (no replicas), slots spread by ``redis-cli
    --cluster create``: the URL of its first node (any node will do for a cluster client)."""
    with tempfile.TemporaryDirectory(prefix="kepu-cluster-") as tmp:
        ports = free_ports(nodes, bus=True)
        with _servers(ports, Path(tmp), "--cluster-enabled", "yes", "--cluster-node-timeout", "5000"):
            created = subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{p}" for p in ports),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if created.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
            for port in ports:
                _wait(
                    lambda port=port: "cluster_state:ok" in _cli(port, "cluster", "info"),
                    f"cluster node {port} did not reach cluster_state:ok",
                )
            yield f"redis://127.0.0.1:{ports[0]}/0"
