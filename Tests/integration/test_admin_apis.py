"""Kafka's admin APIs against a 3-node cluster, driven by kafka-python's KafkaAdminClient and by confluent-kafka's
AdminClient (librdkafka): CreatePartitions, CreateTopics with a manual assignment, IncrementalAlterConfigs
APPEND/SUBTRACT, topic config validation, DescribeConfigs with sources and synonyms, DeleteRecords, DescribeCluster,
DescribeLogDirs, DescribeProducers and ElectLeaders. Each also gets one bad input, answered with Kafka's error code.

Where a client lacks an API (confluent-kafka 2.16 has no describe_log_dirs and no describe_producers), that
client's case is skipped with the reason; kafka-python covers it."""
import re
from collections import defaultdict, namedtuple

import pytest
import kafka.errors
from confluent_kafka import Consumer, ElectionType, KafkaException, Producer
from confluent_kafka import TopicPartition as CKTopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                   NewPartitions, NewTopic, OffsetSpec)
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KPTopicPartition
from kafka.admin import AlterConfigOp
from kafka.admin import ConfigResource as KPConfigResource
from kafka.admin import OffsetSpec as KPOffsetSpec

from admin_support import (ELECTION_NOT_NEEDED, FAST_FAILURE, INVALID_CONFIG, INVALID_PARTITIONS,
                           INVALID_REPLICA_ASSIGNMENT, NONE, OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION,
                           create_topic, module_cluster, node_bootstrap, node_ids, node_properties, produce,
                           read_partition, topic_names, wait_in_sync)
from cluster import wait_for
from conftest import unique_topic

PREFERRED, UNCLEAN = 0, 1

# Topic configs every Kafka 3.x broker describes for a topic (3.0 through 3.9; later 3.x add more).
KAFKA_3_TOPIC_CONFIGS = {
    "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
    "follower.replication.throttled.replicas", "index.interval.bytes", "leader.replication.throttled.replicas",
    "max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
    "message.timestamp.difference.max.ms", "message.timestamp.type", "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms", "min.insync.replicas", "preallocate", "retention.bytes", "retention.ms",
    "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
}

# Values Kafka 3.x accepts for a topic, on create and on alter (message.format.version is deprecated, still valid).
KAFKA_3_VALID = {"min.cleanable.dirty.ratio": "0.3", "max.compaction.lag.ms": "100000",
                 "message.format.version": "3.0-IV1"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # No automatic leader rebalancing: the preferred-election test wants the leader to stay away until it asks.
    yield from module_cluster(tmp_path_factory.mktemp("admin-apis") / "cluster",
                              overrides={**FAST_FAILURE, "auto.leader.rebalance.enable": "false"})


Config = namedtuple("Config", "value source synonyms")  # synonyms: [(name, value, source name)]


class KafkaPythonAdmin:
    name = "kafka-python"
    lacks = {}

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000,
                                      client_id="crucible-admin-tests")

    def close(self):
        self.admin.close()

    def create_topic(self, name, partitions=-1, rf=-1, assignment=None, config=None) -> int:
        spec = {"configs": config or {}}
        if assignment:
            spec["assignments"] = assignment  # num_partitions and replication_factor stay -1, as Kafka requires
        else:
            spec.update(num_partitions=partitions, replication_factor=rf)
        [topic] = self.admin.create_topics({name: spec}, raise_errors=False)["topics"]
        return topic["error_code"]

    def create_partitions(self, name, count) -> int:
        [result] = self.admin.create_partitions({name: count}, raise_errors=False).results
        return result.error_code

    def alter_configs(self, resource_type, name, ops) -> int:
        """IncrementalAlterConfigs; `ops` is [(key, "SET"|"DELETE"|"APPEND"|"SUBTRACT", value)]."""
        configs = {key: (AlterConfigOp[op], value) for key, op, value in ops}
        result = self.admin.alter_configs([KPConfigResource(resource_type, name, configs)], incremental=True,
                                          raise_on_unknown=False)
        text = result[resource_type.lower()][name]
        if text == "OK":
            return NONE
        return int(re.match(r"\[Error (-?\d+)\]", text).group(1))

    def topic_configs(self, name) -> dict[str, Config]:
        result = self.admin.describe_configs([KPConfigResource("topic", name)], include_synonyms=True,
                                             config_filter="all")
        return {key: Config(c["value"], c["config_source"],
                            [(s["name"], s["value"], s["source"]) for s in c.get("synonyms") or []])
                for key, c in result["topic"][name].items()}

    def delete_records(self, topic, partition, offset) -> tuple[int, int | None]:
        tp = KPTopicPartition(topic, partition)
        try:
            result = self.admin.delete_records({tp: offset})
        except kafka.errors.BrokerResponseError as error:
            return error.errno, None
        return NONE, result[tp]["low_watermark"]

    def earliest_offset(self, topic, partition) -> int:
        tp = KPTopicPartition(topic, partition)
        return self.admin.list_partition_offsets({tp: KPOffsetSpec.EARLIEST})[tp].offset

    def read_from_beginning(self, topic, partition, count) -> list[tuple[int, bytes]]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 consumer_timeout_ms=10_000)
        tp = KPTopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = []
        for record in consumer:
            got.append((record.offset, record.value))
            if len(got) == count:
                break
        consumer.close()
        return got

    def describe_cluster(self) -> tuple[list[int], int, str]:
        d = self.admin.describe_cluster()
        return sorted(b["broker_id"] for b in d["brokers"]), d["controller_id"], d["cluster_id"]

    def log_dirs(self, topic) -> dict[int, dict[str, dict[tuple[str, int], int]]]:
        """{broker: {log dir: {(topic, partition): size}}}, asking every broker about `topic`."""
        out = {}
        for entry in self.admin.describe_log_dirs(topic_partitions={topic: [0]}):
            dirs = {}
            for d in entry["log_dirs"]:
                assert d["error_code"] == NONE, d
                dirs[d["log_dir"]] = {(t["name"], p["partition_index"]): p["partition_size"]
                                      for t in d["topics"] for p in t["partitions"]}
            out[entry["broker"]] = dirs
        return out

    def producers(self, topic, partition):
        tp = KPTopicPartition(topic, partition)
        return self.admin.describe_producers([tp])[tp].active_producers

    def elect(self, election_type, partitions) -> dict[tuple[str, int], int]:
        wanted = defaultdict(list)
        for topic, p in partitions:
            wanted[topic].append(p)
        response = self.admin.elect_leaders(election_type, dict(wanted), raise_errors=False)
        if response.API_VERSION >= 1 and response.error_code:
            return {("*", -1): response.error_code}
        return {(r.topic, p.partition_id): p.error_code
                for r in response.replica_election_results for p in r.partition_result}


class ConfluentAdmin:
    name = "confluent-kafka"
    lacks = {
        "log_dirs": "confluent-kafka 2.16's AdminClient has no describe_log_dirs (librdkafka lacks DescribeLogDirs)",
        "producers": "confluent-kafka 2.16's AdminClient has no describe_producers (librdkafka lacks DescribeProducers)",
    }

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 30000})

    def close(self):
        pass

    @staticmethod
    def code(future_result) -> tuple[int, object]:
        try:
            return NONE, future_result()
        except KafkaException as error:
            return error.args[0].code(), None

    def create_topic(self, name, partitions=-1, rf=-1, assignment=None, config=None) -> int:
        if assignment:
            replicas = [assignment[p] for p in sorted(assignment)]
            topic = NewTopic(name, num_partitions=len(replicas), replica_assignment=replicas, config=config or {})
        else:
            topic = NewTopic(name, partitions, rf, config=config or {})
        future = self.admin.create_topics([topic], operation_timeout=30)[name]
        return self.code(lambda: future.result(60))[0]

    def create_partitions(self, name, count) -> int:
        future = self.admin.create_partitions([NewPartitions(name, count)], operation_timeout=30)[name]
        return self.code(lambda: future.result(60))[0]

    def alter_configs(self, resource_type, name, ops) -> int:
        entries = [ConfigEntry(key, value, incremental_operation=AlterConfigOpType[op]) for key, op, value in ops]
        resource = ConfigResource(resource_type, name, incremental_configs=entries)
        [future] = self.admin.incremental_alter_configs([resource]).values()
        return self.code(lambda: future.result(60))[0]

    def topic_configs(self, name) -> dict[str, Config]:
        # librdkafka always asks for synonyms (DescribeConfigs v1 include_synonyms); confluent-kafka keys them by
        # name, so two synonyms with the same name (a static broker value and its default) collapse into one.
        [future] = self.admin.describe_configs([ConfigResource("topic", name)]).values()
        return {key: Config(e.value, ConfigSource(e.source).name,
                            [(s.name, s.value, ConfigSource(s.source).name) for s in e.synonyms.values()])
                for key, e in future.result(60).items()}

    def delete_records(self, topic, partition, offset) -> tuple[int, int | None]:
        [future] = self.admin.delete_records([CKTopicPartition(topic, partition, offset)],
                                             operation_timeout=30).values()
        code, deleted = self.code(lambda: future.result(60))
        return code, deleted.low_watermark if deleted else None

    def earliest_offset(self, topic, partition) -> int:
        [future] = self.admin.list_offsets({CKTopicPartition(topic, partition): OffsetSpec.earliest()}).values()
        return future.result(60).offset

    def read_from_beginning(self, topic, partition, count) -> list[tuple[int, bytes]]:
        return read_partition(self.bootstrap, topic, partition, expect=count)

    def describe_cluster(self) -> tuple[list[int], int, str]:
        d = self.admin.describe_cluster().result(60)
        return sorted(n.id for n in d.nodes), d.controller.id, d.cluster_id

    def elect(self, election_type, partitions) -> dict[tuple[str, int], int]:
        kind = ElectionType.PREFERRED if election_type == PREFERRED else ElectionType.UNCLEAN
        # confluent-kafka 2.16 fails on any keyword argument to elect_leaders (a SystemError in its C binding).
        future = self.admin.elect_leaders(kind, [CKTopicPartition(t, p) for t, p in partitions])
        code, results = self.code(lambda: future.result(60))
        if code != NONE:
            return {("*", -1): code}
        return {(tp.topic, tp.partition): NONE if err is None else err.code() for tp, err in results.items()}


@pytest.fixture(params=[KafkaPythonAdmin, ConfluentAdmin], ids=["kafka-python", "confluent-kafka"])
def new_admin(request, cluster):
    """A factory for admin clients of one library (a test that restarts a node makes a fresh one afterwards)."""
    made = []

    def make(bootstrap: str | None = None):
        admin = request.param(bootstrap or cluster.live_bootstrap())
        made.append(admin)
        return admin

    yield make
    for admin in made:
        admin.close()


def partition_count(cluster, topic) -> int:
    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=10)  # all topics
    return len(metadata.topics[topic].partitions) if topic in metadata.topics else 0


# --- CreatePartitions -------------------------------------------------------------------------------------------

def test_create_partitions_grows_and_refuses_to_shrink(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"grow-{admin.name}")
    assert admin.create_topic(topic, 1, 3) == NONE
    wait_in_sync(cluster, topic, 1)

    assert admin.create_partitions(topic, 3) == NONE
    wait_in_sync(cluster, topic, 3)
    assert partition_count(cluster, topic) == 3
    # The new partitions take writes.
    assert produce(cluster.bootstrap, topic, [b"in partition 2"], partition=2) == [0]

    # Fewer, or as many as it has, is INVALID_PARTITIONS; nothing changes.
    assert admin.create_partitions(topic, 2) == INVALID_PARTITIONS
    assert admin.create_partitions(topic, 3) == INVALID_PARTITIONS
    assert partition_count(cluster, topic) == 3


# --- CreateTopics with a manual assignment ----------------------------------------------------------------------

def test_manual_replica_assignment_is_kept_as_given(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"assigned-{admin.name}")
    assignment = {0: [2, 3], 1: [3, 1]}
    assert admin.create_topic(topic, assignment=assignment) == NONE
    wait_in_sync(cluster, topic, 2)
    for partition, replicas in assignment.items():
        leader, described, isr = cluster.partition(topic, partition)
        assert described == replicas, (partition, described)
        assert leader == replicas[0], (partition, leader)  # the first replica leads
        assert sorted(isr) == sorted(replicas)

    # An assignment naming a broker that does not exist is INVALID_REPLICA_ASSIGNMENT, and nothing is created.
    missing = max(node_ids(cluster)) + 100
    bad = unique_topic(f"badly-assigned-{admin.name}")
    assert admin.create_topic(bad, assignment={0: [1, missing]}) == INVALID_REPLICA_ASSIGNMENT
    # Partitions with different replica counts, or (kafka-python sends the indexes as given) a gap in the
    # partition numbers: INVALID_REPLICA_ASSIGNMENT too.
    assert admin.create_topic(bad, assignment={0: [1, 2], 1: [3]}) == INVALID_REPLICA_ASSIGNMENT
    if admin.name == "kafka-python":
        assert admin.create_topic(bad, assignment={0: [1], 2: [2]}) == INVALID_REPLICA_ASSIGNMENT
    assert bad not in topic_names(cluster.bootstrap)


# --- IncrementalAlterConfigs APPEND / SUBTRACT ------------------------------------------------------------------

def test_append_and_subtract_on_list_configs(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"lists-{admin.name}")
    assert admin.create_topic(topic, 1, 3) == NONE
    wait_in_sync(cluster, topic)

    # DescribeConfigs is answered from the metadata of whichever broker gets it, which may trail the controller's
    # commit by a moment (as in Kafka): poll until it shows the change.
    def shows(key, value):
        wait_for(lambda: admin.topic_configs(topic)[key].value == value, 10, f"{key}={value} described")

    # APPEND to a list still at its default extends the default ("delete").
    assert admin.alter_configs("topic", topic, [("cleanup.policy", "APPEND", "compact")]) == NONE
    shows("cleanup.policy", "delete,compact")
    assert admin.topic_configs(topic)["cleanup.policy"].source == "DYNAMIC_TOPIC_CONFIG"
    assert admin.alter_configs("topic", topic, [("cleanup.policy", "SUBTRACT", "delete")]) == NONE
    shows("cleanup.policy", "compact")

    # The same on the throttled-replicas list, which defaults to empty.
    key = "leader.replication.throttled.replicas"
    assert admin.alter_configs("topic", topic, [(key, "APPEND", "0:1")]) == NONE
    assert admin.alter_configs("topic", topic, [(key, "APPEND", "0:2")]) == NONE
    shows(key, "0:1,0:2")
    assert admin.alter_configs("topic", topic, [(key, "SUBTRACT", "0:1")]) == NONE
    shows(key, "0:2")

    # APPEND to a key that is not a list is INVALID_CONFIG, and the key keeps its value.
    before = admin.topic_configs(topic)["retention.ms"]
    assert admin.alter_configs("topic", topic, [("retention.ms", "APPEND", "1000")]) == INVALID_CONFIG
    assert admin.topic_configs(topic)["retention.ms"] == before


# --- topic config validation ------------------------------------------------------------------------------------

def test_kafka_3_topic_configs_are_accepted_and_bad_ones_refused(cluster, new_admin):
    admin = new_admin()
    created = unique_topic(f"valid-create-{admin.name}")
    assert admin.create_topic(created, 1, 3, config=KAFKA_3_VALID) == NONE
    wait_in_sync(cluster, created)
    configs = admin.topic_configs(created)
    for key, value in KAFKA_3_VALID.items():
        assert (configs[key].value, configs[key].source) == (value, "DYNAMIC_TOPIC_CONFIG"), key

    altered = unique_topic(f"valid-alter-{admin.name}")
    assert admin.create_topic(altered, 1, 3) == NONE
    wait_in_sync(cluster, altered)
    assert admin.alter_configs("topic", altered, [(k, "SET", v) for k, v in KAFKA_3_VALID.items()]) == NONE
    configs = admin.topic_configs(altered)
    for key, value in KAFKA_3_VALID.items():
        assert (configs[key].value, configs[key].source) == (value, "DYNAMIC_TOPIC_CONFIG"), key

    # An unknown key and an out-of-range value are INVALID_CONFIG, on create (nothing created) and on alter
    # (nothing changed).
    for bad in ({"no.such.topic.config": "1"}, {"min.cleanable.dirty.ratio": "1.5"}):
        refused = unique_topic(f"invalid-{admin.name}")
        assert admin.create_topic(refused, 1, 3, config=bad) == INVALID_CONFIG, bad
        assert refused not in topic_names(cluster.bootstrap)
        assert admin.alter_configs("topic", altered, [(k, "SET", v) for k, v in bad.items()]) == INVALID_CONFIG, bad
    assert admin.topic_configs(altered)["min.cleanable.dirty.ratio"].value == "0.3"
    assert "no.such.topic.config" not in admin.topic_configs(altered)


# --- DescribeConfigs: every config, sources, synonyms -----------------------------------------------------------

def test_describe_configs_lists_every_topic_config_with_sources_and_synonyms(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"describe-{admin.name}")
    assert admin.create_topic(topic, 1, 3, config={"cleanup.policy": "compact"}) == NONE
    wait_in_sync(cluster, topic)
    configs = admin.topic_configs(topic)

    assert KAFKA_3_TOPIC_CONFIGS <= set(configs), sorted(KAFKA_3_TOPIC_CONFIGS - set(configs))
    assert all(c.source != "UNKNOWN_CONFIG" and c.source != "UNKNOWN" for c in configs.values())

    # Set on the topic: DYNAMIC_TOPIC_CONFIG, its synonyms the topic value first, then the broker default.
    policy = configs["cleanup.policy"]
    assert (policy.value, policy.source) == ("compact", "DYNAMIC_TOPIC_CONFIG")
    assert policy.synonyms[0] == ("cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")
    assert ("log.cleanup.policy", "delete", "DEFAULT_CONFIG") in policy.synonyms

    # Set in the brokers' server.properties (`cluster up` writes min.insync.replicas): STATIC_BROKER_CONFIG.
    static = node_properties(cluster, 1)["min.insync.replicas"]
    isr = configs["min.insync.replicas"]
    assert (isr.value, isr.source) == (static, "STATIC_BROKER_CONFIG")
    if admin.name == "kafka-python":  # confluent-kafka keys synonyms by name: the two below collapse into one
        assert isr.synonyms == [("min.insync.replicas", static, "STATIC_BROKER_CONFIG"),
                                ("min.insync.replicas", "1", "DEFAULT_CONFIG")]
    else:
        assert {s[0] for s in isr.synonyms} == {"min.insync.replicas"}

    # Set nowhere: Kafka's defaults, DEFAULT_CONFIG.
    for key, default in (("preallocate", "false"), ("segment.jitter.ms", "0"), ("min.compaction.lag.ms", "0"),
                         ("min.cleanable.dirty.ratio", "0.5")):
        assert (configs[key].value, configs[key].source) == (default, "DEFAULT_CONFIG"), key


# --- DeleteRecords ----------------------------------------------------------------------------------------------

def test_delete_records_moves_the_log_start(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"delete-records-{admin.name}")
    create_topic(cluster, topic, rf=3)
    values = [b"record-%d" % i for i in range(10)]
    assert produce(cluster.bootstrap, topic, values) == list(range(10))

    assert admin.delete_records(topic, 0, 4) == (NONE, 4)
    assert admin.earliest_offset(topic, 0) == 4
    consumer_view = read_partition(cluster.bootstrap, topic, expect=6)
    assert consumer_view == list(zip(range(4, 10), values[4:]))
    assert admin.read_from_beginning(topic, 0, 6) == list(zip(range(4, 10), values[4:]))
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "watermarks"})
    assert consumer.get_watermark_offsets(CKTopicPartition(topic, 0), timeout=10) == (4, 10)
    consumer.close()

    # Beyond the high watermark: OFFSET_OUT_OF_RANGE, and the log start stays where it was.
    assert admin.delete_records(topic, 0, 11)[0] == OFFSET_OUT_OF_RANGE
    assert admin.earliest_offset(topic, 0) == 4


# --- DescribeCluster --------------------------------------------------------------------------------------------

def test_describe_cluster(cluster, new_admin):
    brokers, controller, cluster_id = new_admin().describe_cluster()
    status = cluster.status()
    assert brokers == sorted(int(n["id"]) for n in status["nodes"])
    assert controller in brokers
    assert cluster_id == status["clusterId"]


# --- DescribeLogDirs --------------------------------------------------------------------------------------------

def test_describe_log_dirs_shows_the_replicas_with_their_size(cluster, new_admin):
    admin = new_admin()
    if "log_dirs" in admin.lacks:
        pytest.skip(admin.lacks["log_dirs"])
    topic = unique_topic(f"log-dirs-{admin.name}")
    create_topic(cluster, topic, assignment=[[2, 3]])
    produce(cluster.bootstrap, topic, [b"x" * 1000 + b"%d" % i for i in range(20)])

    def both_replicas_sized():
        described = admin.log_dirs(topic)
        sizes = [size for b in (2, 3) for d in described.get(b, {}).values()
                 for tp, size in d.items() if tp == (topic, 0)]
        return described if len(sizes) == 2 and all(size > 0 for size in sizes) else None
    described = wait_for(both_replicas_sized, 30, "both replicas report a non-empty log")
    assert sorted(described) == node_ids(cluster)
    for broker in (2, 3):
        configured = node_properties(cluster, broker)["log.dirs"]
        [(log_dir, partitions)] = described[broker].items()
        assert log_dir.rstrip("/") == configured.rstrip("/")
        assert partitions[(topic, 0)] > 0
    # Broker 1 holds no replica of it.
    assert all((topic, 0) not in d for d in described[1].values())


# --- DescribeProducers ------------------------------------------------------------------------------------------

def test_describe_producers_shows_idempotent_producers(cluster, new_admin):
    admin = new_admin()
    if "producers" in admin.lacks:
        pytest.skip(admin.lacks["producers"])
    topic = unique_topic(f"producers-{admin.name}")
    create_topic(cluster, topic, rf=3)

    python_producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, enable_idempotence=True, acks="all")
    for i in range(5):
        python_producer.send(topic, value=b"kafka-python %d" % i, partition=0)
    python_producer.flush(30)
    python_pid = python_producer._transaction_manager.producer_id_and_epoch.producer_id  # no public accessor
    python_producer.close()
    rd = Producer({"bootstrap.servers": cluster.bootstrap, "enable.idempotence": True})
    for i in range(7):
        rd.produce(topic, value=b"librdkafka %d" % i, partition=0)
    assert rd.flush(30) == 0

    active = admin.producers(topic, 0)
    assert len(active) == 2 and len({p.producer_id for p in active}) == 2, active
    assert all(p.producer_id >= 0 and p.producer_epoch >= 0 for p in active)
    by_sequence = {p.last_sequence: p for p in active}
    assert sorted(by_sequence) == [4, 6], active  # 5 and 7 records, sequences from 0
    assert by_sequence[4].producer_id == python_pid


# --- ElectLeaders -----------------------------------------------------------------------------------------------

def test_preferred_election_returns_leadership_after_a_restart(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"preferred-{admin.name}")
    create_topic(cluster, topic, assignment=[[1, 2, 3]])
    assert cluster.partition(topic)[0] == 1

    cluster.node("stop", 1)
    survivors = ",".join(node_bootstrap(cluster, n) for n in (2, 3))
    wait_for(lambda: cluster.partition(topic, via=survivors)[0] in (2, 3), 30, "leadership moves off node 1")
    cluster.node("start", 1)
    wait_for(lambda: 1 in cluster.partition(topic)[2], 60, "node 1 back in the ISR")
    assert cluster.partition(topic)[0] != 1, "leadership came back without an election"

    admin = new_admin(cluster.bootstrap)  # a client that never saw node 1 go away
    assert admin.elect(PREFERRED, [(topic, 0)]) == {(topic, 0): NONE}
    wait_for(lambda: cluster.partition(topic)[0] == 1, 30, "the preferred replica leads")

    # The preferred replica leads already: ELECTION_NOT_NEEDED.
    assert admin.elect(PREFERRED, [(topic, 0)]) == {(topic, 0): ELECTION_NOT_NEEDED}
    # A partition or topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION.
    assert admin.elect(PREFERRED, [(topic, 7)]) == {(topic, 7): UNKNOWN_TOPIC_OR_PARTITION}
    ghost = unique_topic("no-such-topic")
    assert admin.elect(PREFERRED, [(ghost, 0)]) == {(ghost, 0): UNKNOWN_TOPIC_OR_PARTITION}
    assert ghost not in topic_names(cluster.bootstrap)


def test_unclean_election_with_a_live_leader_is_not_needed(cluster, new_admin):
    admin = new_admin()
    topic = unique_topic(f"unclean-{admin.name}")
    create_topic(cluster, topic, rf=3)
    leader, replicas, isr = cluster.partition(topic)
    assert admin.elect(UNCLEAN, [(topic, 0)]) == {(topic, 0): ELECTION_NOT_NEEDED}
    after = cluster.partition(topic)
    assert (after[0], after[1], sorted(after[2])) == (leader, replicas, sorted(isr))
