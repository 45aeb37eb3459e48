"""A real 3-node cluster: acknowledged writes survive leader kills; min.insync.replicas refuses writes it cannot
make durable; unclean leader election off keeps a partition offline, on elects a stale replica and loses data."""
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, produce_patiently, wait_for

FAST_FAILURE = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "3000",
}


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster", overrides=FAST_FAILURE)
    c.up()
    yield c
    c.down()


def create_topic(cluster, name, partitions=1, rf=3, **config):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf, config=config)])[name].result(30)
    wait_for(lambda: len(cluster.partition(name)[2]) == rf, 30, f"{name} fully in sync")


def read_all(bootstrap, topic, partitions=1, expect=None, timeout=60):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False,
                         "enable.partition.eof": True, "isolation.level": "read_uncommitted",
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = [], set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eof.add(msg.partition())
                if len(eof) == partitions and (expect is None or len(got) >= expect):
                    break
            continue
        got.append((msg.partition(), msg.offset(), msg.value()))
    consumer.close()
    return got


def test_acks_all_survives_leader_kills(cluster):
    topic = "durable"
    create_topic(cluster, topic, partitions=3, rf=3, **{"min.insync.replicas": "2"})
    acked = {}
    errors = []
    stop = threading.Event()

    def produce():
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "partitioner": "murmur2_random", "linger.ms": 5, "message.timeout.ms": 60000})

        def report(err, msg):
            if err is None:
                acked[msg.value()] = (msg.partition(), msg.offset())
            else:
                errors.append(err)

        i = 0
        while not stop.is_set():
            produce_patiently(producer, topic, key=b"k%d" % (i % 50), value=b"v%06d" % i, on_delivery=report)
            producer.poll(0)
            i += 1
            if i % 100 == 0:
                time.sleep(0.01)
        producer.flush(90)

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        for _ in range(3):
            wait_for(lambda: len(acked) > 200, 30, "writes acknowledged")
            leader, _, _ = cluster.partition(topic, 0)
            cluster.node("kill", leader)
            count = len(acked)
            wait_for(lambda: len(acked) > count + 200, 60, "writes acknowledged after failover")
            cluster.node("start", leader)
            wait_for(lambda: sorted(cluster.partition(topic, 0)[2]) == [1, 2, 3], 60, "the killed node back in the ISR")
    finally:
        stop.set()
        thread.join(120)
    assert not errors, errors[:5]
    records = read_all(cluster.bootstrap, topic, partitions=3, expect=len(acked))
    seen = {}
    for partition, offset, value in records:
        assert value not in seen, f"duplicate {value} at {seen[value]} and {(partition, offset)}"
        seen[value] = (partition, offset)
    lost = [v for v in acked if v not in seen]
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
    moved = [v for v, where in acked.items() if seen[v] != where]
    assert not moved, f"{len(moved)} writes not at their acknowledged offset, e.g. {moved[:5]}"
    for p in range(3):
        assert sorted(cluster.partition(topic, p)[2]) == [1, 2, 3]


def test_min_insync_replicas_refuses_acks_all(cluster):
    topic = "strict"
    create_topic(cluster, topic, rf=3, **{"min.insync.replicas": "3"})
    leader, replicas, _ = cluster.partition(topic)
    follower = next(r for r in replicas if r != leader)
    cluster.node("kill", follower)
    wait_for(lambda: follower not in cluster.partition(topic)[2], 30, "the ISR shrinks")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "retries": 0,
                         "message.timeout.ms": 10000})
    results = []
    producer.produce(topic, value=b"refused", on_delivery=lambda err, msg: results.append(err))
    producer.flush(20)
    assert results and results[0] is not None
    assert results[0].code() == KafkaError.NOT_ENOUGH_REPLICAS, results[0]
    # acks=1 still works: only acks=all promises the ISR.
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "1"})
    results.clear()
    producer.produce(topic, value=b"accepted", on_delivery=lambda err, msg: results.append(err))
    producer.flush(20)
    assert results == [None]


@pytest.mark.parametrize("unclean", [False, True])
def test_unclean_leader_election(cluster, unclean):
    topic = f"unclean-{str(unclean).lower()}"
    create_topic(cluster, topic, rf=2, **{"min.insync.replicas": "1",
                                          "unclean.leader.election.enable": str(unclean).lower()})
    leader, replicas, _ = cluster.partition(topic)
    follower = next(r for r in replicas if r != leader)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(10):
        producer.produce(topic, value=b"both-%d" % i)
    assert producer.flush(20) == 0
    # The follower dies; the leader goes on alone (ISR shrinks to it) and acknowledges more.
    cluster.node("kill", follower)
    wait_for(lambda: cluster.partition(topic)[2] == [leader], 30, "ISR shrunk to the leader")
    for i in range(10):
        producer.produce(topic, value=b"leader-only-%d" % i)
    assert producer.flush(20) == 0
    # Now the leader dies and only the stale follower comes back.
    cluster.node("kill", leader)
    cluster.node("start", follower)
    survivors = ",".join(f"127.0.0.1:{cluster.port(n)}" for n in (1, 2, 3) if n != leader)
    if not unclean:
        wait_for(lambda: cluster.partition(topic, via=survivors)[0] == -1, 30, "partition offline")
        assert cluster.partition(topic, via=survivors)[0] == -1
        cluster.node("start", leader)
        wait_for(lambda: cluster.partition(topic, via=survivors)[0] == leader, 60, "the last ISR member leads again")
        values = [v for _, _, v in read_all(cluster.live_bootstrap(), topic, expect=20)]
        assert values == [b"both-%d" % i for i in range(10)] + [b"leader-only-%d" % i for i in range(10)], (
            cluster.partition(topic), cluster.logs())
    else:
        wait_for(lambda: cluster.partition(topic, via=survivors)[0] == follower, 30, "the stale follower elected")
        values = [v for _, _, v in read_all(survivors, topic, expect=10)]
        # Acknowledged writes are gone: exactly the ones only the old leader had.
        assert values == [b"both-%d" % i for i in range(10)]
