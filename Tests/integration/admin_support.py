"""Shared pieces for the admin API, admin tool, reassignment and rack tests: one cluster per test module, topics with
a known placement, producing and reading back through librdkafka, the crucible CLI, and Kafka's error codes."""
import json
import subprocess
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, wait_for
from conftest import crucible_binary

# Failures are noticed within seconds, so a stopped node leaves the ISR and comes back quickly.
FAST_FAILURE = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "3000",
}

# Kafka's error codes (org.apache.kafka.common.protocol.Errors) under Kafka's names; both clients report these
# numbers unchanged (kafka-python's error classes' errno, librdkafka's KafkaError.code()).
NONE = 0
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_PARTITIONS = 37
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_CONFIG = 40
ELECTION_NOT_NEEDED = 84
NO_REASSIGNMENT_IN_PROGRESS = 85

assert (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.INVALID_PARTITIONS,
        KafkaError.INVALID_REPLICA_ASSIGNMENT, KafkaError.INVALID_CONFIG, KafkaError.ELECTION_NOT_NEEDED,
        KafkaError.NO_REASSIGNMENT_IN_PROGRESS) == (OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS,
                                                    INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG, ELECTION_NOT_NEEDED,
                                                    NO_REASSIGNMENT_IN_PROGRESS)


def module_cluster(directory: Path, **kwargs):
    """Generator for a module-scoped fixture: a cluster that is up for the whole module and torn down after it."""
    cluster = Cluster(directory, **kwargs)
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


def node_ids(cluster) -> list[int]:
    return sorted(int(n["id"]) for n in cluster.status()["nodes"])


def node_bootstrap(cluster, node_id: int) -> str:
    return f"127.0.0.1:{cluster.port(node_id)}"


def node_properties(cluster, node_id: int) -> dict[str, str]:
    """The server.properties `cluster up` wrote for one node."""
    text = (cluster.directory / f"node-{node_id}" / "server.properties").read_text()
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#")]
    return {k.strip(): v.strip() for k, v in pairs}


def node_log(cluster, node_id: int) -> str:
    return (cluster.directory / f"node-{node_id}" / "broker.log").read_text(errors="replace")


def topic_names(bootstrap: str) -> set[str]:
    """Every topic the cluster lists. Asks for all topics: naming one would let librdkafka auto-create it."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
    return set(admin.list_topics(timeout=10).topics)


def create_topic(cluster, name: str, partitions: int = 1, rf: int = 3, assignment: list[list[int]] | None = None,
                 config: dict[str, str] | None = None) -> None:
    """Creates a topic through librdkafka (`assignment` is one replica list per partition) and waits until every
    partition has a leader and all its replicas in sync."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    if assignment:
        topic = NewTopic(name, num_partitions=len(assignment), replica_assignment=assignment, config=config or {})
    else:
        topic = NewTopic(name, partitions, rf, config=config or {})
    admin.create_topics([topic], operation_timeout=30)[name].result(60)
    wait_in_sync(cluster, name, len(assignment) if assignment else partitions)


def wait_in_sync(cluster, topic: str, partitions: int = 1, timeout: float = 60) -> None:
    for p in range(partitions):
        def in_sync(p=p):
            leader, replicas, isr = cluster.partition(topic, p)
            return leader in replicas and sorted(isr) == sorted(replicas)
        wait_for(in_sync, timeout, f"{topic}-{p} led and fully in sync")


def wait_all_brokers_live(cluster, timeout: float = 60) -> None:
    """Until every node, asked alone, lists every broker as live: a node restarted by an earlier test is unfenced
    (and listed) only once it has caught up."""
    ids = node_ids(cluster)

    def all_listed():
        for node in ids:
            admin = AdminClient({"bootstrap.servers": node_bootstrap(cluster, node), "socket.timeout.ms": 5000})
            if sorted(admin.list_topics(timeout=10).brokers) != ids:
                return None
        return True
    wait_for(all_listed, timeout, f"brokers {ids} live on every node")


def wait_all_in_sync(cluster, timeout: float = 60) -> None:
    """Until every partition of every topic has a leader and all its replicas in sync (after a node restarted)."""
    def all_in_sync():
        admin = AdminClient({"bootstrap.servers": cluster.live_bootstrap(), "socket.timeout.ms": 5000})
        lagging = [f"{t.topic}-{p.id}" for t in admin.list_topics(timeout=10).topics.values()
                   for p in t.partitions.values() if p.leader < 0 or sorted(p.isrs) != sorted(p.replicas)]
        return not lagging or None
    wait_for(all_in_sync, timeout, "every partition fully in sync")


def produce(bootstrap: str, topic: str, values: list[bytes], partition: int = 0, **config) -> list[int]:
    """Produces with acks=all (idempotent) and returns each value's acknowledged offset, in order."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5,
                         **config})
    acked, errors = {}, []

    def report(err, msg):
        if err is None:
            acked[msg.value()] = msg.offset()
        else:
            errors.append(err)

    for value in values:
        producer.produce(topic, value=value, partition=partition, on_delivery=report)
        producer.poll(0)
    assert producer.flush(60) == 0, "messages left unacknowledged"
    assert not errors, errors[:5]
    return [acked[v] for v in values]


def read_partition(bootstrap: str, topic: str, partition: int = 0, start: int = OFFSET_BEGINNING,
                   expect: int | None = None, timeout: float = 60, **config) -> list[tuple[int, bytes]]:
    """(offset, value) from `start` to the end of the partition (waiting for at least `expect` records)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "admin-tests", "enable.auto.commit": False,
                         "enable.partition.eof": True, **config})
    consumer.assign([TopicPartition(topic, partition, start)])
    got = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF and (expect is None or len(got) >= expect):
                    break
                continue
            got.append((msg.offset(), msg.value()))
    finally:
        consumer.close()
    return got


def tool(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs `crucible ARGS...` and returns the finished process (text output)."""
    return subprocess.run([crucible_binary(), *args], input=stdin, capture_output=True, text=True, timeout=timeout)


def ok(*args: str) -> str:
    result = tool(*args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def write_json(path: Path, document) -> str:
    path.write_text(json.dumps(document))
    return str(path)
