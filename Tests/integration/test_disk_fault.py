"""A disk fault is real (the project's preload library, `cluster up --faulty-disks`): a node whose writes or
fsyncs in its log directory start failing halts as a KRaft broker does, acknowledging nothing it could not
store; the cluster elects a new leader around it; once its disk is mended and it is started again, it is back in
the ISR and every acknowledged record is there. Without `--faulty-disks` the command refuses with exit 2."""
import pytest
from confluent_kafka import Producer

from admin_support import create_topic, node_log, read_partition, wait_in_sync
from cluster import Cluster, assert_refused_without, produce_patiently

STRERROR = {"EIO": "Input/output error", "ENOSPC": "No space left on device"}


def disk_fault(cluster: Cluster, node: int, *args: str):
    return cluster.crucible("cluster", "disk-fault", "--dir", str(cluster.directory), "--node", str(node), *args)


def state(cluster: Cluster, node: int) -> str:
    return next(n["state"] for n in cluster.status()["nodes"] if n["id"] == node)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("operation,error", [("write", "EIO"), ("fsync", "ENOSPC")])
def test_a_failed_log_directory_halts_the_node_and_loses_no_acknowledged_write(tmp_path, operation, error):
    # With an fsync after every append, an fsync fault strikes at the next produce, as a write fault does.
    overrides = {"log.flush.interval.messages": "1"} if operation == "fsync" else {}
    cluster = Cluster(tmp_path / "cluster", nodes=3, overrides=overrides, faulty_disks=True)
    cluster.up()
    try:
        create_topic(cluster, "disk", rf=3, config={"min.insync.replicas": "2"})
        leader, _, _ = cluster.partition("disk")
        acknowledged, failed = set(), []
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 2, "message.timeout.ms": 120000})

        def report(err, msg):
            (failed.append(err) if err else acknowledged.add(int(msg.value())))

        for value in range(200):
            produce_patiently(producer, "disk", value=str(value).encode(), on_delivery=report)
        assert producer.flush(60) == 0 and len(acknowledged) == 200, failed

        broken = disk_fault(cluster, leader, "--operation", operation, "--error", error)
        assert broken.returncode == 0, broken.stderr
        # The leader's next append fails: it halts without answering, and the producer carries on with the new leader.
        value = 200
        while state(cluster, leader) == "running":
            assert value < 200_000, "the leader kept running with a failed disk"
            produce_patiently(producer, "disk", value=str(value).encode(), on_delivery=report)
            producer.poll(0.01)
            value += 1
        log = node_log(cluster, leader)
        assert "shutting down broker because its log directory failed" in log and STRERROR[error] in log, log[-2000:]
        for more in range(value, value + 200):
            produce_patiently(producer, "disk", value=str(more).encode(), on_delivery=report)
        assert producer.flush(120) == 0, failed
        new_leader, _, _ = cluster.partition("disk")
        assert new_leader not in (leader, -1)
        assert len(acknowledged) >= 400 and not failed, (len(acknowledged), failed[:3])

        healed = disk_fault(cluster, leader, "--heal")
        assert healed.returncode == 0, healed.stderr
        cluster.node("start", leader)
        wait_in_sync(cluster, "disk", timeout=90)
        stored = [int(v) for _, v in read_partition(cluster.bootstrap, "disk")]
        assert acknowledged <= set(stored), sorted(acknowledged - set(stored))[:10]
        assert len(stored) == len(set(stored)), "idempotence: no value stored twice"
    finally:
        cluster.down()


def test_disk_fault_needs_a_cluster_started_with_faulty_disks_and_a_known_fault(tmp_path):
    assert_refused_without(tmp_path, "--faulty-disks", "disk-fault")
    bad = Cluster(tmp_path / "faulty", nodes=1, faulty_disks=True)
    bad.up()
    try:
        for args, named in [(["--operation", "read"], "--operation read"), (["--error", "EPERM"], "--error EPERM")]:
            refused = disk_fault(bad, 1, *args)
            assert refused.returncode == 2 and named in refused.stderr, refused.stderr
        assert state(bad, 1) == "running"
    finally:
        bad.down()
