"""Partition reassignment (KIP-455) on a 3-node cluster, driven through kafka-python's KafkaAdminClient
(alter_partition_reassignments / list_partition_reassignments; confluent-kafka 2.16 has neither): a move from [1,2]
to [2,3] under continuous acks=all writes loses none of them, and a move held back by a 1 B/s replication throttle
is cancelled and leaves the partition exactly as it was."""
import threading
import time

import pytest
from confluent_kafka import Producer
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource

from admin_support import (FAST_FAILURE, NO_REASSIGNMENT_IN_PROGRESS, create_topic, module_cluster, node_ids,
                           produce, read_partition)
from cluster import produce_patiently, wait_for
from conftest import unique_topic

THROTTLED_REPLICAS = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")
THROTTLE_RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from module_cluster(tmp_path_factory.mktemp("reassignment") / "cluster", overrides=FAST_FAILURE)


@pytest.fixture
def admin(cluster):
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=30000,
                              client_id="crucible-reassignment-tests")
    yield client
    client.close()


def alter_configs(admin, resources: list[ConfigResource]) -> None:
    """IncrementalAlterConfigs; every resource must come back OK."""
    result = admin.alter_configs(resources, incremental=True, raise_on_unknown=False)
    outcomes = {(kind, name): text for kind, names in result.items() for name, text in names.items()}
    assert all(text == "OK" for text in outcomes.values()), outcomes


def replica_sizes(admin, topic) -> dict[int, int]:
    """{broker: size of topic-0 there} for the brokers that hold a replica of it."""
    sizes = {}
    for entry in admin.describe_log_dirs(topic_partitions={topic: [0]}):
        for log_dir in entry["log_dirs"]:
            for t in log_dir["topics"]:
                for p in t["partitions"]:
                    if (t["name"], p["partition_index"]) == (topic, 0):
                        sizes[entry["broker"]] = p["partition_size"]
    return sizes


def test_reassignment_under_acks_all_writes_loses_nothing(cluster, admin):
    topic = unique_topic("move")
    create_topic(cluster, topic, assignment=[[1, 2]])
    tp = TopicPartition(topic, 0)
    acked, errors = {}, []
    stop = threading.Event()

    def produce_continuously():
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 5, "message.timeout.ms": 60000})

        def report(err, msg):
            if err is None:
                acked[msg.value()] = msg.offset()
            else:
                errors.append(err)

        i = 0
        while not stop.is_set():
            produce_patiently(producer, topic, value=b"v%08d" % i, partition=0, on_delivery=report)
            producer.poll(0)
            i += 1
            if i % 20 == 0:
                time.sleep(0.01)
        producer.flush(90)

    thread = threading.Thread(target=produce_continuously, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(acked) > 300, 30, "writes acknowledged before the move")
        assert admin.alter_partition_reassignments({tp: [2, 3]}) == {tp: None}
        wait_for(lambda: not admin.list_partition_reassignments([tp]) and cluster.partition(topic)[1] == [2, 3],
                 90, "the reassignment completes with replicas [2, 3]")
        count = len(acked)
        # After the move the producer finds the new leader and retries what the old one had not had acknowledged;
        # under 2 shared cores that has been seen to take over 30 s (a stall noted in issue 8), hence 90.
        wait_for(lambda: len(acked) > count + 300, 90, "writes acknowledged after the move")
    finally:
        stop.set()
        thread.join(120)
    assert not errors, errors[:5]

    leader, replicas, _ = cluster.partition(topic)
    assert replicas == [2, 3] and leader in (2, 3)
    wait_for(lambda: sorted(cluster.partition(topic)[2]) == [2, 3], 30, "ISR [2, 3]")
    # The data lives on 2 and 3 now, and node 1 dropped its replica.
    sizes = wait_for(lambda: (s := replica_sizes(admin, topic)) and sorted(s) == [2, 3] and s, 60,
                     "log dirs: replicas on 2 and 3 only")
    assert all(size > 0 for size in sizes.values()), sizes

    records = read_partition(cluster.bootstrap, topic, expect=len(acked))
    seen = {}
    for offset, value in records:
        assert value not in seen, f"{value!r} at {seen[value]} and {offset}"
        seen[value] = offset
    lost = [v for v in acked if v not in seen]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged writes lost, e.g. {lost[:5]}"
    moved = [v for v, offset in acked.items() if seen[v] != offset]
    assert not moved, f"{len(moved)} writes not at their acknowledged offset, e.g. {moved[:5]}"


def test_a_cancelled_reassignment_restores_the_replicas(cluster, admin):
    topic = unique_topic("cancel")
    create_topic(cluster, topic, assignment=[[1, 2]])
    tp = TopicPartition(topic, 0)
    values = [b"%04d" % i + b"x" * 100_000 for i in range(40)]  # 4 MB: far beyond what 1 B/s lets through
    assert produce(cluster.bootstrap, topic, values) == list(range(len(values)))
    brokers = [str(b) for b in node_ids(cluster)]
    try:
        alter_configs(admin, [ConfigResource("topic", topic, {key: "*" for key in THROTTLED_REPLICAS})]
                      + [ConfigResource("broker", b, {key: "1" for key in THROTTLE_RATES}) for b in brokers])
        described = admin.describe_configs([ConfigResource("broker", "1")])["broker"]["1"]
        for key in THROTTLE_RATES:
            assert (described[key]["value"], described[key]["config_source"]) == ("1", "DYNAMIC_BROKER_CONFIG")

        assert admin.alter_partition_reassignments({tp: [2, 3]}) == {tp: None}
        state = wait_for(lambda: admin.list_partition_reassignments([tp]).get(tp), 30, "the reassignment listed")
        assert (state["adding_replicas"], state["removing_replicas"]) == ([3], [1]), state
        assert sorted(state["replicas"]) == [1, 2, 3], state
        wait_for(lambda: sorted(cluster.partition(topic)[1]) == [1, 2, 3], 30, "metadata shows the adding replica")
        assert 3 not in cluster.partition(topic)[2], "the throttled replica caught up"

        # Cancelling succeeds only while the move is in progress: that it does proves the throttle held it back.
        assert admin.alter_partition_reassignments({tp: None}) == {tp: None}
        # Kafka reverts to the replica list minus the replicas being added, which keeps the reassignment's order
        # (target first): the set is what is restored, [2, 1] here as in Kafka.
        wait_for(lambda: not admin.list_partition_reassignments([tp]) and sorted(cluster.partition(topic)[1]) == [1, 2],
                 30, "the cancellation restores replicas {1, 2}")
        # Nothing left to cancel: NO_REASSIGNMENT_IN_PROGRESS.
        [error] = admin.alter_partition_reassignments({tp: None}).values()
        assert error is not None and error.errno == NO_REASSIGNMENT_IN_PROGRESS, error
    finally:
        alter_configs(admin, [ConfigResource("topic", topic, {k: (AlterConfigOp.DELETE, None)
                                                              for k in THROTTLED_REPLICAS})]
                      + [ConfigResource("broker", b, {k: (AlterConfigOp.DELETE, None) for k in THROTTLE_RATES})
                         for b in brokers])

    assert admin.list_partition_reassignments() == {}
    wait_for(lambda: sorted(cluster.partition(topic)[2]) == [1, 2], 30, "ISR [1, 2]")
    wait_for(lambda: sorted(replica_sizes(admin, topic)) == [1, 2], 60, "node 3 dropped its partial replica")
    assert read_partition(cluster.bootstrap, topic, expect=len(values)) == list(enumerate(values))
