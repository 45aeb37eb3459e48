"""`/metrics` on every node, read with the Prometheus project's own text-format parser: Kafka's metric names as
its JMX exporter gives them, counters that count exactly, gauges that follow the cluster through a stopped
follower and a killed controller, and jemalloc's statistics."""
import json
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from cluster import Cluster, wait_for
from conftest import unique_topic


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("metrics"), overrides={"replica.lag.time.max.ms": "2000"})
    cluster.up()
    yield cluster
    cluster.down()


def metrics_urls(cluster) -> dict[int, str]:
    return {node["id"]: node["metricsUrl"] for node in cluster.status()["nodes"]}


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of one node: (name, sorted labels) -> value."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def total(cluster, name: str, nodes=None, **labels) -> float:
    urls = metrics_urls(cluster)
    return sum(value(scrape(urls[node]), name, **labels) for node in (nodes or urls))


def leader_of(cluster, topic: str) -> int:
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": cluster.live_bootstrap()}).list_topics(topic, timeout=10).topics[topic].partitions[0].leader


def test_every_node_serves_kafkas_metric_names_and_jemallocs_statistics(cluster):
    urls = metrics_urls(cluster)
    assert sorted(urls) == [1, 2, 3] and all(url.startswith("http://") for url in urls.values()), urls
    for url in urls.values():
        samples = scrape(url)
        names = {name for name, _ in samples}
        for expected in ("kafka_server_replicamanager_underreplicatedpartitions", "kafka_server_replicamanager_partitioncount",
                         "kafka_controller_kafkacontroller_activecontrollercount", "kafka_server_raft_metrics_current_leader",
                         "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"):
            assert expected in names, expected
        # The allocator is jemalloc, and says what it holds.
        for statistic in ("allocated", "active", "resident", "metadata"):
            assert value(samples, f"crucible_jemalloc_{statistic}_bytes") > 0, statistic
        assert value(samples, "process_resident_memory_bytes") > value(samples, "crucible_jemalloc_allocated_bytes") * 0.5
    # Anything but GET /metrics is refused.
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(urls[1].replace("/metrics", "/other"), timeout=10)
    assert missing.value.code == 404


def test_messages_in_rise_by_exactly_what_was_produced_on_the_leaders(cluster):
    topic = unique_topic("metrics")
    made = cluster.crucible("topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", topic,
                            "--partitions", "3", "--replication-factor", "3")
    assert made.returncode == 0, made.stderr
    before = total(cluster, "kafka_server_brokertopicmetrics_messagesin_total", topic="")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    records = 1_000
    for i in range(records):
        producer.produce(topic, key=str(i).encode(), value=b"v" * 100)
    assert producer.flush(30) == 0
    # Counted once, by each partition's leader; followers' copies are replication, not messages in.
    assert total(cluster, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == records
    assert total(cluster, "kafka_server_brokertopicmetrics_messagesin_total", topic="") - before == records
    assert total(cluster, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic) > records * 100
    # Every node timed its Produce requests (where the time went, as Kafka's RequestMetrics split it).
    produce_requests = total(cluster, "kafka_network_requestmetrics_totaltimems_count", request="Produce")
    assert produce_requests >= 1
    assert produce_requests == total(cluster, "kafka_network_requestmetrics_localtimems_count", request="Produce")
    # The request counts by version add up to the same requests.
    urls = metrics_urls(cluster)
    by_version = sum(sample for node in urls for (name, labels), sample in scrape(urls[node]).items()
                     if name == "kafka_network_requestmetrics_requests_total" and ("request", "Produce") in labels)
    assert by_version == produce_requests

    # Reading it all back is bytes out of the leaders, no fewer than the values' bytes.
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    read = 0
    deadline = time.monotonic() + 60
    while read < records and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            read += 1
    consumer.close()
    assert read == records
    assert total(cluster, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= records * 100
    assert total(cluster, "kafka_server_brokertopicmetrics_totalfetchrequests_total", topic=topic) >= 1


def test_under_replicated_partitions_follow_a_stopped_follower_and_the_active_controller_moves(cluster):
    topic = unique_topic("urp")
    made = cluster.crucible("topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", topic,
                            "--partitions", "1", "--replication-factor", "3")
    assert made.returncode == 0, made.stderr
    leader = wait_for(lambda: leader_of(cluster, topic) if leader_of(cluster, topic) > 0 else None, 30, "a leader")
    follower = next(node for node in (1, 2, 3) if node != leader)
    assert value(scrape(metrics_urls(cluster)[leader]), "kafka_server_replicamanager_underreplicatedpartitions") == 0
    # Killed, not stopped: a stopped node's controlled shutdown has the controller take it out of the ISR, while a
    # dead follower is dropped by its leader (replica.lag.time.max.ms), which is what IsrShrinks counts.
    cluster.node("kill", follower)
    wait_for(lambda: value(scrape(metrics_urls(cluster)[leader]), "kafka_server_replicamanager_underreplicatedpartitions") >= 1,
             60, "the leader to count its partition under-replicated")
    cluster.node("start", follower)
    wait_for(lambda: total(cluster, "kafka_server_replicamanager_underreplicatedpartitions") == 0,
             90, "every partition fully replicated again")
    assert total(cluster, "kafka_server_replicamanager_isrshrinks_total") >= 1
    assert total(cluster, "kafka_server_replicamanager_isrexpands_total") >= 1

    # One active controller across the nodes; killed, another node takes the count.
    counts = {node: value(scrape(url), "kafka_controller_kafkacontroller_activecontrollercount")
              for node, url in metrics_urls(cluster).items()}
    assert sum(counts.values()) == 1, counts
    active = next(node for node, count in counts.items() if count == 1)
    cluster.node("kill", active)
    others = [node for node in (1, 2, 3) if node != active]

    def moved():
        now = {node: value(scrape(metrics_urls(cluster)[node]), "kafka_controller_kafkacontroller_activecontrollercount")
               for node in others}
        return now if sum(now.values()) == 1 else None
    wait_for(moved, 60, "another node to become the active controller")
    cluster.node("start", active)
    wait_for(lambda: sum(value(scrape(url), "kafka_controller_kafkacontroller_activecontrollercount")
                         for url in metrics_urls(cluster).values()) == 1, 60, "one active controller among three")
