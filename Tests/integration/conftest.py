"""Starts real `crucible broker` processes for the integration tests and hands out their addresses."""
import os
import signal
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def crucible_binary() -> str:
    explicit = os.environ.get("CRUCIBLE_BIN")
    if explicit:
        return explicit
    for build in ("release", "debug"):
        candidate = ROOT / ".build" / build / "crucible"
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("no crucible binary: run `swift build` first or set CRUCIBLE_BIN")


def free_port() -> int:
    """A free port below the kernel's ephemeral range: a node restarting on a port from that range can find it
    taken by an outgoing connection (or another node's retries connecting to the port it listened on before)."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port below the ephemeral range")


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Polls until the broker accepts connections; fails at once if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"broker did not listen on {port} within {timeout}s")


class Broker:
    """One single-node broker in its own directory; can be killed and restarted on the same data."""

    def __init__(self, directory: Path, overrides: dict[str, str] | None = None):
        self.directory = directory
        self.port = free_port()
        self.controller_port = free_port()
        self.overrides = overrides or {}
        self.process: subprocess.Popen | None = None
        self.config_path = directory / "server.properties"
        self.log_path = directory / "broker.log"
        self._write_config()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        settings = {
            "node.id": "1",
            "process.roles": "broker,controller",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.directory / "data"),
            "num.partitions": "1",
            **self.overrides,
        }
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    def start(self) -> "Broker":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [crucible_binary(), "broker", "--config", str(self.config_path), "--standalone"],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process)
        return self

    def kill(self) -> None:
        """SIGKILL: nothing is flushed or closed cleanly."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM: a clean shutdown; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def make_broker():
    """Factory for brokers that are stopped (SIGKILL) at the end of the test whatever happened."""
    started: list[Broker] = []
    temp = tempfile.TemporaryDirectory(prefix="crucible-it-")

    def make(**overrides: str) -> Broker:
        directory = Path(temp.name) / f"broker-{len(started)}"
        directory.mkdir()
        broker = Broker(directory, {k.replace("_", "."): v for k, v in overrides.items()})
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        if broker.alive():
            broker.kill()
        elif broker.process is not None and broker.process.returncode not in (0, -signal.SIGKILL):
            # It died on its own: that is a bug, and its log says why.
            print(f"--- broker {broker.directory.name} exited {broker.process.returncode}; log tail:")
            print(broker.logs()[-6000:])
    temp.cleanup()


@pytest.fixture
def broker(make_broker) -> Broker:
    return make_broker()


def unique_topic(prefix: str = "t") -> str:
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns()}"


class ClusterNode(Broker):
    """One node of a multi-node cluster (combined broker and controller roles), formatted with the cluster's id
    and started without --standalone. `voters` is set once every node has its ports."""

    def __init__(self, directory: Path, node_id: int, cluster_id: str, overrides: dict[str, str] | None = None):
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.voters = ""
        super().__init__(directory, overrides)

    def _write_config(self) -> None:
        settings = {
            "node.id": str(self.node_id),
            "process.roles": "broker,controller",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.voters": self.voters,
            "log.dirs": str(self.directory / "data"),
            "num.partitions": "1",
            **self.overrides,
        }
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    def format(self) -> None:
        subprocess.run([crucible_binary(), "storage", "format", "--config", str(self.config_path),
                        "--cluster-id", self.cluster_id], check=True, capture_output=True)

    def start(self, wait: bool = True) -> "ClusterNode":
        """A cluster node opens its client port only once a quorum has registered and unfenced it, so a node
        alone never listens: start them all, then wait (`wait=False`)."""
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([crucible_binary(), "broker", "--config", str(self.config_path)],
                                        stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_until_listening()
        return self

    def wait_until_listening(self) -> None:
        wait_for_port(self.port, self.process, timeout=60.0)


@pytest.fixture
def make_cluster():
    """Factory for an n-node cluster on free loopback ports: one cluster id from `storage random-uuid`, every
    node formatted and started. Nodes still running at the end are SIGKILLed."""
    nodes: list[ClusterNode] = []
    temp = tempfile.TemporaryDirectory(prefix="crucible-cluster-")

    def make(size: int = 3, **overrides: str) -> list[ClusterNode]:
        cluster_id = subprocess.run([crucible_binary(), "storage", "random-uuid"], check=True,
                                    capture_output=True, text=True).stdout.strip()
        created = []
        for node_id in range(1, size + 1):
            directory = Path(temp.name) / f"node-{node_id}"
            directory.mkdir()
            created.append(ClusterNode(directory, node_id, cluster_id,
                                       {k.replace("_", "."): v for k, v in overrides.items()}))
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in created)
        for node in created:
            node.voters = voters
            node._write_config()
            node.format()
        nodes.extend(created)
        for node in created:
            node.start(wait=False)
        for node in created:
            node.wait_until_listening()
        return created

    yield make
    for node in nodes:
        if node.alive():
            node.kill()
        elif node.process is not None and node.process.returncode not in (0, -signal.SIGKILL):
            print(f"--- node {node.node_id} exited {node.process.returncode}; log tail:")
            print(node.logs()[-6000:])
    temp.cleanup()


# Results more than one test module reads, made once per session (bench_support and verify_support import this
# module, hence the imports inside the fixtures).

@pytest.fixture(scope="session")
def omb_set(tmp_path_factory):
    """One `crucible bench` invocation of every OMB workload and driver file, unchanged, through a benchmark set:
    run i pairs workload i mod 9 with driver i mod 14 (14 runs), so every workload and every driver runs.
    Returns (pairs, output directory, completed process). Session-wide: the report tests render the same results."""
    from bench_support import OMB_DRIVERS, OMB_WORKLOADS, QUICK, bench, write_yaml
    workloads = sorted(OMB_WORKLOADS.glob("*.yaml"))
    drivers = sorted(OMB_DRIVERS.glob("*.yaml"))
    assert len(workloads) == 9 and len(drivers) == 14, (workloads, drivers)
    pairs = [(workloads[i % len(workloads)], drivers[i % len(drivers)]) for i in range(max(len(workloads), len(drivers)))]
    runs: dict[Path, list[Path]] = {}
    for workload, driver in pairs:
        runs.setdefault(workload, []).append(driver)
    tmp = tmp_path_factory.mktemp("omb-set")
    set_file = write_yaml(tmp / "omb-set.yaml", "name: every OMB workload and driver\nruns:\n" + "".join(
        f"  - workload: {w}\n    drivers: [{', '.join(str(d) for d in ds)}]\n" for w, ds in runs.items()))
    out = tmp / "out"
    # OMB's 100-topic workload alone (100 producers, 300 consumers) takes minutes here: see the timeout marks.
    # With this machine's calibration (measured once per invocation, reported in every result).
    completed = bench(set_file, "--output", out, *QUICK, "--test-minutes", "0.05", timeout=1700)
    return pairs, out, completed


@pytest.fixture(scope="session")
def verify_runs(tmp_path_factory):
    """Every shipped scenario once, seed 1, each in its own invocation, in its short form, two at a time (each
    cluster of its own: a run mostly waits on its nemesis and its time limit, and the suite has 30 minutes).
    Returns name -> (completed process, run directory, output directory)."""
    from concurrent.futures import ThreadPoolExecutor
    from verify_support import SCENARIOS, SHORT, verify
    out = tmp_path_factory.mktemp("verify")

    def run(name: str, seconds: int):
        completed = verify(SCENARIOS / f"{name}.yaml", "--seed", 1, "--time-limit", seconds, "--output", out / name, timeout=600)
        run_dirs = sorted((out / name / name).glob("run-*"))
        return name, (completed, run_dirs[0] if run_dirs else None, out / name)
    # Longest first, so the two workers end together.
    ordered = sorted(SHORT.items(), key=lambda item: -item[1])
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(lambda item: run(*item), ordered))
