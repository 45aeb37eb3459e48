"""Fetch from follower (KIP-392): nodes 1, 2, 3 in racks a, b, c with Kafka's RackAwareReplicaSelector; a consumer
that says `client.rack=b` reads a partition led by node 1 from node 2, the in-sync replica in its rack, and gets every
record. The rack and the per-node overrides come from `crucible cluster up --node-override ID:broker.rack=R`."""
import json
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from kafka import KafkaAdminClient

from admin_support import FAST_FAILURE, create_topic, module_cluster, node_ids, node_log, produce
from cluster import wait_for
from conftest import unique_topic

RACKS = {1: "a", 2: "b", 3: "c"}
RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
RECORDS = 300

# Part of the contract these tests expect from Crucible (not from Kafka, which logs nothing of the kind at INFO):
# a node that answers a consumer's Fetch for a partition it follows writes, once per partition, a broker.log line
# containing "served fetch from follower" and "<topic>-<partition>".
FOLLOWER_FETCH_LINE = "served fetch from follower"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from module_cluster(tmp_path_factory.mktemp("rack-fetch") / "cluster",
                              overrides={**FAST_FAILURE, "replica.selector.class": RACK_AWARE},
                              node_overrides={node: {"broker.rack": rack} for node, rack in RACKS.items()})


def follower_fetch_logged(cluster, node_id: int, topic: str) -> bool:
    return any(FOLLOWER_FETCH_LINE in line and f"{topic}-0" in line for line in node_log(cluster, node_id).splitlines())


def test_each_node_advertises_its_own_rack(cluster):
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        brokers = admin.describe_cluster()["brokers"]
    finally:
        admin.close()
    assert {b["broker_id"]: b["rack"] for b in brokers} == RACKS


@pytest.mark.parametrize("rack", ["b", "c", "a"])
def test_a_consumer_reads_from_the_replica_in_its_rack(cluster, rack):
    expected = next(node for node, r in RACKS.items() if r == rack)
    topic = unique_topic(f"rack-{rack}")
    create_topic(cluster, topic, assignment=[[1, 2, 3]])
    assert cluster.partition(topic)[0] == 1
    values = [b"rack-record-%05d" % i for i in range(RECORDS)]
    assert produce(cluster.bootstrap, topic, values) == list(range(RECORDS))

    snapshots = []
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"rack-{rack}",
                         "enable.auto.commit": False, "client.rack": rack, "statistics.interval.ms": 200,
                         "stats_cb": lambda text: snapshots.append(json.loads(text))})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])

    def partition_stats():
        """librdkafka's view of the partition in each snapshot: (broker it fetches from, leader)."""
        for s in snapshots:
            p = s.get("topics", {}).get(topic, {}).get("partitions", {}).get("0")
            if p and p["broker"] >= 0:
                yield p["broker"], p["leader"]

    def fetch_requests(node_id: int) -> int:
        return max((b.get("req", {}).get("Fetch", 0) for s in snapshots for b in s["brokers"].values()
                    if b["nodeid"] == node_id), default=0)

    got = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                got.append((msg.offset(), msg.value()))
            # Until everything is read and librdkafka has reported (twice) where it fetched from: for a follower,
            # until its statistics count Fetch requests sent there (the first records may still come from the
            # leader while the follower catches up: the leader names only followers holding the fetch offset).
            if len(got) >= RECORDS and len(list(partition_stats())) >= 2 and \
                    (expected == 1 or (any(broker == expected for broker, _ in partition_stats())
                                       and fetch_requests(expected) > 0)):
                break
    finally:
        consumer.close()

    assert got == list(enumerate(values))
    observed = set(partition_stats())
    if expected == 1:
        # The leader's own rack: the consumer stays on the leader, and no node serves it as a follower.
        assert observed == {(1, 1)}, observed
        assert not any(follower_fetch_logged(cluster, n, topic) for n in node_ids(cluster))
    else:
        # librdkafka moved the partition to the follower the leader named, and sent it Fetch requests.
        assert (expected, 1) in observed, observed
        assert fetch_requests(expected) > 0
        wait_for(lambda: follower_fetch_logged(cluster, expected, topic), 15,
                 f"node {expected}'s log: {FOLLOWER_FETCH_LINE} {topic}-0")
        others = [n for n in node_ids(cluster) if n != expected]
        assert not any(follower_fetch_logged(cluster, n, topic) for n in others)
