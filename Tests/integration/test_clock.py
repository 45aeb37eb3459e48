"""A clock fault is real: a node started with a movable clock (libfaketime, `cluster up --movable-clocks`) stamps
LogAppendTime records with the wall clock `cluster clock` gives it, forward and back, while it keeps serving;
a cluster started without movable clocks refuses with exit 2."""
import glob
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from admin_support import create_topic, node_log
from cluster import Cluster, assert_refused_without, wait_for

pytestmark = pytest.mark.skipif(not glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"),
                                reason="clock faults need Debian's libfaketime")


def append_time_of_a_new_record(bootstrap: str, topic: str) -> float:
    """Produces one record and reads it back: the broker's LogAppendTime for it, in seconds."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    offsets = []
    producer.produce(topic, value=b"tick", on_delivery=lambda err, msg: offsets.append(msg.offset()) if not err else None)
    producer.flush(10)
    assert offsets, "the record was not acknowledged"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "clock", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, offsets[0])])
        message = consumer.poll(10)
        assert message is not None and message.error() is None, message and message.error()
        return message.timestamp()[1] / 1000
    finally:
        consumer.close()


@pytest.mark.timeout(180)
def test_a_moved_clock_stamps_records_with_the_time_it_was_given(tmp_path):
    cluster = Cluster(tmp_path / "cluster", nodes=1, movable_clocks=True)
    cluster.up()
    try:
        create_topic(cluster, "stamped", rf=1, config={"message.timestamp.type": "LogAppendTime"})
        assert abs(append_time_of_a_new_record(cluster.bootstrap, "stamped") - time.time()) < 60

        # The node reads its offset at every wall-clock read (no cache), so the very next record has it: what a
        # strobe flipping the clock every 100 ms needs. With libfaketime's one-second cache this failed.
        for seconds in (3600, -7200, 0, 3600, -7200):
            moved = cluster.crucible("cluster", "clock", "--dir", str(cluster.directory), "--node", "1",
                                     "--seconds", str(seconds))
            assert moved.returncode == 0, moved.stderr
            stamped = append_time_of_a_new_record(cluster.bootstrap, "stamped")
            assert abs(stamped - time.time() - seconds) < 60, (seconds, stamped - time.time())
    finally:
        cluster.down()


def test_clock_needs_a_cluster_started_with_movable_clocks(tmp_path):
    assert_refused_without(tmp_path, "--movable-clocks", "clock", "--seconds", "5")


def active_controller(cluster: Cluster) -> int:
    described = cluster.crucible("metadata-quorum", "--bootstrap-server", cluster.bootstrap, "describe", "--status")
    assert described.returncode == 0, described.stderr
    return int(next(line.split()[1] for line in described.stdout.splitlines() if line.startswith("LeaderId:")))


@pytest.mark.timeout(240)
def test_a_wall_clock_step_on_the_active_controller_fences_no_broker(tmp_path):
    """Broker sessions are timed on the monotonic clock, as Kafka's controller times them: the active controller's
    wall clock stepping ten minutes ahead, then back, fences no broker and leaves the ISR whole. (Timed on the wall
    clock, the step forward expired every session at once.)"""
    cluster = Cluster(tmp_path / "cluster", nodes=3, movable_clocks=True)
    cluster.up()
    try:
        controller = active_controller(cluster)
        others = [n for n in (1, 2, 3) if n != controller]
        # Led by the controller's node, whose LogAppendTime stamps show when its wall clock has moved.
        create_topic(cluster, "stepped", assignment=[[controller, *others]],
                     config={"message.timestamp.type": "LogAppendTime"})
        fences_before = node_log(cluster, controller).count("fencing broker")
        for seconds in (600, 0):
            moved = cluster.crucible("cluster", "clock", "--dir", str(cluster.directory), "--node", str(controller),
                                     "--seconds", str(seconds))
            assert moved.returncode == 0, moved.stderr
            stepped = wait_for(lambda: (t := append_time_of_a_new_record(cluster.bootstrap, "stepped"))
                               and abs(t - time.time() - seconds) < 60 and t, 30, f"the controller's clock at +{seconds} s")
            # Two seconds of the node's own time after the step: its session check (every 100 ms) ran many times.
            wait_for(lambda: append_time_of_a_new_record(cluster.bootstrap, "stepped") > stepped + 2, 30,
                     "two seconds of the stepped clock")
        assert node_log(cluster, controller).count("fencing broker") == fences_before, node_log(cluster, controller)[-3000:]
        assert active_controller(cluster) == controller
        # The partition's leader never moved; its ISR (timed on the wall clock, as Kafka's is) is whole again.
        wait_for(lambda: (p := cluster.partition("stepped")) and p[0] == controller and sorted(p[2]) == [1, 2, 3], 30,
                 "the controller's node leading with the whole ISR")
    finally:
        cluster.down()
