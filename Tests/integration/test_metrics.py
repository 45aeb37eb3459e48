"""`/metrics` on every node, read with the Prometheus project's own text-format parser: Kafka's metric names as
its JMX exporter gives them, counters that count exactly, gauges that follow the cluster through a stopped
follower and a killed controller, and jemalloc's statistics."""
import json
import time
import urllib.error
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
    producer_ids = total(cluster, "kafka_server_replicamanager_produceridcount")
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    records = 1_000
    for i in range(records):
        producer.produce(topic, key=str(i).encode(), value=b"v" * 100)
    assert producer.flush(30) == 0
    # Counted once, by each partition's leader; followers' copies are replication, not messages in.
    assert total(cluster, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == records
    assert total(cluster, "kafka_server_brokertopicmetrics_messagesin_total", topic="") - before == records
    assert total(cluster, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic) > records * 100
    # One idempotent producer wrote to the three partitions: each leader holds its id for each.
    assert total(cluster, "kafka_server_replicamanager_produceridcount") - producer_ids == 3
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
    consumer.commit(asynchronous=False)
    consumer.close()
    assert read == records
    # The group's committed offsets cover everything (its coordinator's gauges, kafka_exporter's names) ...
    def committed(name):
        return sum(sample for _, _, sample in samples_where(cluster, name, consumergroup=topic, topic=topic))
    wait_for(lambda: committed("kafka_consumergroup_current_offset") == records, 30, "the committed offsets")
    assert committed("kafka_consumergroup_lag") == 0
    assert total(cluster, "kafka_coordinator_group_groupmetadatamanager_numgroups") >= 1
    assert total(cluster, "kafka_coordinator_group_groupmetadatamanager_numgroupsempty") >= 1
    # ... and records produced since are its lag.
    for i in range(7):
        producer.produce(topic, key=str(i).encode(), value=b"later")
    assert producer.flush(30) == 0
    wait_for(lambda: committed("kafka_consumergroup_lag") == 7, 30, "a lag of the seven new records")
    assert total(cluster, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= records * 100
    assert total(cluster, "kafka_server_brokertopicmetrics_totalfetchrequests_total", topic=topic) >= 1
    # Fetch's RequestMetrics are split as Kafka splits them: the consumer's and the followers'.
    fetch_times = "kafka_network_requestmetrics_totaltimems_count"
    assert sum(v for _, _, v in samples_where(cluster, fetch_times, request="FetchConsumer")) >= 1
    assert sum(v for _, _, v in samples_where(cluster, fetch_times, request="FetchFollower")) >= 1
    assert samples_where(cluster, fetch_times, request="Fetch") == []


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

    # The partition's leader killed: the controller elects another from the ISR and counts the election, cleanly.
    leader = wait_for(lambda: leader_of(cluster, topic) if leader_of(cluster, topic) > 0 else None, 30, "a leader")
    survivors = [node for node in (1, 2, 3) if node != leader]
    def elections(name):
        return sum(value(scrape(metrics_urls(cluster)[node]), name) for node in survivors)
    stats = "kafka_controller_controllerstats_"
    clean_before = elections(stats + "leaderelectionrateandtimems_count")
    unclean_before = elections(stats + "uncleanleaderelections_total")
    cluster.node("kill", leader)
    wait_for(lambda: elections(stats + "leaderelectionrateandtimems_count") > clean_before, 60, "the election to be counted")
    assert elections(stats + "uncleanleaderelections_total") == unclean_before
    cluster.node("start", leader)
    wait_for(lambda: total(cluster, "kafka_server_replicamanager_underreplicatedpartitions") == 0,
             90, "every partition fully replicated again")


def samples_where(cluster, name: str, **labels) -> list[tuple[int, dict, float]]:
    """(node, labels, value) of every sample named `name` whose labels include `labels`, on every node."""
    found = []
    for node, url in metrics_urls(cluster).items():
        for (sample, sample_labels), sample_value in scrape(url).items():
            if sample == name and all(dict(sample_labels).get(key) == wanted for key, wanted in labels.items()):
                found.append((node, dict(sample_labels), sample_value))
    return found


def test_flushes_purgatories_producers_and_the_metadata_quorum(cluster):
    # flush.messages=1: every append is flushed, and every flush timed (Kafka's LogFlushRateAndTimeMs).
    topic = unique_topic("flush")
    made = cluster.crucible("topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", topic,
                            "--partitions", "1", "--replication-factor", "3", "--config", "flush.messages=1")
    assert made.returncode == 0, made.stderr
    flushes = "kafka_log_logflushstats_logflushrateandtimems_count"
    before = total(cluster, flushes)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(5):
        producer.produce(topic, value=b"x")
        assert producer.flush(30) == 0
    # Five appends on the leader, each flushed; the followers flush their copies too.
    assert total(cluster, flushes) - before >= 5

    # A consumer waiting at the end of the log is a fetch in purgatory on the leader.
    leader = leader_of(cluster, topic)
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": topic, "auto.offset.reset": "latest",
                         "fetch.wait.max.ms": 5000})
    consumer.subscribe([topic])
    try:
        wait_for(lambda: [consumer.poll(0.2), value(scrape(metrics_urls(cluster)[leader]),
                 "kafka_server_delayedoperationpurgatory_purgatorysize", delayedOperation="Fetch") >= 1][1],
                 30, "a fetch waiting in purgatory")
        assert value(scrape(metrics_urls(cluster)[leader]), "kafka_server_delayedoperationpurgatory_purgatorysize",
                     delayedOperation="Produce") >= 0
    finally:
        consumer.close()

    # The metadata quorum: every node has a log end offset; only its leader (the active controller) knows how far
    # each voter is behind, and in a quiet cluster they catch up.
    for node, url in metrics_urls(cluster).items():
        assert value(scrape(url), "kafka_server_raft_metrics_log_end_offset") > 0, node
    def voter_lags():
        lags = samples_where(cluster, "crucible_raft_voter_lag")
        nodes = {node for node, _, _ in lags}
        return lags if len(nodes) == 1 and sorted(labels["voter"] for _, labels, _ in lags) == ["1", "2", "3"] else None
    lags = wait_for(voter_lags, 30, "the quorum leader's per-voter lag")
    [quorum_leader] = {node for node, _, _ in lags}
    assert value(scrape(metrics_urls(cluster)[quorum_leader]), "kafka_controller_kafkacontroller_activecontrollercount") == 1
    wait_for(lambda: all(lag <= 2 for _, _, lag in samples_where(cluster, "crucible_raft_voter_lag")), 30,
             "the voters to catch up")


def test_a_verify_serves_its_own_progress_while_it_runs(tmp_path):
    """`verify --metrics-port`: the running workload's operations by kind and outcome, then each finished run's
    verdict, scraped from the invocation itself between its two runs."""
    from verify_support import SCENARIOS
    from bench_support import StreamingCommand
    run = StreamingCommand("verify", SCENARIOS / "safe-kill.yaml", "--runs", 2, "--seed", 5, "--time-limit", 5,
                           "--metrics-port", 0, "--output", tmp_path / "out")
    try:
        url = run.wait_for_line(r"progress metrics: http://", timeout=60).split("progress metrics: ")[1]

        def progress(name, **labels):
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode()
            return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                       if sample.name == name and all(sample.labels.get(key) == wanted for key, wanted in labels.items()))
        wait_for(lambda: progress("crucible_verify_operations", scenario="safe-kill", type="send", outcome="ok") > 0,
                 120, "acknowledged sends in the first run's progress")
        wait_for(lambda: progress("crucible_verify_runs_total", scenario="safe-kill", result="as expected") == 1,
                 300, "the first run's verdict")
        assert progress("crucible_verify_acknowledged_sends_total", scenario="safe-kill") > 0
        assert progress("crucible_verify_acknowledged_writes_lost_total", scenario="safe-kill") == 0
        completed = run.wait(timeout=300)
    finally:
        run.kill()
    assert completed.returncode == 0, completed.stderr[-3000:]
