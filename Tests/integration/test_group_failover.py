"""Committed offsets under failure: the commitSync loop killed between processing and committing (at-least-once,
nothing below an acknowledged commit delivered again), and the group's coordinator SIGKILLed while a group
consumes and commits (the group carries on with the partition's new leader; no acknowledged commit lost or moved
back)."""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, wait_for
from conftest import unique_topic
from test_consumer_groups import GROUP_SETTINGS

LOOP = str(Path(__file__).with_name("commit_loop.py"))


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster", overrides=GROUP_SETTINGS)
    c.up()
    yield c
    c.down()


def create_topic(cluster, partitions=3):
    name = unique_topic("fo")
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 3, config={"min.insync.replicas": "2"})])[name].result(30)
    wait_for(lambda: all(len(cluster.partition(name, p)[2]) == 3 for p in range(partitions)), 30, "topic in sync")
    return name


class LoopProcess:
    """commit_loop.py running; its output parsed as it arrives."""

    def __init__(self, bootstrap, group, topic):
        self.process = subprocess.Popen([sys.executable, LOOP, bootstrap, group, topic], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.delivered = []  # (partition, offset, highest acknowledged commit of the partition at that moment)
        self.acked = {}
        self.in_flight = {}  # the commit sent last and not yet acknowledged, per partition
        self.commits = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            event = json.loads(line)
            if "delivered" in event:
                partition, offset = event["delivered"]
                self.delivered.append((partition, offset, self.acked.get(partition, -1)))
            elif "committing" in event:
                self.in_flight = {int(p): o for p, o in event["committing"].items()}
            elif "committed" in event:
                self.in_flight = {}
                for partition, offset in event["committed"].items():
                    self.commits.append((int(partition), offset))
                    self.acked[int(partition)] = max(self.acked.get(int(partition), -1), offset)

    def kill(self):
        self.process.kill()
        self.process.wait(10)
        self.reader.join(10)


def produce(bootstrap, topic, values):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for value in values:
        producer.produce(topic, key=str(value), value=str(value))
    assert producer.flush(30) == 0


def committed_offsets(bootstrap, group, topic, partitions):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
        return {tp.partition: tp.offset for tp in found}
    finally:
        consumer.close()


def test_commit_sync_loop_is_at_least_once_across_a_crash(cluster):
    topic, group = create_topic(cluster), f"loop-{time.monotonic_ns()}"
    produce(cluster.bootstrap, topic, range(600))
    first = LoopProcess(cluster.bootstrap, group, topic)
    wait_for(lambda: len(first.commits) >= 6 and len(first.delivered) >= 200, 60, "the first run to commit")
    first.kill()
    acked, in_flight = dict(first.acked), dict(first.in_flight)
    stored = committed_offsets(cluster.bootstrap, group, topic, 3)
    for p in range(3):
        # The acknowledged commit, or the one the kill interrupted (written, unacknowledged): nothing else.
        assert stored[p] in {acked.get(p, -1001), in_flight.get(p, acked.get(p, -1001))}, (p, stored, acked, in_flight)

    second = LoopProcess(cluster.bootstrap, group, topic)
    try:
        wait_for(lambda: len({(p, o) for p, o, _ in first.delivered + second.delivered}) >= 600, 60, "all 600 records")
    finally:
        second.kill()
    for partition, offset, _ in second.delivered:
        assert offset >= acked.get(partition, 0), f"{partition}:{offset} was below the acknowledged commit"
    firsts = {}
    for partition, offset, _ in second.delivered:
        firsts.setdefault(partition, offset)
    # The commit the kill interrupted was already on its way: the broker may apply it after the read above (as
    # Kafka may), so the second run starts at the acknowledged commit or at that one, and at no other offset.
    possible = {p: {max(acked.get(p, 0), 0), max(in_flight.get(p, acked.get(p, 0)), 0)} for p in firsts}
    assert all(firsts[p] in possible[p] for p in firsts), \
        f"the second run starts exactly where a stored commit left it: {firsts}, possible {possible}, read {stored}"


def coordinator_of(cluster, group):
    admin = AdminClient({"bootstrap.servers": cluster.live_bootstrap(), "socket.timeout.ms": 2000})
    return admin.describe_consumer_groups([group])[group].result(10).coordinator.id


def test_group_survives_a_coordinator_kill(cluster):
    topic, group = create_topic(cluster), f"coord-{time.monotonic_ns()}"
    stop = threading.Event()
    produced = []

    def keep_producing():
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 5})
        n = 0
        while not stop.is_set():
            producer.produce(topic, value=str(n), on_delivery=lambda err, msg: err or produced.append(msg.offset()))
            n += 1
            producer.poll(0.005)
        producer.flush(30)

    writer = threading.Thread(target=keep_producing, daemon=True)
    writer.start()
    loop = LoopProcess(cluster.bootstrap, group, topic)
    try:
        wait_for(lambda: len(loop.commits) >= 10, 60, "the group to commit")
        coordinator = wait_for(lambda: coordinator_of(cluster, group), 30, "the coordinator")
        commits_before = len(loop.commits)
        cluster.node("kill", coordinator)
        wait_for(lambda: len(loop.commits) >= commits_before + 20, 90, "commits through the new coordinator")
        moved = wait_for(lambda: coordinator_of(cluster, group), 30, "the new coordinator")
        assert moved != coordinator
    finally:
        stop.set()
        writer.join(30)
        loop.kill()
    # Acknowledged commits only move forward, per partition, and nothing below one is delivered again.
    highest = {}
    for partition, offset in loop.commits:
        assert offset >= highest.get(partition, -1), f"commit of {partition} went back to {offset}"
        highest[partition] = offset
    for partition, offset, acked_then in loop.delivered:
        assert offset >= acked_then, f"{partition}:{offset} delivered again below the acknowledged {acked_then}"
    final = committed_offsets(cluster.live_bootstrap(), group, topic, 3)
    for partition, offset in highest.items():
        assert final[partition] >= offset, f"acknowledged commit {offset} of {partition} lost ({final[partition]})"
