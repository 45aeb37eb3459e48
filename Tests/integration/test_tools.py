"""Crucible's Kafka command-line tools (topics, configs, console-producer, console-consumer, dump-log) against a
running broker, cross-checked with librdkafka (confluent-kafka, kcat)."""
import json
import re
import shutil
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from conftest import crucible_binary, free_port, unique_topic
from dataset import CODECS


def tool(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([crucible_binary(), *args], input=stdin, capture_output=True, timeout=timeout)


def ok(*args: str, stdin: bytes | None = None) -> str:
    result = tool(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    ok("topics", "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--partitions", str(partitions))


def murmur2_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner, written out independently of the Swift one."""
    m, h = 0x5BD1E995, (0x9747B28C ^ len(key)) & 0xFFFFFFFF
    whole = len(key) // 4 * 4
    for i in range(0, whole, 4):
        k = int.from_bytes(key[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = key[whole:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def consume_with_librdkafka(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, deadline = [], time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None:
            assert msg.error() is None, msg.error()
            got.append(msg)
    consumer.close()
    return got


# --- topics -------------------------------------------------------------------------------------------------

def test_topics_create_list_describe_delete(broker):
    topic = unique_topic("topics")
    b = ("--bootstrap-server", broker.bootstrap)
    created = tool("topics", *b, "--create", "--topic", topic, "--partitions", "3", "--replication-factor", "1",
                   "--config", "retention.ms=123456")
    assert created.returncode == 0, created.stderr
    assert created.stdout.decode() == f"Created topic {topic}.\n"

    again = tool("topics", *b, "--create", "--topic", topic)
    assert again.returncode == 1
    assert f"Topic '{topic}' already exists." in again.stderr.decode()
    quiet = tool("topics", *b, "--create", "--topic", topic, "--if-not-exists")
    assert (quiet.returncode, quiet.stdout) == (0, b"")

    assert topic in ok("topics", *b, "--list").splitlines()

    lines = ok("topics", *b, "--describe", "--topic", topic).splitlines()
    summary = re.fullmatch(rf"Topic: {topic}\tTopicId: (\S{{22}})\tPartitionCount: 3\tReplicationFactor: 1\t"
                           r"Configs: (.*)", lines[0])
    assert summary, lines[0]
    assert "retention.ms=123456" in summary.group(2).split(",")
    assert lines[1:] == [f"Topic: {topic}\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1" for p in range(3)]
    # Describing every topic includes this one with the same lines.
    everything = ok("topics", *b, "--describe").splitlines()
    assert all(line in everything for line in lines)

    missing = tool("topics", *b, "--describe", "--topic", topic + "-missing")
    assert missing.returncode == 1 and b"does not exist" in missing.stderr

    assert ok("topics", *b, "--delete", "--topic", topic) == ""
    deadline = time.monotonic() + 10
    while topic in ok("topics", *b, "--list").splitlines() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert topic not in ok("topics", *b, "--list").splitlines()
    assert tool("topics", *b, "--delete", "--topic", topic).returncode == 1
    assert tool("topics", *b, "--delete", "--topic", topic, "--if-exists").returncode == 0


def test_topics_partition_defaults_come_from_the_broker(make_broker):
    broker = make_broker(num_partitions="2")
    topic = unique_topic("defaults")
    ok("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", topic)
    lines = ok("topics", "--bootstrap-server", broker.bootstrap, "--describe", "--topic", topic).splitlines()
    assert "PartitionCount: 2" in lines[0] and len(lines) == 3


@pytest.mark.parametrize("args", [
    ["topics", "--bootstrap-server", "{b}"],
    ["topics", "--bootstrap-server", "{b}", "--list", "--describe"],
    ["topics", "--bootstrap-server", "{b}", "--create"],
    ["topics", "--bootstrap-server", "{b}", "--create", "--topic", "x", "--partitions", "0"],
    ["topics", "--bootstrap-server", "no-port-here", "--list"],
    ["configs", "--bootstrap-server", "{b}", "--entity-type", "clients", "--entity-name", "1", "--describe"],
    ["configs", "--bootstrap-server", "{b}", "--entity-type", "topics", "--entity-name", "x", "--alter"],
    ["configs", "--bootstrap-server", "{b}", "--entity-type", "topics", "--entity-name", "x", "--alter",
     "--add-config", "novalue"],
    ["console-consumer", "--bootstrap-server", "{b}", "--topic", "x", "--group", "g", "--partition", "0"],
    ["console-consumer", "--bootstrap-server", "{b}", "--topic", "x", "--offset", "3"],
    ["console-producer", "--bootstrap-server", "{b}", "--topic", "x", "--producer-property", "acks=2"],
    ["console-producer", "--bootstrap-server", "{b}", "--topic", "x", "--producer-property", "compression.type=brotli"],
    ["dump-log", "--files", "/nonexistent/00000000000000000000.log"],
])
def test_bad_usage_exits_2_with_one_line(broker, args):
    result = tool(*[a.format(b=broker.bootstrap) for a in args], stdin=b"")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.decode().strip(), "a reason on stderr"


def test_unreachable_broker_is_a_failed_operation():
    result = tool("topics", "--bootstrap-server", f"127.0.0.1:{free_port()}", "--list")
    assert result.returncode == 1 and b"cannot reach --bootstrap-server" in result.stderr


# --- configs ------------------------------------------------------------------------------------------------

def admin_topic_configs(bootstrap: str, topic: str) -> dict:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    [future] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).values()
    return future.result(timeout=30)


def test_configs_alter_describe_and_delete(broker):
    topic = unique_topic("configs")
    create_topic(broker.bootstrap, topic)
    base = ("configs", "--bootstrap-server", broker.bootstrap, "--entity-type", "topics", "--entity-name", topic)

    altered = ok(*base, "--alter", "--add-config", "retention.ms=3600000,cleanup.policy=compact")
    assert altered == f"Completed updating config for topic {topic}.\n"
    described = ok(*base, "--describe").splitlines()
    assert described[0] == f"Dynamic configs for topic {topic} are:"
    assert sorted(described[1:]) == [
        "  cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, "
        "DEFAULT_CONFIG:log.cleanup.policy=delete}",
        "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000, "
        "DEFAULT_CONFIG:log.retention.ms=604800000}",
    ]
    # The broker applied it: librdkafka's admin client sees the same values as topic overrides.
    seen = admin_topic_configs(broker.bootstrap, topic)
    assert seen["retention.ms"].value == "3600000" and not seen["retention.ms"].is_default
    assert seen["cleanup.policy"].value == "compact"

    ok(*base, "--alter", "--delete-config", "cleanup.policy")
    assert ok(*base, "--describe").splitlines()[1:] == [
        "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000, "
        "DEFAULT_CONFIG:log.retention.ms=604800000}"]
    assert admin_topic_configs(broker.bootstrap, topic)["cleanup.policy"].is_default
    # --all lists defaults too.
    assert any(line.startswith("  cleanup.policy=delete ") for line in ok(*base, "--describe", "--all").splitlines())

    missing = tool("configs", "--bootstrap-server", broker.bootstrap, "--entity-type", "topics",
                   "--entity-name", topic + "-missing", "--describe")
    assert missing.returncode == 1 and missing.stderr.strip()


# --- console producer and consumer --------------------------------------------------------------------------

def keyed_lines(tag: str, count: int = 120) -> list[tuple[str, str]]:
    return [(f"{tag}-key-{i % 9}", f"value {i} \u00e9\u00fc {'x' * (i % 50)}") for i in range(count)]


@pytest.mark.parametrize("codec", CODECS)
def test_console_round_trip_with_keys(broker, codec):
    topic = unique_topic(f"console-{codec}")
    partitions = 4
    create_topic(broker.bootstrap, topic, partitions)
    lines = keyed_lines(codec)
    ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--property", "parse.key=true",
       "--property", "key.separator=|", "--producer-property", f"compression.type={codec}",
       stdin="".join(f"{k}|{v}\n" for k, v in lines).encode())

    result = tool("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--from-beginning",
                  "--max-messages", str(len(lines)), "--timeout-ms", "10000", "--property", "print.key=true",
                  "--property", "print.partition=true", "--property", "print.offset=true")
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().strip().splitlines()[-1] == f"Processed a total of {len(lines)} messages"
    printed = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert len(printed) == len(lines)
    by_partition: dict[int, list] = {}
    for partition, offset, key, value in printed:
        assert partition.startswith("Partition:") and offset.startswith("Offset:")
        by_partition.setdefault(int(partition[10:]), []).append((int(offset[7:]), key, value))
    for partition, records in by_partition.items():
        assert [r[0] for r in records] == list(range(len(records)))
        assert all(murmur2_partition(key.encode(), partitions) == partition for _, key, _ in records)
    # Per-key order is kept within a partition.
    expected_by_key: dict[str, list] = {}
    for k, v in lines:
        expected_by_key.setdefault(k, []).append(v)
    got_by_key: dict[str, list] = {}
    for records in by_partition.values():
        for _, k, v in records:
            got_by_key.setdefault(k, []).append(v)
    assert got_by_key == expected_by_key

    # librdkafka reads the same bytes, at the same places.
    messages = consume_with_librdkafka(broker.bootstrap, topic, partitions, len(lines))
    assert sorted((m.key(), m.value()) for m in messages) == sorted((k.encode(), v.encode()) for k, v in lines)
    assert all(m.partition() == murmur2_partition(m.key(), partitions) for m in messages)

    # And the batches really carry the codec asked for.
    broker.stop()
    segment = broker.directory / "data" / f"{topic}-{messages[0].partition()}" / "00000000000000000000.log"
    batches = [line for line in ok("dump-log", "--files", str(segment)).splitlines() if line.startswith("baseOffset:")]
    assert batches and all(f"compresscodec: {codec} " in line for line in batches)


def test_console_producer_null_keys_and_acks(broker):
    topic = unique_topic("nullkeys")
    create_topic(broker.bootstrap, topic, 3)
    for acks in ("0", "1", "all"):
        ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic,
           "--producer-property", f"acks={acks}", stdin=f"first {acks}\nsecond {acks}\r\nthird {acks}".encode())
    out = ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--from-beginning",
             "--timeout-ms", "3000", "--property", "print.key=true")
    assert sorted(out.splitlines()) == sorted(f"null\t{w} {a}" for a in ("0", "1", "all")
                                               for w in ("first", "second", "third"))


def test_console_producer_stops_at_a_line_without_separator(broker):
    topic = unique_topic("noseparator")
    create_topic(broker.bootstrap, topic)
    result = tool("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic,
                  "--property", "parse.key=true", stdin=b"k1\tv1\nk2\tv2\nno separator\nk3\tv3\n")
    assert result.returncode == 2
    assert "No key separator found on line number 3: 'no separator'" in result.stderr.decode()
    out = ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--from-beginning",
             "--timeout-ms", "2000", "--property", "print.key=true")
    assert out.splitlines() == ["k1\tv1", "k2\tv2"]


def test_console_consumer_reads_what_kcat_wrote(broker):
    topic = unique_topic("fromkcat")
    create_topic(broker.bootstrap, topic)
    lines = [(f"k{i}", f"payload {i} \u00e9") for i in range(50)]
    subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K", "|", "-z", "gzip", "-H", "origin=kcat"],
                   input="".join(f"{k}|{v}\n" for k, v in lines).encode(), check=True, timeout=60)
    out = ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--from-beginning",
             "--max-messages", "50", "--timeout-ms", "10000", "--property", "print.key=true",
             "--property", "print.headers=true", "--property", "print.timestamp=true",
             "--property", "key.separator= | ")
    printed = out.splitlines()
    assert len(printed) == 50
    for line, (k, v) in zip(printed, lines):
        timestamp, headers, key, value = line.split(" | ")
        assert re.fullmatch(r"CreateTime:\d{13}", timestamp)
        assert (headers, key, value) == ("origin:kcat", k, v)


def test_console_consumer_partition_offset_and_timeout(broker):
    topic = unique_topic("offsets")
    create_topic(broker.bootstrap, topic, 2)
    ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--property", "parse.key=true",
       stdin=b"".join(b"same\tv%d\n" % i for i in range(5)))
    partition = murmur2_partition(b"same", 2)
    out = ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--partition",
             str(partition), "--offset", "2", "--max-messages", "2", "--property", "print.offset=true")
    assert out.splitlines() == ["Offset:2\tv2", "Offset:3\tv3"]
    # Without --from-beginning the consumer starts at the end: nothing old, and it ends after the timeout.
    started = time.monotonic()
    result = tool("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--timeout-ms", "1000")
    assert result.returncode == 0 and result.stdout == b""
    assert result.stderr.decode().strip().endswith("Processed a total of 0 messages")
    assert time.monotonic() - started < 10


def test_murmur2_placement_matches_librdkafka(broker):
    partitions = 6
    ours, theirs = unique_topic("murmur-ours"), unique_topic("murmur-rdkafka")
    create_topic(broker.bootstrap, ours, partitions)
    create_topic(broker.bootstrap, theirs, partitions)
    keys = [f"user-{i}" for i in range(150)] + ["", "a", "ab", "abc", "abcd", "\u00e9\u00e8\u00ea"]

    placed = {}
    producer = Producer({"bootstrap.servers": broker.bootstrap, "partitioner": "murmur2_random"})
    for key in keys:
        producer.produce(theirs, key=key.encode(), value=b"v",
                         on_delivery=lambda err, msg: placed.__setitem__(msg.key().decode(), msg.partition()))
    assert producer.flush(30) == 0

    ok("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", ours, "--property", "parse.key=true",
       stdin="".join(f"{k}\tv\n" for k in keys).encode())
    out = ok("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", ours, "--from-beginning",
             "--max-messages", str(len(keys)), "--timeout-ms", "10000", "--property", "print.key=true",
             "--property", "print.partition=true", "--property", "print.value=false")
    ours_placed = {}
    for line in out.splitlines():
        partition, key = line.split("\t", 1)
        ours_placed[key] = int(partition[len("Partition:"):])
    assert len(placed) == len(keys)
    assert ours_placed == placed


# --- dump-log -----------------------------------------------------------------------------------------------

def parse_dump(text: str) -> tuple[list[dict], list[dict], list[str]]:
    """Batch lines and record lines as field dicts, and the other lines."""
    batches, records, other = [], [], []
    for line in text.splitlines():
        if line.startswith("baseOffset:"):
            batches.append(dict(re.findall(r"(\w+): (\S+)", line)))
        elif line.startswith("| offset:"):
            fields = dict(re.findall(r"(\w+): (\S*)", line.split(" key: ")[0]))
            fields["key"] = re.search(r" key: (.*?) payload: ", line).group(1) if " key: " in line else None
            fields["payload"] = line.split(" payload: ", 1)[1] if " payload: " in line else None
            records.append(fields)
        else:
            other.append(line)
    return batches, records, other


def test_dump_log_lists_every_batch_and_record_and_reports_a_torn_tail(broker, tmp_path):
    topic = unique_topic("dump")
    create_topic(broker.bootstrap, topic)
    b = ("--bootstrap-server", broker.bootstrap, "--topic", topic)
    ok("console-producer", *b, "--property", "parse.key=true", stdin=b"k0\tv0\nk1\tv1\nk2\tv2\n")
    ok("console-producer", *b, "--producer-property", "compression.type=gzip", stdin=b"v3\nv4\n")
    subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K", "|", "-H", "h1=x", "-H", "h2=y"],
                   input=b"k5|v5\n", check=True, timeout=60)
    assert broker.stop() == 0
    segment = broker.directory / "data" / f"{topic}-0" / "00000000000000000000.log"

    out = ok("dump-log", "--files", str(segment), "--print-data-log")
    batches, records, other = parse_dump(out)
    assert other == [f"Dumping {segment}", "Log starting offset: 0"]
    assert [(int(x["baseOffset"]), int(x["lastOffset"]), int(x["count"])) for x in batches] == [
        (0, 2, 3), (3, 4, 2), (5, 5, 1)]
    assert [x["compresscodec"] for x in batches] == ["none", "gzip", "none"]
    assert all(x["isvalid"] == "true" and x["magic"] == "2" for x in batches)
    positions = [int(x["position"]) for x in batches]
    sizes = [int(x["size"]) for x in batches]
    assert positions == [0, sizes[0], sizes[0] + sizes[1]]
    assert positions[-1] + sizes[-1] == segment.stat().st_size
    assert [int(r["offset"]) for r in records] == list(range(6))
    assert [r["key"] for r in records] == ["k0", "k1", "k2", None, None, "k5"]
    assert [r["payload"] for r in records] == [f"v{i}" for i in range(6)]
    assert [r["keySize"] for r in records] == ["2", "2", "2", "-1", "-1", "2"]
    assert records[5]["headerKeys"] == "[h1,h2]"
    # Without --print-data-log only the batches.
    assert parse_dump(ok("dump-log", "--files", str(segment)))[1] == []

    torn = tmp_path / "00000000000000000000.log"
    shutil.copy(segment, torn)
    with open(torn, "r+b") as f:
        f.truncate(segment.stat().st_size - 7)
    batches, records, other = parse_dump(ok("dump-log", "--files", str(torn), "--print-data-log"))
    assert len(batches) == 2 and len(records) == 5
    assert other[-1] == f"Found {sizes[2] - 7} invalid bytes at the end of {torn.name}"

    # A flipped byte inside the first batch's records: the CRC no longer matches, the rest still dumps.
    corrupt = tmp_path / "00000000000000000003.log"
    data = bytearray(segment.read_bytes())
    data[sizes[0] - 3] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    batches, _, other = parse_dump(ok("dump-log", "--files", str(corrupt)))
    assert [x["isvalid"] for x in batches] == ["false", "true", "true"]
    assert other[1] == "Log starting offset: 3"
