"""Consumer groups on a real 3-node cluster with real clients: librdkafka's three assignors, static membership,
kafka-python and aiokafka group consumers, and the classic commitSync at-least-once loop."""
import asyncio
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, wait_for
from conftest import unique_topic

GROUP_SETTINGS = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "3000",
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "12",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("groups") / "cluster", overrides=GROUP_SETTINGS)
    c.up()
    yield c
    c.down()


def create_topic(cluster, partitions=6, rf=3):
    name = unique_topic("grp")
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf)])[name].result(30)
    wait_for(lambda: all(len(cluster.partition(name, p)[2]) == rf for p in range(partitions)), 30, "topic in sync")
    return name


def produce(bootstrap, topic, count, start=0):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(start, start + count):
        producer.produce(topic, key=f"k{i}", value=f"v{i}")
    assert producer.flush(30) == 0


class GroupMember:
    """A librdkafka consumer polled on its own thread, recording what it consumed and its rebalances."""

    def __init__(self, bootstrap, group, topic, strategy, **extra):
        self.consumed = []
        self.assigned = set()
        self.revoked = []
        self.assign_events = 0
        self.errors = []
        self.lock = threading.Lock()
        config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "partition.assignment.strategy": strategy,
                  "session.timeout.ms": 10000, "heartbeat.interval.ms": 500}
        config.update(extra)
        self.cooperative = strategy == "cooperative-sticky"
        self.consumer = Consumer(config)
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, consumer, partitions):
        with self.lock:
            self.assign_events += 1
            if self.cooperative:
                self.assigned |= {p.partition for p in partitions}
            else:
                self.assigned = {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        with self.lock:
            gone = {p.partition for p in partitions}
            self.revoked.append(gone)
            if self.cooperative:
                self.assigned -= gone
            else:
                self.assigned = set()
        try:
            consumer.commit(asynchronous=False)
        except KafkaException:
            pass  # nothing consumed since the last commit

    def _run(self):
        while not self.stop.is_set():
            message = self.consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                self.errors.append(message.error())
                continue
            with self.lock:
                self.consumed.append((message.partition(), message.offset()))
            self.consumer.commit(message=message, asynchronous=False)

    def owned(self):
        with self.lock:
            return set(self.assigned)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.consumer.close()


def wait_for_stable_split(members, partitions, timeout=60):
    """Waits until the members' assignments are disjoint and cover every partition."""
    def split():
        owned = [m.owned() for m in members]
        union = set().union(*owned)
        return sum(len(o) for o in owned) == partitions and union == set(range(partitions)) and all(owned)
    wait_for(split, timeout, "every partition owned by exactly one member")
    return [m.owned() for m in members]


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_assignors_split_the_partitions_and_rebalance(cluster, strategy):
    topic = create_topic(cluster)
    group = f"assign-{strategy}-{time.monotonic_ns()}"
    members = [GroupMember(cluster.bootstrap, group, topic, strategy) for _ in range(3)]
    try:
        before = wait_for_stable_split(members, 6)
        assert all(len(owned) == 2 for owned in before), before
        produce(cluster.bootstrap, topic, 600)
        wait_for(lambda: sum(len(m.consumed) for m in members) >= 600, 60, "all 600 consumed")
        consumed = [record for m in members for record in m.consumed]
        assert len(consumed) == 600 and len(set(consumed)) == 600, "each message exactly once across the group"

        for m in members:
            m.revoked.clear()
        joiner = GroupMember(cluster.bootstrap, group, topic, strategy)
        members.append(joiner)
        after_join = wait_for_stable_split(members, 6)
        assert joiner.owned(), "the new member got partitions"
        if strategy == "cooperative-sticky":
            # Incremental rebalancing: the old members keep what they still own, and only give up what moved.
            for old, new, m in zip(before, after_join, members[:3]):
                assert new <= old, (old, new)
                given_up = set().union(*m.revoked) if m.revoked else set()
                assert given_up == old - new, (old, new, m.revoked)

        leaver = members.pop(0)
        leaver.close()
        wait_for_stable_split(members, 6)
        produce(cluster.bootstrap, topic, 60, start=600)
        wait_for(lambda: sum(len(m.consumed) for m in members) + len(leaver.consumed) >= 660, 60, "all 660 consumed")
        everything = [r for m in members + [leaver] for r in m.consumed]
        assert len(set(everything)) == 660
    finally:
        for m in members:
            m.close()


def test_static_member_restarted_within_session_keeps_its_partitions(cluster):
    topic = create_topic(cluster, partitions=4)
    group = f"static-{time.monotonic_ns()}"
    settings = {"session.timeout.ms": 30000}
    a = GroupMember(cluster.bootstrap, group, topic, "range", **{"group.instance.id": "a"}, **settings)
    b = GroupMember(cluster.bootstrap, group, topic, "range", **{"group.instance.id": "b"}, **settings)
    try:
        owned_a, owned_b = wait_for_stable_split([a, b], 4)
        assigns_b = b.assign_events
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        before = admin.describe_consumer_groups([group])[group].result(10)
        old_id = next(m.member_id for m in before.members if m.group_instance_id == "a")
        # A static member's close sends no LeaveGroup (KIP-345): the coordinator keeps its place.
        a.close()
        a = GroupMember(cluster.bootstrap, group, topic, "range", **{"group.instance.id": "a"}, **settings)
        wait_for(lambda: a.owned() == owned_a, 30, "the restarted static member has its partitions back")
        after = admin.describe_consumer_groups([group])[group].result(10)
        new_id = next(m.member_id for m in after.members if m.group_instance_id == "a")
        assert new_id != old_id
        assert str(after.state).endswith("STABLE")
        assert b.assign_events == assigns_b and b.owned() == owned_b, "the other member saw no rebalance"
    finally:
        a.close()
        b.close()


def test_kafka_python_group_consumer_commits_and_resumes(cluster):
    from kafka import KafkaConsumer

    topic = create_topic(cluster, partitions=3)
    produce(cluster.bootstrap, topic, 90)
    group = f"kp-{time.monotonic_ns()}"

    def consume(limit):
        consumer = KafkaConsumer(topic, bootstrap_servers=cluster.bootstrap, group_id=group,
                                 enable_auto_commit=False, auto_offset_reset="earliest", consumer_timeout_ms=10000)
        got = []
        for message in consumer:
            got.append((message.partition, message.offset))
            if len(got) == limit:
                break
        consumer.commit()
        consumer.close()
        return got

    first = consume(40)
    second = consume(50)
    assert len(first) == 40 and len(second) == 50
    assert set(first).isdisjoint(second), "nothing committed is delivered again"
    assert len(set(first) | set(second)) == 90


def test_aiokafka_group_consumer_commits_and_resumes(cluster):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    topic = create_topic(cluster, partitions=3)
    produce(cluster.bootstrap, topic, 60)
    group = f"aio-{time.monotonic_ns()}"

    async def consume(limit):
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=cluster.bootstrap, group_id=group,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        got = []
        try:
            while len(got) < limit:
                batches = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
                for records in batches.values():
                    for record in records:
                        if len(got) < limit:
                            got.append((record.partition, record.offset))
                            await consumer.commit({AioTopicPartition(record.topic, record.partition): record.offset + 1})
        finally:
            await consumer.stop()
        return got

    first = asyncio.run(consume(25))
    second = asyncio.run(consume(35))
    assert set(first).isdisjoint(second)
    assert len(set(first) | set(second)) == 60


def test_group_requests_need_the_coordinator_and_bad_ones_close_only_their_connection(cluster):
    """Heartbeat v0 straight to each node: the coordinator answers UNKNOWN_MEMBER_ID for a member it does not
    know, every other node NOT_COORDINATOR; a truncated request closes that connection and nothing else."""
    import struct

    from kafka_wire import Connection, request, string

    group = f"wire-{time.monotonic_ns()}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    coordinator = wait_for(lambda: admin.describe_consumer_groups([group])[group].result(10).coordinator.id, 30,
                           "a coordinator for the group")
    body = string(group) + struct.pack(">i", 1) + string("nobody")
    answers = {}
    for node in (1, 2, 3):
        connection = Connection(cluster.port(node))
        connection.send(request(12, 0, 7, body))
        correlation, response = connection.receive()
        connection.close()
        assert correlation == 7
        answers[node] = struct.unpack(">h", response[:2])[0]
    assert answers == {n: (25 if n == coordinator else 16) for n in (1, 2, 3)}, answers

    broken = Connection(cluster.port(coordinator))
    broken.send(request(12, 0, 8, body[:-3]))
    assert broken.closed_by_peer()
    again = Connection(cluster.port(coordinator))
    again.send(request(12, 0, 9, body))
    assert again.receive()[0] == 9
    again.close()
