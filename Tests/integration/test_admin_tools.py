"""Crucible's versions of Kafka's admin tools against a 3-node cluster, with Kafka's flags, JSON files and output:
kafka-topics.sh --alter / --replica-assignment, kafka-delete-records.sh, kafka-log-dirs.sh, kafka-leader-election.sh
and kafka-reassign-partitions.sh (--generate, --execute [--throttle], --verify, --cancel). Bad usage (a missing or
malformed JSON file, a missing or wrong flag) exits 2 with a line naming the culprit; a failed operation exits 1."""
import json

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource
from kafka import KafkaAdminClient
from kafka.admin import AlterConfigOp
from kafka.admin import ConfigResource as KPConfigResource

from admin_support import (FAST_FAILURE, create_topic, module_cluster, node_bootstrap, node_ids, node_properties,
                           ok, produce, read_partition, tool, wait_all_brokers_live, wait_all_in_sync, wait_in_sync,
                           write_json)
from cluster import wait_for
from conftest import unique_topic


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from module_cluster(tmp_path_factory.mktemp("admin-tools") / "cluster",
                              overrides={**FAST_FAILURE, "auto.leader.rebalance.enable": "false"})


@pytest.fixture
def b(cluster):
    return ("--bootstrap-server", cluster.bootstrap)


def output(result) -> str:
    """stdout and stderr together: Kafka's tools print some failures on one, Crucible may use the other."""
    return result.stdout + result.stderr


def assert_bad_usage(result, *named: str) -> None:
    """Exit 2 with a reason on stderr that names each of `named` (a flag, with or without its dashes, or a path)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.strip(), "a reason on stderr"
    for text in named:
        assert text.lstrip("-") in result.stderr, (text, result.stderr)


def partition_count(cluster, topic) -> int:
    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=10)  # all topics
    return len(metadata.topics[topic].partitions)


def watermarks(cluster, topic, partition=0) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "admin-tools"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        consumer.close()


def described_configs(cluster, resource: ConfigResource) -> dict:
    # The client must outlive the future: a collected AdminClient fails its requests with _DESTROY.
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    [future] = admin.describe_configs([resource]).values()
    return future.result(30)


def topic_configs(cluster, topic) -> dict:
    return described_configs(cluster, ConfigResource("topic", topic))


def broker_configs(cluster, broker: int) -> dict:
    return described_configs(cluster, ConfigResource("broker", str(broker)))


# --- topics --alter --partitions / --create --replica-assignment --------------------------------------------------

def test_topics_alter_adds_partitions(cluster, b):
    topic = unique_topic("tool-alter")
    ok("topics", *b, "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "3")
    wait_in_sync(cluster, topic)

    altered = tool("topics", *b, "--alter", "--topic", topic, "--partitions", "3")
    assert (altered.returncode, altered.stdout) == (0, ""), altered.stderr  # kafka-topics.sh prints nothing
    wait_in_sync(cluster, topic, 3)
    described = ok("topics", *b, "--describe", "--topic", topic).splitlines()
    assert "\tPartitionCount: 3\t" in described[0], described[0]
    assert sum("Partition: " in line and "PartitionCount" not in line for line in described) == 3

    # Fewer partitions: the broker's INVALID_PARTITIONS, reported as Kafka's tool does, exit 1, nothing changed.
    shrink = tool("topics", *b, "--alter", "--topic", topic, "--partitions", "2")
    assert shrink.returncode == 1
    assert "Error while executing topic command : " in output(shrink)
    assert partition_count(cluster, topic) == 3


def test_topics_alter_with_a_non_numeric_partition_count_is_bad_usage(cluster, b):
    assert_bad_usage(tool("topics", *b, "--alter", "--topic", unique_topic("x"), "--partitions", "three"),
                     "--partitions")


def test_topics_create_with_a_replica_assignment(cluster, b):
    topic = unique_topic("tool-assigned")
    created = ok("topics", *b, "--create", "--topic", topic, "--replica-assignment", "1:2,2:3")
    assert created == f"Created topic {topic}.\n"
    wait_in_sync(cluster, topic, 2)
    for partition, replicas in enumerate([[1, 2], [2, 3]]):
        leader, described, _ = cluster.partition(topic, partition)
        assert (leader, described) == (replicas[0], replicas)
    lines = ok("topics", *b, "--describe", "--topic", topic).splitlines()
    assert "\tPartitionCount: 2\tReplicationFactor: 2\t" in lines[0], lines[0]
    assert any("Partition: 0\tLeader: 1\tReplicas: 1,2\t" in line for line in lines), lines
    assert any("Partition: 1\tLeader: 2\tReplicas: 2,3\t" in line for line in lines), lines

    # A broker that does not exist: the broker refuses (INVALID_REPLICA_ASSIGNMENT), exit 1.
    missing = max(node_ids(cluster)) + 100
    refused = tool("topics", *b, "--create", "--topic", unique_topic("tool-bad-assignment"),
                   "--replica-assignment", f"1:{missing}")
    assert refused.returncode == 1
    assert "Error while executing topic command : " in output(refused)


@pytest.mark.parametrize("extra", [
    ["--replica-assignment", "1:x"],
    ["--replica-assignment", "1:2", "--partitions", "2"],
    ["--replica-assignment", "1:2", "--replication-factor", "2"],
], ids=["not-broker-ids", "with-partitions", "with-replication-factor"])
def test_topics_create_with_a_bad_replica_assignment_is_bad_usage(cluster, b, extra):
    assert_bad_usage(tool("topics", *b, "--create", "--topic", unique_topic("x"), *extra), "--replica-assignment")


# --- delete-records ---------------------------------------------------------------------------------------------

def test_delete_records(cluster, b, tmp_path):
    topic = unique_topic("tool-delete-records")
    create_topic(cluster, topic, rf=3)
    assert produce(cluster.bootstrap, topic, [b"r%d" % i for i in range(10)]) == list(range(10))

    offsets = write_json(tmp_path / "offsets.json",
                         {"partitions": [{"topic": topic, "partition": 0, "offset": 4}], "version": 1})
    out = ok("delete-records", *b, "--offset-json-file", offsets)
    assert out.splitlines() == ["Executing records delete operation", "Records delete operation completed:",
                                f"partition: {topic}-0\tlow_watermark: 4"]
    assert watermarks(cluster, topic) == (4, 10)
    assert [offset for offset, _ in read_partition(cluster.bootstrap, topic, expect=6)] == list(range(4, 10))

    # Beyond the high watermark: Kafka's tool reports the partition's error on its line (OffsetOutOfRange).
    beyond = write_json(tmp_path / "beyond.json",
                        {"partitions": [{"topic": topic, "partition": 0, "offset": 11}], "version": 1})
    result = tool("delete-records", *b, "--offset-json-file", beyond)
    assert f"partition: {topic}-0\terror: " in result.stdout, output(result)
    assert watermarks(cluster, topic) == (4, 10)


@pytest.mark.parametrize("content", [None, "not json {", '{"partitions": [{"topic": "t", "partition": 0}], "version": 1}'],
                         ids=["missing-file", "not-json", "no-offset"])
def test_delete_records_with_a_bad_offset_file_is_bad_usage(cluster, b, tmp_path, content):
    path = tmp_path / "offsets.json"
    if content is not None:
        path.write_text(content)
    assert_bad_usage(tool("delete-records", *b, "--offset-json-file", str(path)), "--offset-json-file", str(path))


def test_delete_records_without_the_offset_file_is_bad_usage(cluster, b):
    assert_bad_usage(tool("delete-records", *b), "--offset-json-file")


# --- log-dirs ---------------------------------------------------------------------------------------------------

def test_log_dirs_describe(cluster, b):
    topic = unique_topic("tool-log-dirs")
    ok("topics", *b, "--create", "--topic", topic, "--replica-assignment", "2:3")
    wait_in_sync(cluster, topic)
    produce(cluster.bootstrap, topic, [b"x" * 500 + b"%d" % i for i in range(20)])
    ids = node_ids(cluster)

    def described():
        lines = ok("log-dirs", *b, "--describe", "--topic-list", topic).splitlines()
        assert lines[0] == "Querying brokers for log directories information"
        assert lines[1] == f"Received log directory information from brokers {','.join(map(str, ids))}"
        document = json.loads("\n".join(lines[2:]))
        replicas = [p for broker in document["brokers"] for d in broker["logDirs"] for p in d["partitions"]]
        return document if len(replicas) == 2 and all(p["size"] > 0 for p in replicas) else None
    document = wait_for(described, 30, "both replicas reported with data")

    assert document["version"] == 1
    brokers = {entry["broker"]: entry["logDirs"] for entry in document["brokers"]}
    assert sorted(brokers) == ids
    for broker, log_dirs in brokers.items():
        [log_dir] = log_dirs
        assert log_dir["logDir"].rstrip("/") == node_properties(cluster, broker)["log.dirs"].rstrip("/")
        assert log_dir["error"] is None
        if broker == 1:
            assert log_dir["partitions"] == []  # no replica there; --topic-list hides the other topics
        else:
            [partition] = log_dir["partitions"]
            assert partition["partition"] == f"{topic}-0"
            assert partition["size"] > 0 and partition["offsetLag"] >= 0 and partition["isFuture"] is False


def test_log_dirs_bad_usage_and_unknown_brokers(cluster, b):
    assert_bad_usage(tool("log-dirs", *b), "--describe")
    missing = max(node_ids(cluster)) + 100
    unknown = tool("log-dirs", *b, "--describe", "--broker-list", f"1,{missing}")
    assert unknown.returncode == 1
    assert (f"ERROR: The given brokers do not exist from --broker-list: {missing}. Current existent brokers: "
            f"{','.join(map(str, node_ids(cluster)))}") in output(unknown)


# --- leader-election --------------------------------------------------------------------------------------------

def elected(out: str) -> list[str]:
    """The partitions of Kafka's 'Successfully completed leader election (PREFERRED) for partitions a-0, b-1'."""
    prefix = "Successfully completed leader election (PREFERRED) for partitions "
    return [p for line in out.splitlines() if line.startswith(prefix) for p in line[len(prefix):].split(", ")]


def test_leader_election(cluster, b, tmp_path):
    first, second = unique_topic("tool-elect-a"), unique_topic("tool-elect-b")
    for topic in (first, second):
        ok("topics", *b, "--create", "--topic", topic, "--replica-assignment", "1:2:3")
        wait_in_sync(cluster, topic)
        assert cluster.partition(topic)[0] == 1

    cluster.node("stop", 1)
    survivors = ",".join(node_bootstrap(cluster, n) for n in node_ids(cluster) if n != 1)
    for topic in (first, second):
        wait_for(lambda: cluster.partition(topic, via=survivors)[0] not in (1, -1), 30, f"{topic} led elsewhere")
    cluster.node("start", 1)
    for topic in (first, second):
        wait_for(lambda: 1 in cluster.partition(topic)[2], 60, f"node 1 back in {topic}'s ISR")
        assert cluster.partition(topic)[0] != 1

    # One partition by --topic/--partition...
    out = ok("leader-election", *b, "--election-type", "preferred", "--topic", first, "--partition", "0")
    assert out.splitlines() == [f"Successfully completed leader election (PREFERRED) for partitions {first}-0"]
    wait_for(lambda: cluster.partition(first)[0] == 1, 30, f"node 1 leads {first}")
    # ... every partition that needs it by --all-topic-partitions (once node 1 is back in every ISR, so that no
    # partition of the earlier tests answers PREFERRED_LEADER_NOT_AVAILABLE).
    wait_all_in_sync(cluster)
    out = ok("leader-election", *b, "--election-type", "preferred", "--all-topic-partitions")
    assert f"{second}-0" in elected(out), out
    wait_for(lambda: cluster.partition(second)[0] == 1, 30, f"node 1 leads {second}")

    # Already led by the preferred replica: ELECTION_NOT_NEEDED, which Kafka's tool reports as no failure.
    path = write_json(tmp_path / "elect.json", {"partitions": [{"topic": first, "partition": 0}]})
    out = ok("leader-election", *b, "--election-type", "preferred", "--path-to-json-file", path)
    assert out.splitlines() == [f"Valid replica already elected for partitions {first}-0"]
    # An unclean election where the leader is in the ISR is not needed either.
    out = ok("leader-election", *b, "--election-type", "unclean", "--topic", first, "--partition", "0")
    assert out.splitlines() == [f"Valid replica already elected for partitions {first}-0"]
    assert cluster.partition(first)[0] == 1

    # A partition that does not exist: the error on its line, exit 1.
    failed = tool("leader-election", *b, "--election-type", "preferred", "--topic", first, "--partition", "9")
    assert failed.returncode == 1
    assert f"Error completing leader election (PREFERRED) for partition: {first}-9: " in output(failed)
    assert "1 replica(s) could not be elected" in output(failed)


@pytest.mark.parametrize("args, named", [
    (["--election-type", "sideways", "--all-topic-partitions"], ["--election-type"]),
    (["--election-type", "preferred"], []),
    (["--election-type", "preferred", "--topic", "t", "--partition", "0", "--all-topic-partitions"], []),
    (["--election-type", "preferred", "--topic", "t"], []),
    (["--election-type", "preferred", "--path-to-json-file", "{missing}"], ["--path-to-json-file", "{missing}"]),
    (["--election-type", "preferred", "--path-to-json-file", "{garbage}"], ["--path-to-json-file", "{garbage}"]),
], ids=["unknown-type", "no-partitions", "two-sources", "topic-without-partition", "missing-file", "not-json"])
def test_leader_election_bad_usage(cluster, b, tmp_path, args, named):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{ not json")
    paths = {"missing": str(tmp_path / "missing.json"), "garbage": str(garbage)}
    result = tool("leader-election", *b, *[a.format(**paths) for a in args])
    assert_bad_usage(result, *[n.format(**paths) for n in named])


# --- reassign-partitions ----------------------------------------------------------------------------------------

def test_reassign_partitions_generate_execute_verify(cluster, b, tmp_path):
    wait_all_brokers_live(cluster)  # the tool lists the live brokers it clears throttles on
    topic = unique_topic("tool-reassign")
    ok("topics", *b, "--create", "--topic", topic, "--replica-assignment", "1:2,2:1,1:2")
    wait_in_sync(cluster, topic, 3)
    before = [[1, 2], [2, 1], [1, 2]]

    to_move = write_json(tmp_path / "move.json", {"topics": [{"topic": topic}], "version": 1})
    lines = ok("reassign-partitions", *b, "--generate", "--topics-to-move-json-file", to_move,
               "--broker-list", "2,3").splitlines()
    assert lines[0] == "Current partition replica assignment"
    assert json.loads(lines[1]) == {"version": 1, "partitions": [
        {"topic": topic, "partition": p, "replicas": r, "log_dirs": ["any", "any"]} for p, r in enumerate(before)]}
    assert lines[2:4] == ["", "Proposed partition reassignment configuration"]
    proposed = json.loads(lines[4])
    assert proposed["version"] == 1
    assert [(e["topic"], e["partition"]) for e in proposed["partitions"]] == [(topic, p) for p in range(3)]
    for entry in proposed["partitions"]:
        assert sorted(entry["replicas"]) == [2, 3] and entry["log_dirs"] == ["any", "any"], entry

    plan = write_json(tmp_path / "plan.json", proposed)
    lines = ok("reassign-partitions", *b, "--execute", "--reassignment-json-file", plan).splitlines()
    assert lines[0:2] == ["Current partition replica assignment", ""]
    assert json.loads(lines[2]) == {"version": 1, "partitions": [
        {"topic": topic, "partition": p, "replicas": r, "log_dirs": ["any", "any"]} for p, r in enumerate(before)]}
    assert lines[3:5] == ["", "Save this to use as the --reassignment-json-file option during rollback"]
    assert lines[-1] == f"Successfully started partition reassignments for {topic}-0,{topic}-1,{topic}-2"

    def verified():
        out = ok("reassign-partitions", *b, "--verify", "--reassignment-json-file", plan)
        return out if all(f"Reassignment of partition {topic}-{p} is completed." in out for p in range(3)) else None
    lines = [line for line in wait_for(verified, 60, "the reassignment verified complete").splitlines() if line]
    assert lines[:4] == ["Status of partition reassignment:"] + [
        f"Reassignment of partition {topic}-{p} is completed." for p in range(3)]
    # All done: --verify clears the throttles, as Kafka's tool does.
    assert f"Clearing broker-level throttles on brokers {','.join(map(str, node_ids(cluster)))}" in lines
    assert f"Clearing topic-level throttles on topic {topic}" in lines
    for entry in proposed["partitions"]:
        assert cluster.partition(topic, entry["partition"])[1] == entry["replicas"]


def test_reassign_partitions_throttled_execute_then_cancel(cluster, b, tmp_path):
    wait_all_brokers_live(cluster)  # the tool lists the live brokers it clears throttles on
    topic = unique_topic("tool-cancel")
    ok("topics", *b, "--create", "--topic", topic, "--replica-assignment", "1:2")
    wait_in_sync(cluster, topic)
    values = [b"%04d" % i + b"y" * 100_000 for i in range(40)]  # 4 MB: far beyond what 1 B/s lets through
    produce(cluster.bootstrap, topic, values)
    plan = write_json(tmp_path / "plan.json",
                      {"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [2, 3]}]})
    ids = node_ids(cluster)
    try:
        lines = ok("reassign-partitions", *b, "--execute", "--reassignment-json-file", plan,
                   "--throttle", "1").splitlines()
        assert ("Warning: You must run --verify periodically, until the reassignment completes, to ensure the "
                "throttle is removed.") in lines
        assert "The inter-broker throttle limit was set to 1 B/s" in lines
        assert lines[-1] == f"Successfully started partition reassignment for {topic}-0"
        # Kafka's throttles: the current replicas throttled as leaders, the new one as a follower, the rate on
        # every broker taking part.
        configs = topic_configs(cluster, topic)
        assert configs["leader.replication.throttled.replicas"].value == "0:1,0:2"
        assert configs["follower.replication.throttled.replicas"].value == "0:3"
        for broker in ids:
            configs = broker_configs(cluster, broker)
            for key in ("leader.replication.throttled.rate", "follower.replication.throttled.rate"):
                assert configs[key].value == "1", (broker, key)

        lines = ok("reassign-partitions", *b, "--verify", "--reassignment-json-file", plan).splitlines()
        assert f"Reassignment of partition {topic}-0 is still in progress." in lines
        assert not any(line.startswith("Clearing") for line in lines)  # throttles stay while it runs

        out = ok("reassign-partitions", *b, "--cancel", "--reassignment-json-file", plan)
        assert f"Successfully cancelled partition reassignment for: {topic}-0" in out.splitlines()
        assert f"Clearing broker-level throttles on brokers {','.join(map(str, ids))}" in out
        assert f"Clearing topic-level throttles on topic {topic}" in out
    finally:
        # Whatever happened above, leave no move and no throttle behind for the tests after this one.
        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        try:
            ongoing = admin.list_partition_reassignments()
            if ongoing:
                admin.alter_partition_reassignments({tp: None for tp in ongoing})
            delete = (AlterConfigOp.DELETE, None)
            admin.alter_configs(
                [KPConfigResource("topic", topic, {k: delete for k in ("leader.replication.throttled.replicas",
                                                                      "follower.replication.throttled.replicas")})]
                + [KPConfigResource("broker", str(n), {k: delete for k in ("leader.replication.throttled.rate",
                                                                           "follower.replication.throttled.rate")})
                   for n in ids], incremental=True, raise_on_unknown=False)
        finally:
            admin.close()

    # Kafka reverts to the replica list minus the replicas being added ([2, 1] here): the set is restored.
    wait_for(lambda: sorted(cluster.partition(topic)[1]) == [1, 2], 30, "replicas back to {1, 2}")
    configs = topic_configs(cluster, topic)
    for key in ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas"):
        assert ConfigSource(configs[key].source) != ConfigSource.DYNAMIC_TOPIC_CONFIG, key
    configs = broker_configs(cluster, 1)
    for key in ("leader.replication.throttled.rate", "follower.replication.throttled.rate"):
        assert key not in configs or ConfigSource(configs[key].source) != ConfigSource.DYNAMIC_BROKER_CONFIG, key
    assert read_partition(cluster.bootstrap, topic, expect=len(values)) == list(enumerate(values))

    out = ok("reassign-partitions", *b, "--cancel", "--reassignment-json-file", plan)
    assert "None of the specified partition reassignments are active." in out.splitlines()


def test_reassign_partitions_to_an_unknown_broker_fails(cluster, b, tmp_path):
    topic = unique_topic("tool-unknown-broker")
    ok("topics", *b, "--create", "--topic", topic, "--replica-assignment", "1:2")
    wait_in_sync(cluster, topic)
    missing = max(node_ids(cluster)) + 100
    plan = write_json(tmp_path / "plan.json",
                      {"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [1, missing]}]})
    result = tool("reassign-partitions", *b, "--execute", "--reassignment-json-file", plan)
    assert result.returncode == 1
    assert f"Unknown broker id {missing}" in output(result)
    assert cluster.partition(topic)[1] == [1, 2]


@pytest.mark.parametrize("args, named", [
    (["--execute"], ["--reassignment-json-file"]),
    (["--execute", "--reassignment-json-file", "{missing}"], ["--reassignment-json-file", "{missing}"]),
    (["--verify", "--reassignment-json-file", "{garbage}"], ["--reassignment-json-file", "{garbage}"]),
    (["--execute", "--reassignment-json-file", "{no_partitions}"], ["--reassignment-json-file", "{no_partitions}"]),
    (["--execute", "--verify", "--reassignment-json-file", "{plan}"], []),
    (["--reassignment-json-file", "{plan}"], []),
    (["--generate", "--topics-to-move-json-file", "{to_move}"], ["--broker-list"]),
    (["--generate", "--broker-list", "1,2"], ["--topics-to-move-json-file"]),
    (["--generate", "--topics-to-move-json-file", "{garbage}", "--broker-list", "1,2"],
     ["--topics-to-move-json-file", "{garbage}"]),
], ids=["execute-without-file", "missing-file", "not-json", "no-partitions", "two-actions", "no-action",
        "generate-without-brokers", "generate-without-topics", "generate-not-json"])
def test_reassign_partitions_bad_usage(cluster, b, tmp_path, args, named):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2")
    paths = {
        "missing": str(tmp_path / "missing.json"),
        "garbage": str(garbage),
        "no_partitions": write_json(tmp_path / "empty.json", {"version": 1}),
        "plan": write_json(tmp_path / "plan.json",
                           {"version": 1, "partitions": [{"topic": "t", "partition": 0, "replicas": [1]}]}),
        "to_move": write_json(tmp_path / "move.json", {"topics": [{"topic": "t"}], "version": 1}),
    }
    result = tool("reassign-partitions", *b, *[a.format(**paths) for a in args])
    assert_bad_usage(result, *[n.format(**paths) for n in named])


# --- configs --entity-type brokers ------------------------------------------------------------------------------

def test_dynamic_broker_configs_default_the_topics_and_refuse_static_keys(cluster, b):
    """kafka-configs.sh --entity-type brokers: a cluster-wide default for a log key becomes the value of every topic
    without its own (source DYNAMIC_DEFAULT_BROKER_CONFIG), a broker's own setting is listed for it, and keys Kafka
    only reads from server.properties are refused; all removed again at the end."""
    topic = unique_topic("tool-broker-default")
    ok("topics", *b, "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "3")
    default = ("configs", *b, "--entity-type", "brokers", "--entity-default")
    try:
        assert ok(*default, "--alter", "--add-config", "log.retention.ms=3600000") == \
            "Completed updating default config for brokers in the cluster.\n"
        assert "  log.retention.ms=3600000 " in ok(*default, "--describe")

        def retention():
            entry = topic_configs(cluster, topic)["retention.ms"]
            return (entry.value, ConfigSource(entry.source))
        wait_for(lambda: retention() == ("3600000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG), 10,
                 "the topic takes the cluster-wide default")

        broker = ("configs", *b, "--entity-type", "brokers", "--entity-name", "2")
        assert ok(*broker, "--alter", "--add-config", "follower.replication.throttled.rate=1000000") == \
            "Completed updating config for broker 2.\n"
        assert "  follower.replication.throttled.rate=1000000 " in ok(*broker, "--describe")

        refused = tool(*broker, "--alter", "--add-config", "log.dirs=/elsewhere")
        assert refused.returncode == 1 and "log.dirs" in output(refused), output(refused)
        assert_bad_usage(tool("configs", *b, "--entity-type", "brokers", "--entity-name", "two", "--describe"),
                         "--entity-name")
        assert_bad_usage(tool("configs", *b, "--entity-type", "topics", "--entity-default", "--describe"),
                         "--entity-default")
    finally:
        tool(*default, "--alter", "--delete-config", "log.retention.ms")
        tool("configs", *b, "--entity-type", "brokers", "--entity-name", "2", "--alter", "--delete-config",
             "follower.replication.throttled.rate")
    wait_for(lambda: ConfigSource(topic_configs(cluster, topic)["retention.ms"].source) !=
             ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, 10, "the default removed")
