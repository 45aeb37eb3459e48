"""Any node of a 3-node cluster serves as the only bootstrap: producing to a new topic through it alone (kcat,
confluent-kafka) auto-creates the topic, and a node that is killed and restarted under produce load never answers a
Metadata request with a topic (or a partition) missing that existed before it went down."""
import collections
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from admin_support import FAST_FAILURE, create_topic, module_cluster, node_bootstrap, wait_in_sync
from cluster import produce_patiently, wait_for
from conftest import unique_topic
from kafka_wire import Connection, metadata_v1, request


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from module_cluster(tmp_path_factory.mktemp("any-node") / "cluster", overrides=FAST_FAILURE)


# --- a raw Metadata v1 request to one node ----------------------------------------------------------------------

class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def one(self, fmt: str) -> int:
        return self.take(fmt)[0]

    def string(self) -> str | None:
        size = self.one(">h")
        if size < 0:
            return None
        text = self.data[self.pos:self.pos + size].decode()
        self.pos += size
        return text


def parse_metadata_v1(body: bytes) -> dict[str, tuple[int, dict[int, int]]]:
    """Metadata v1 response body -> {topic: (topic error, {partition: partition error})}."""
    r = Reader(body)
    for _ in range(r.one(">i")):  # brokers: node_id, host, port, rack
        r.one(">i"), r.string(), r.one(">i"), r.string()
    r.one(">i")  # controller_id
    topics = {}
    for _ in range(r.one(">i")):
        error, name = r.one(">h"), r.string()
        r.one(">b")  # is_internal
        partitions = {}
        for _ in range(r.one(">i")):
            p_error, index, _leader = r.take(">hii")
            r.take(f">{r.one('>i')}i")  # replicas
            r.take(f">{r.one('>i')}i")  # isr
            partitions[index] = p_error
        topics[name] = (error, partitions)
    assert r.pos == len(body), f"{len(body) - r.pos} bytes left over in a Metadata v1 response"
    return topics


def metadata_of(port: int, correlation: int = 1) -> dict[str, tuple[int, dict[int, int]]]:
    """All topics, as one node alone answers (raises OSError while it cannot be reached)."""
    connection = Connection(port, timeout=5)
    try:
        connection.send(request(3, 1, correlation, metadata_v1(None)))
        got, body = connection.receive()
    finally:
        connection.close()
    assert got == correlation
    return parse_metadata_v1(body)


def missing_from(topics: dict, expected: dict[str, int]) -> list[str]:
    """What a Metadata answer lacks of `expected` ({topic: partition count}): absent or failed topics, absent
    partitions. Partition-level errors (a leader moving) are allowed; a hole in the listing is not."""
    problems = []
    for name, count in expected.items():
        if name not in topics:
            problems.append(f"{name} absent")
        elif topics[name][0] != 0:
            problems.append(f"{name} error {topics[name][0]}")
        elif set(topics[name][1]) != set(range(count)):
            problems.append(f"{name} partitions {sorted(topics[name][1])} instead of 0..{count - 1}")
    return problems


# --- (a) auto-creation through any one node ---------------------------------------------------------------------

def values_in(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list[bytes]:
    """Every value in every partition of `topic`, from the beginning to the end (at least `expect` of them)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "any-node", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    got, at_end = [], set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (len(got) < expect or at_end != set(partitions)):
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
            continue
        at_end.discard(msg.partition())
        got.append(msg.value())
    consumer.close()
    return got


@pytest.mark.parametrize("client", ["kcat", "confluent-kafka"])
@pytest.mark.parametrize("node_id", [1, 2, 3])
def test_producing_through_one_node_auto_creates_the_topic(cluster, node_id, client):
    only = node_bootstrap(cluster, node_id)
    topic = unique_topic(f"auto-{client}-via-{node_id}")
    value = f"first record of {topic}".encode()
    if client == "kcat":
        result = subprocess.run(["kcat", "-b", only, "-P", "-t", topic], input=value + b"\n", capture_output=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
    else:
        reports = []
        producer = Producer({"bootstrap.servers": only, "acks": "all"})
        producer.produce(topic, value=value, on_delivery=lambda err, msg: reports.append((err, msg.offset())))
        assert producer.flush(30) == 0
        assert reports == [(None, 0)], reports  # acknowledged, as the first record of a new partition

    # Every node now lists the topic, with the same partitions...
    def listed_everywhere():
        views = [metadata_of(cluster.port(n)).get(topic) for n in (1, 2, 3)]
        return all(v and v[0] == 0 and v[1] for v in views) and len({tuple(sorted(v[1])) for v in views}) == 1
    wait_for(listed_everywhere, 30, f"{topic} in every node's metadata")
    # ... and the record reads back, through the same node alone.
    assert values_in(only, topic, expect=1) == [value]


# --- (b) restarts never serve a Metadata response with holes ----------------------------------------------------

class MetadataPoller(threading.Thread):
    """Asks one node for all topics in a tight loop, counting answers and refusals per phase of the test and
    recording every answer that lacks one of the expected topics or partitions."""

    def __init__(self, port: int, expected: dict[str, int]):
        super().__init__(daemon=True)
        self.port, self.expected = port, expected
        self.phase = "before"
        self.answers = collections.Counter()
        self.unreachable = collections.Counter()
        self.holes: list[tuple[str, list[str]]] = []
        self.stop = threading.Event()

    def run(self):
        correlation = 0
        while not self.stop.is_set():
            correlation += 1
            phase = self.phase
            try:
                topics = metadata_of(self.port, correlation)
            except (OSError, ConnectionError):
                # Refused while down or starting, or cut off by the kill: fine.
                self.unreachable[phase] += 1
                time.sleep(0.005)
                continue
            except Exception as error:  # a malformed answer is a failure like a hole
                self.holes.append((phase, [f"unreadable Metadata response: {error!r}"]))
                continue
            problems = missing_from(topics, self.expected)
            if problems:
                self.holes.append((phase, problems))
            self.answers[phase] += 1


def test_a_restarted_node_never_answers_metadata_with_missing_topics(cluster):
    expected = {}
    for partitions in (1, 3, 6):
        name = unique_topic(f"existing-{partitions}p")
        create_topic(cluster, name, partitions=partitions, rf=3)
        expected[name] = partitions
    target = 3
    port = cluster.port(target)
    # The node knows them all before anything happens to it.
    wait_for(lambda: not missing_from(metadata_of(port), expected), 30, f"node {target} lists the topics")

    # Produce load on the cluster throughout (through every node).
    loaded = next(iter(expected))
    acked = []
    stop_producing = threading.Event()

    def produce():
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 5, "message.timeout.ms": 60000})
        i = 0
        while not stop_producing.is_set():
            produce_patiently(producer, loaded, value=b"load-%08d" % i,
                             on_delivery=lambda err, msg: acked.append(msg.offset()) if err is None else None)
            producer.poll(0)
            i += 1
            if i % 50 == 0:
                time.sleep(0.005)
        producer.flush(60)

    producer_thread = threading.Thread(target=produce, daemon=True)
    poller = MetadataPoller(port, expected)
    producer_thread.start()
    poller.start()
    try:
        for cycle in (1, 2):
            wait_for(lambda: poller.answers[poller.phase] >= 20, 30, f"node {target} answering before kill {cycle}")
            count = len(acked)
            wait_for(lambda: len(acked) > count + 100, 30, "produce load acknowledged")
            cluster.node("kill", target)
            poller.phase = f"killed {cycle}"
            cluster.node("start", target)
            # Set only after the old process is gone: every answer counted from here comes from the new one.
            poller.phase = f"restarted {cycle}"
            wait_for(lambda: poller.answers[f"restarted {cycle}"] >= 50, 90,
                     f"node {target} answering Metadata again after restart {cycle}")
            for name, partitions in expected.items():
                wait_in_sync(cluster, name, partitions, timeout=90)
    finally:
        poller.stop.set()
        stop_producing.set()
        poller.join(30)
        producer_thread.join(90)

    assert not poller.holes, f"{len(poller.holes)} Metadata answers with holes, e.g. {poller.holes[:5]}"
    for cycle in (1, 2):
        # The poller really saw the node go away (so the answers after it came from a restarted process).
        assert poller.unreachable[f"killed {cycle}"] + poller.unreachable[f"restarted {cycle}"] > 0, poller.unreachable
        assert poller.answers[f"restarted {cycle}"] >= 50
    assert len(acked) > 200
