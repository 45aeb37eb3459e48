"""A real local cluster for tests, driven through `crucible cluster`, with helpers to find leaders and wait."""
import json
import random
import socket
import subprocess
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient

from conftest import crucible_binary


def free_port_block(size: int = 300) -> int:
    """A base port P such that P..P+size look free (the cluster uses P+i, P+100+i and, for metrics, P+200+i)."""
    # Below the kernel's ephemeral range (32768+): a restarted node's port must not be one an outgoing connection
    # (or a peer's retry connecting to itself) has taken meanwhile.
    for _ in range(200):
        base = random.randrange(20000, 32000 - size)
        if all(_free(base + i) for i in (0, 1, 2, 100, 101, 102, 200, 201, 202)):
            return base
    raise RuntimeError("no free port block")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    """Polls `condition` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as error:  # a node may be down while we poll
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def produce_patiently(producer, topic: str, timeout: float = 120, **fields):
    """Produces as a well-behaved application does: when librdkafka's local queue is full (a failover can stall
    deliveries longer than a fast loop takes to fill 100,000 slots), it serves delivery reports and tries again
    instead of letting BufferError end the producing thread."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            producer.produce(topic, **fields)
            return
        except BufferError:
            if time.monotonic() > deadline:
                raise
            producer.poll(0.1)


class Cluster:
    def __init__(self, directory: Path, nodes: int = 3, overrides: dict[str, str] | None = None,
                 node_overrides: dict[int, dict[str, str]] | None = None, network_namespaces: bool = False,
                 movable_clocks: bool = False, faulty_disks: bool = False, security: str = "plaintext"):
        """`overrides` go into every node's server.properties (`--override K=V`); `node_overrides` into one node's
        only (`--node-override ID:K=V`), e.g. {2: {"broker.rack": "b"}}."""
        self.directory = directory
        self.nodes = nodes
        self.base_port = free_port_block()
        self.overrides = overrides or {}
        self.node_overrides = node_overrides or {}
        self.network_namespaces = network_namespaces
        self.movable_clocks = movable_clocks
        self.faulty_disks = faulty_disks
        self.security = security

    def crucible(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([crucible_binary(), *args], capture_output=True, text=True, timeout=timeout)

    def up(self) -> str:
        args = ["cluster", "up", "--dir", str(self.directory), "--nodes", str(self.nodes),
                "--base-port", str(self.base_port)]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        for node_id, settings in sorted(self.node_overrides.items()):
            for key, value in settings.items():
                args += ["--node-override", f"{node_id}:{key}={value}"]
        if self.network_namespaces:
            args.append("--network-namespaces")
        if self.movable_clocks:
            args.append("--movable-clocks")
        if self.faulty_disks:
            args.append("--faulty-disks")
        if self.security != "plaintext":
            args += ["--security", self.security]
        result = self.crucible(*args)
        assert result.returncode == 0, result.stderr + self.logs()
        self.bootstrap = result.stdout.strip().splitlines()[-1]
        return self.bootstrap

    def client_properties(self) -> dict[str, str]:
        """DIR/client.properties of a --security cluster: librdkafka's names (kcat -F, confluent-kafka)."""
        lines = (self.directory / "client.properties").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def down(self) -> None:
        self.crucible("cluster", "down", "--dir", str(self.directory))

    def node(self, action: str, node_id: int) -> None:
        result = self.crucible("cluster", action, "--dir", str(self.directory), "--node", str(node_id))
        assert result.returncode == 0, result.stderr

    def port(self, node_id: int) -> int:
        return self.base_port + node_id - 1

    def status(self) -> dict:
        return json.loads(self.crucible("cluster", "status", "--dir", str(self.directory), "--json").stdout)

    def live_bootstrap(self) -> str:
        live = [n for n in self.status()["nodes"] if n["state"] == "running"]
        return ",".join(n["address"] for n in live)

    def partition(self, topic: str, partition: int = 0, via: str | None = None):
        """(leader, replicas, isr) as the cluster's metadata says (waiting while a node still learns the topic)."""
        def lookup():
            admin = AdminClient({"bootstrap.servers": via or self.live_bootstrap(), "socket.timeout.ms": 2000})
            topics = admin.list_topics(topic, timeout=5).topics
            found = topics.get(topic)
            return found.partitions.get(partition) if found else None

        p = wait_for(lookup, 15, f"metadata for {topic}-{partition}")
        return p.leader, list(p.replicas), list(p.isrs)

    def logs(self) -> str:
        out = []
        for log in sorted(self.directory.glob("node-*/broker.log")):
            out.append(f"--- {log.parent.name}\n" + log.read_text(errors="replace")[-4000:])
        return "\n".join(out)


def assert_refused_without(tmp_path, flag: str, *command: str) -> None:
    """A one-node cluster started without `flag` refuses `crucible cluster COMMAND --node 1` with exit 2 naming
    the flag, and keeps running."""
    cluster = Cluster(tmp_path / "plain", nodes=1)
    cluster.up()
    try:
        refused = cluster.crucible("cluster", *command, "--dir", str(cluster.directory), "--node", "1")
        assert refused.returncode == 2 and flag in refused.stderr, refused.stderr
        assert cluster.status()["nodes"][0]["state"] == "running"
    finally:
        cluster.down()
