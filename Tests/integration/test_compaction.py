"""Log compaction on a real node with a real client (confluent-kafka): a compacted topic keeps the newest value
per key at its original offset, tombstones go after delete.retention.ms, aborted transactions' data goes, records
without a key are refused with
INVALID_RECORD, and a node SIGKILLed while cleaning loses nothing the newest-per-key rule keeps. Each test waits
on the log's own state (the cleaner checkpoint, `.cleaned` files), never on a fixed sleep."""
import os
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from conftest import unique_topic

INVALID_RECORD = 87
CLEANER = {"log_cleaner_backoff_ms": "50"}


def create_compacted(bootstrap, topic, **config):
    settings = {"cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01",
                "segment.ms": "200", **{k.replace("_", "."): v for k, v in config.items()}}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config=settings)])[topic].result(15)


def set_dirty_ratio(bootstrap, topic, ratio):
    entry = ConfigEntry("min.cleanable.dirty.ratio", ratio, incremental_operation=AlterConfigOpType.SET)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    [future] = admin.incremental_alter_configs([ConfigResource("topic", topic, incremental_configs=[entry])]).values()
    future.result(15)


def produce(bootstrap, topic, pairs, batch=50, **settings):
    """Sends (key, value) pairs in order; returns {key: (offset, value)} of the last write of each key."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", **settings})
    newest, errors = {}, []

    def delivered(err, msg):
        if err:
            errors.append(err)
        else:
            previous = newest.get(msg.key())
            if previous is None or previous[0] < msg.offset():
                newest[msg.key()] = (msg.offset(), msg.value())
    for i, (key, value) in enumerate(pairs):
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
        if i % batch == batch - 1:
            producer.poll(0)
    producer.flush(30)
    assert errors == []
    return newest


def read_all(bootstrap, topic, isolation="read_committed"):
    """Every record as (offset, key, value), through a consumer reading from the log start."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction", "enable.partition.eof": True,
                         "enable.auto.commit": False, "isolation.level": isolation})
    consumer.assign([TopicPartition(topic, 0, 0)])
    records = []
    while True:
        msg = consumer.poll(10)
        assert msg is not None, "consumer timed out"
        if msg.error():
            assert msg.error().code() == msg.error()._PARTITION_EOF, msg.error()
            break
        records.append((msg.offset(), msg.key(), msg.value()))
    consumer.close()
    return records


def cleaned_up_to(broker, topic):
    path = broker.directory / "data" / "cleaner-offset-checkpoint"
    if not path.exists():
        return -1
    for line in path.read_text().splitlines()[2:]:
        name, partition, offset = line.split(" ")
        if name == topic and partition == "0":
            return int(offset)
    return -1


def wait_until(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def roll_and_wait_for_cleaning(broker, topic, end_offset):
    """segment.ms passes, so a marker record rolls the segment holding `end_offset - 1`; then waits until the
    cleaner's checkpoint is past it. Returns the marker's offset."""
    time.sleep(0.25)
    marker = produce(broker.bootstrap, topic, [(b"marker", b"roll")])[b"marker"][0]
    wait_until(lambda: cleaned_up_to(broker, topic) >= end_offset, f"{topic} cleaned past {end_offset}")
    return marker


def test_newest_value_per_key_at_its_original_offset(make_broker):
    broker = make_broker(**CLEANER)
    topic = unique_topic("compact")
    create_compacted(broker.bootstrap, topic)
    pairs = [(b"key-%02d" % (i % 20), b"value-%04d" % i) for i in range(2000)]
    newest = produce(broker.bootstrap, topic, pairs)
    roll_and_wait_for_cleaning(broker, topic, 2000)
    records = read_all(broker.bootstrap, topic)
    kept = {key: (offset, value) for offset, key, value in records if key != b"marker"}
    assert kept == newest
    assert len(records) == len(newest) + 1, "one record per key (and the marker)"
    assert [offset for offset, _, _ in records] == sorted(offset for offset, _, _ in records)


def test_tombstones_go_after_delete_retention_ms(make_broker):
    broker = make_broker(**CLEANER)
    topic = unique_topic("tombstones")
    create_compacted(broker.bootstrap, topic, delete_retention_ms="3000")
    newest = produce(broker.bootstrap, topic, [(b"doomed", b"v1"), (b"kept", b"v1"), (b"doomed", None)])
    marker = roll_and_wait_for_cleaning(broker, topic, newest[b"doomed"][0] + 1)
    assert (newest[b"doomed"][0], b"doomed", None) in read_all(broker.bootstrap, topic), "a tombstone stays a while"
    wait_until(lambda: all(key != b"doomed" for _, key, _ in read_all(broker.bootstrap, topic)), "the tombstone to go")
    assert read_all(broker.bootstrap, topic) == [(newest[b"kept"][0], b"kept", b"v1"), (marker, b"marker", b"roll")]


def test_compaction_removes_the_data_of_aborted_transactions(make_broker):
    """Aborted data goes, even from read_uncommitted readers, and never outranks the committed value of its key."""
    broker = make_broker(**CLEANER)
    topic = unique_topic("txn-compact")
    create_compacted(broker.bootstrap, topic)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": unique_topic("tx"), "linger.ms": 5})
    producer.init_transactions(30)
    for outcome in ("committed", "aborted"):
        producer.begin_transaction()
        for i in range(50):
            producer.produce(topic, key=b"key-%02d" % (i % 10), value=f"{outcome}-{i}".encode())
        producer.flush(30)
        producer.commit_transaction(30) if outcome == "committed" else producer.abort_transaction(30)
    end = produce(broker.bootstrap, topic, [(b"plain", b"p")])[b"plain"][0] + 1
    before = read_all(broker.bootstrap, topic, "read_uncommitted")
    assert any(value.startswith(b"aborted") for _, _, value in before), "aborted data is there before cleaning"
    roll_and_wait_for_cleaning(broker, topic, end)
    after = {key: value for _, key, value in read_all(broker.bootstrap, topic, "read_uncommitted")}
    assert after == {**{b"key-%02d" % i: f"committed-{40 + i}".encode() for i in range(10)},
                     b"plain": b"p", b"marker": b"roll"}


def test_a_record_without_a_key_is_refused(make_broker):
    broker = make_broker(**CLEANER)
    topic = unique_topic("keyless")
    create_compacted(broker.bootstrap, topic)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "retries": 0})
    reports = []
    producer.produce(topic, value=b"no key", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(10)
    assert len(reports) == 1 and reports[0] is not None and reports[0].code() == INVALID_RECORD, reports
    produce(broker.bootstrap, topic, [(b"k", b"v")])
    assert [key for _, key, _ in read_all(broker.bootstrap, topic)] == [b"k"], "the keyless batch was not appended"


def test_sigkill_while_cleaning_loses_nothing_the_newest_per_key_rule_keeps(make_broker):
    broker = make_broker(**CLEANER)
    topic = unique_topic("killed")
    # A ratio of 1 is never exceeded: the log grows uncleaned until the test lowers it, so a pass then has
    # megabytes to rewrite and is caught mid-way.
    create_compacted(broker.bootstrap, topic, segment_bytes="65536", min_cleanable_dirty_ratio="1")
    directory = broker.directory / "data" / f"{topic}-0"
    newest = {}
    for kill in range(3):
        pairs = [(b"key-%03d" % (i % 300), b"round-%d-%05d-" % (kill, i) + b"x" * 100) for i in range(20000)]
        newest.update(produce(broker.bootstrap, topic, pairs, batch=500))
        time.sleep(0.25)
        newest.update(produce(broker.bootstrap, topic, [(b"marker-%d" % kill, b"roll")]))
        set_dirty_ratio(broker.bootstrap, topic, "0.01")
        deadline = time.monotonic() + 30
        while not any(name.endswith(".cleaned") for name in os.listdir(directory)):
            assert time.monotonic() < deadline, "cleaning did not start"
            time.sleep(0.001)
        broker.kill()
        broker.start()
        set_dirty_ratio(broker.bootstrap, topic, "1")
    end = max(offset for offset, _ in newest.values())  # the last round's marker: everything before it is cleaned
    set_dirty_ratio(broker.bootstrap, topic, "0.01")
    time.sleep(0.25)
    newest.update(produce(broker.bootstrap, topic, [(b"marker-last", b"roll")]))
    wait_until(lambda: cleaned_up_to(broker, topic) >= end, "cleaning after the last restart")
    records = read_all(broker.bootstrap, topic)
    assert {key: (offset, value) for offset, key, value in records} == newest
    assert len(records) == len(newest)


def test_compaction_on_a_three_node_cluster_keeps_the_newest_value_per_key_on_every_replica(tmp_path):
    """Every replica cleans its own copy (Kafka's cleaner runs on followers too): after cleaning on all three nodes,
    the leader, and then a new leader after the old one is killed, serve exactly the newest value per key at its
    original offset."""
    from cluster import Cluster, wait_for

    cluster = Cluster(tmp_path / "cluster", overrides={"log.cleaner.backoff.ms": "50",
                                                       "broker.session.timeout.ms": "3000",
                                                       "broker.heartbeat.interval.ms": "500"})
    bootstrap = cluster.up()
    try:
        topic = unique_topic("cc")
        settings = {"cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01",
                    "segment.ms": "200", "min.insync.replicas": "2"}
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, 1, 3, config=settings)])[topic].result(15)
        wait_for(lambda: len(cluster.partition(topic)[2]) == 3, 30, "all replicas in sync")
        # Small batches, so the log has many segments to clean (acks=all over three nodes would otherwise gather
        # everything into a batch or two larger than a segment).
        newest = produce(bootstrap, topic, [(f"k{i % 40}".encode(), f"v{i}".encode()) for i in range(3000)],
                         **{"batch.size": 512})
        end = max(offset for offset, _ in newest.values()) + 1

        class Node:
            def __init__(self, node_id):
                self.directory = cluster.directory / f"node-{node_id}"
        # Past most of the log on every replica (the active segment is never cleaned).
        for node_id in (1, 2, 3):
            wait_until(lambda: cleaned_up_to(Node(node_id), topic) >= end - 200, f"node {node_id} cleaned")

        expected = sorted((offset, key, value) for key, (offset, value) in newest.items())

        def newest_per_key(records):
            latest = {}
            for offset, key, value in records:
                latest[key] = (offset, key, value)
            return sorted(latest.values())

        first = read_all(bootstrap, topic)
        assert newest_per_key(first) == expected
        assert len(first) < 3000 / 2, "the cleaned log is much shorter than what was written"

        leader = cluster.partition(topic)[0]
        cluster.node("kill", leader)
        wait_for(lambda: cluster.partition(topic)[0] not in (leader, -1), 30, "a new leader")
        assert newest_per_key(read_all(cluster.live_bootstrap(), topic)) == expected
    finally:
        cluster.down()
