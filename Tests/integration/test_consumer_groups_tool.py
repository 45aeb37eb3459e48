"""`crucible consumer-groups` (kafka-consumer-groups.sh) and `console-consumer --group` against a real broker, with
groups made and checked by librdkafka (confluent-kafka): lag after commits, every --reset-offsets mode landing
where Kafka's would (offsets worked out here from the produced records and their timestamps), refusal while a
group is active, --delete and --delete-offsets, consumers that continue where the last one stopped, and
`dump-log --offsets-decoder` on the broker's __consumer_offsets segments."""
import json
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import Broker, crucible_binary, unique_topic

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def broker():
    with tempfile.TemporaryDirectory(prefix="crucible-groups-") as temp:
        directory = Path(temp) / "broker"
        directory.mkdir()
        node = Broker(directory, {"group.initial.rebalance.delay.ms": "0", "num.partitions": "1"}).start()
        try:
            yield node
        finally:
            if node.alive():
                node.kill()


def tool(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([crucible_binary(), *args], capture_output=True, text=True, timeout=timeout)


def groups(broker, *args: str) -> subprocess.CompletedProcess:
    return tool("consumer-groups", "--bootstrap-server", broker.bootstrap, *args)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def table(text: str) -> list[dict[str, str]]:
    """Rows of a whitespace-aligned table under the header line (the first line starting with GROUP or TOPIC)."""
    lines = [line for line in text.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith(("GROUP", "TOPIC")))
    header = lines[start].split()
    return [dict(zip(header, line.split())) for line in lines[start + 1:] if not line.startswith(("Warn", "Error"))]


def create_topic(broker, topic: str, partitions: int) -> None:
    ok(tool("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", topic,
            "--partitions", str(partitions)))


def produce(broker, topic: str, records: list[tuple[int, bytes, int | None]]) -> list[int]:
    """Produces (partition, value, timestamp ms or None) in order; returns each record's offset."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
    offsets: dict[int, int] = {}

    def report(err, msg):
        assert err is None, err
        offsets[len(offsets)] = msg.offset()

    for partition, value, timestamp in records:
        producer.produce(topic, value=value, partition=partition, timestamp=timestamp or 0, on_delivery=report)
        producer.flush(30)  # one at a time: the callbacks come back in order
    return [offsets[i] for i in range(len(records))]


def consumer(broker, group: str, **config) -> Consumer:
    return Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "session.timeout.ms": 10000, **config})


def commit(broker, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commits from outside the group, as an admin would (the group must be empty)."""
    c = consumer(broker, group)
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    c.close()


def committed(broker, group: str, topic: str, partitions: int = 1) -> dict[int, int]:
    c = consumer(broker, group)
    try:
        return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)],
                                                                timeout=30)}
    finally:
        c.close()


def join(broker, group: str, topic: str) -> Consumer:
    """A librdkafka member of `group` that has its assignment."""
    c = consumer(broker, group)
    c.subscribe([topic])
    deadline = time.monotonic() + 30
    while not c.assignment() and time.monotonic() < deadline:
        c.poll(0.2)
    assert c.assignment(), "no assignment within 30 s"
    return c


@pytest.fixture
def three_nodes(tmp_path):
    """A 3-node cluster standing in for `broker` (only `.bootstrap` is used): groups live on different nodes."""
    from cluster import Cluster

    cluster = Cluster(tmp_path / "cluster", overrides={"group.initial.rebalance.delay.ms": "0"})
    cluster.up()
    yield cluster
    cluster.down()


@pytest.mark.parametrize("where", ["broker", "three_nodes"])
def test_describe_shows_lag_members_and_state(request, where):
    broker = request.getfixturevalue(where)
    topic, group = unique_topic("lag"), unique_topic("g-lag")
    create_topic(broker, topic, 2)
    produce(broker, topic, [(0, b"a%d" % i, None) for i in range(10)] + [(1, b"b%d" % i, None) for i in range(6)])
    member = join(broker, group, topic)
    try:
        member.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 6)], asynchronous=False)
        rows = table(ok(groups(broker, "--describe", "--group", group)))
        assert [(r["PARTITION"], r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) for r in rows] == \
            [("0", "4", "10", "6"), ("1", "6", "6", "0")]
        assert {r["CONSUMER-ID"] for r in rows} == {rows[0]["CONSUMER-ID"]} and rows[0]["CONSUMER-ID"] != "-"
        assert rows[0]["CLIENT-ID"] == "rdkafka" and rows[0]["HOST"].startswith("/")
        members = table(ok(groups(broker, "--describe", "--group", group, "--members")))
        assert [(m["CONSUMER-ID"], m["#PARTITIONS"]) for m in members] == [(rows[0]["CONSUMER-ID"], "2")]
        state = ok(groups(broker, "--describe", "--group", group, "--state"))
        assert state.split("\n")[2].split()[-3:] == ["range", "Stable", "1"], state
        assert group in ok(groups(broker, "--list")).split()
    finally:
        member.close()
    empty = groups(broker, "--describe", "--group", group)
    assert f"Consumer group '{group}' has no active members." in empty.stderr
    assert [r["CONSUMER-ID"] for r in table(ok(empty))] == ["-", "-"]
    missing = groups(broker, "--describe", "--group", "no-such-group")
    assert missing.returncode == 1 and "Error: Consumer group 'no-such-group' does not exist." in missing.stdout


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"


def test_every_reset_mode_lands_where_kafkas_would(broker, tmp_path):
    topic, group = unique_topic("reset"), unique_topic("g-reset")
    create_topic(broker, topic, 1)
    now = int(time.time() * 1000)
    # Ten records an hour apart, the last an hour ago; then the first two are deleted (log start 2).
    stamps = [now - (10 - i) * HOUR_MS for i in range(10)]
    assert produce(broker, topic, [(0, b"r%d" % i, stamps[i]) for i in range(10)]) == list(range(10))
    plan = tmp_path / "delete.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "offset": 2}]}))
    ok(tool("delete-records", "--bootstrap-server", broker.bootstrap, "--offset-json-file", str(plan)))
    commit(broker, group, topic, {0: 5})
    log_start, log_end = 2, 10

    def first_at_or_after(ms: int) -> int:
        return next((o for o in range(log_start, log_end) if stamps[o] >= ms), log_end)

    def reset(*scenario: str, scope=("--topic", topic), mode="--execute") -> int:
        out = ok(groups(broker, "--reset-offsets", "--group", group, *scope, *scenario, mode))
        [row] = table(out)
        assert (row["GROUP"], row["TOPIC"], row["PARTITION"]) == (group, topic, "0")
        return int(row["NEW-OFFSET"])

    cases = [
        (("--to-earliest",), log_start),
        (("--to-latest",), log_end),
        (("--to-offset", "100"), log_end),
        (("--to-offset", "0"), log_start),
        (("--to-offset", "7"), 7),
        (("--shift-by", "-3"), 4),           # from 7
        (("--shift-by", "-100"), log_start),
        (("--shift-by", "100"), log_end),
        (("--to-datetime", iso(stamps[6] - 1)), 6),
        (("--to-datetime", iso(stamps[3])), 3),
        (("--to-datetime", iso(stamps[0])), log_start),
        (("--by-duration", "PT5H30M"), first_at_or_after(now - 5 * HOUR_MS - 30 * 60_000)),
        (("--by-duration", "P1D"), log_start),
    ]
    for scenario, expected in cases:
        assert reset(*scenario) == expected, scenario
        assert committed(broker, group, topic) == {0: expected}, scenario
    # A time after every record: Kafka's warning and the log end.
    later = ok(groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--to-datetime",
                      iso(now + HOUR_MS), "--execute"))
    assert f"Warn: Partition 0 from topic {topic} is empty. Falling back to latest known offset." in later
    assert committed(broker, group, topic) == {0: log_end}
    # Dry runs (explicit or by default) and partition lists change nothing.
    assert reset("--to-earliest", mode="--dry-run") == log_start
    assert reset("--to-offset", "3", scope=("--topic", f"{topic}:0"), mode="--dry-run") == 3
    default = groups(broker, "--reset-offsets", "--group", group, "--all-topics", "--to-earliest")
    assert default.returncode == 0 and "--execute" in default.stderr
    assert committed(broker, group, topic) == {0: log_end}


def test_reset_and_delete_are_refused_while_the_group_is_active(broker):
    topic, group = unique_topic("active"), unique_topic("g-active")
    create_topic(broker, topic, 1)
    member = join(broker, group, topic)
    try:
        refused = groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
        assert refused.returncode == 1
        assert (f"Error: Assignments can only be reset if the group '{group}' is inactive, but the current state "
                "is Stable.") in refused.stdout
        busy = groups(broker, "--delete", "--group", group)
        assert busy.returncode == 1
        assert f"* Group '{group}' could not be deleted due to: NON_EMPTY_GROUP: The group is not empty." in busy.stdout
    finally:
        member.close()


def test_delete_offsets_then_the_group(broker):
    topic, group = unique_topic("del"), unique_topic("g-del")
    create_topic(broker, topic, 2)
    produce(broker, topic, [(0, b"x", None), (1, b"y", None)])
    commit(broker, group, topic, {0: 1, 1: 1})
    out = ok(groups(broker, "--delete-offsets", "--group", group, "--topic", topic))
    assert f"Request succeed for deleting offsets with topic {topic} group {group}" in out
    assert [(r["PARTITION"], r["STATUS"]) for r in table(out)] == [("0", "Successful"), ("1", "Successful")]
    assert committed(broker, group, topic, 2) == {0: -1001, 1: -1001}  # librdkafka's "no offset"
    commit(broker, group, topic, {0: 1})
    assert f"Deletion of requested consumer groups ('{group}') was successful." in ok(groups(broker, "--delete", "--group", group))
    assert group not in ok(groups(broker, "--list")).split()
    gone = groups(broker, "--delete", "--group", group)
    assert gone.returncode == 1 and "GROUP_ID_NOT_FOUND" in gone.stdout


def test_json_output(broker):
    topic, group = unique_topic("json"), unique_topic("g-json")
    create_topic(broker, topic, 2)
    produce(broker, topic, [(0, b"j%d" % i, None) for i in range(5)])
    commit(broker, group, topic, {0: 2})
    described = json.loads(ok(groups(broker, "--describe", "--group", group, "--json")))
    assert described == {"groups": [{"group": group, "state": "Empty", "partitions": [
        {"topic": topic, "partition": 0, "currentOffset": 2, "logEndOffset": 5, "lag": 3, "consumerId": None,
         "host": None, "clientId": None}]}]}
    state = json.loads(ok(groups(broker, "--describe", "--group", group, "--state", "--json")))["groups"][0]
    assert (state["state"], state["members"], state["coordinator"]["id"]) == ("Empty", 0, 1)
    plan = json.loads(ok(groups(broker, "--reset-offsets", "--group", group, "--topic", topic, "--to-latest",
                                "--dry-run", "--json")))
    assert plan == {"groups": [{"group": group, "partitions": [{"topic": topic, "partition": 0, "newOffset": 5},
                                                               {"topic": topic, "partition": 1, "newOffset": 0}]}]}
    listed = json.loads(ok(groups(broker, "--list", "--json")))
    assert {"group": group, "state": "Empty", "protocolType": ""} in listed
    missing = groups(broker, "--describe", "--group", "no-such-group", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["groups"][0]["state"] == "Dead"
    assert "does not exist" in missing.stderr


def console(broker, topic: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return tool("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, *args, timeout=timeout)


def test_console_consumer_group_continues_where_it_stopped(broker):
    topic, group = unique_topic("console"), unique_topic("g-console")
    create_topic(broker, topic, 3)
    values = [b"v%02d" % i for i in range(30)]
    produce(broker, topic, [(i % 3, v, None) for i, v in enumerate(values)])
    first = console(broker, topic, "--group", group, "--from-beginning", "--max-messages", "8")
    assert first.returncode == 0 and "Processed a total of 8 messages" in first.stderr
    second = console(broker, topic, "--consumer-property", f"group.id={group}", "--timeout-ms", "4000")
    assert "Processed a total of 22 messages" in second.stderr, second.stderr
    seen = first.stdout.split() + second.stdout.split()
    assert sorted(seen) == sorted(v.decode() for v in values)
    assert committed(broker, group, topic, 3) == {0: 10, 1: 10, 2: 10}
    rows = table(ok(groups(broker, "--describe", "--group", group)))
    assert {r["LAG"] for r in rows} == {"0"}
    # Without auto commit the group learns nothing; without --from-beginning a new group starts at the end.
    quiet = unique_topic("g-quiet")
    ok(console(broker, topic, "--group", quiet, "--from-beginning", "--max-messages", "5",
               "--consumer-property", "enable.auto.commit=false"))
    assert committed(broker, quiet, topic, 3) == {0: -1001, 1: -1001, 2: -1001}
    late = console(broker, topic, "--group", unique_topic("g-late"), "--timeout-ms", "2000")
    assert late.returncode == 0 and late.stdout == ""


def test_console_consumer_commits_and_leaves_on_sigterm(broker):
    topic, group = unique_topic("term"), unique_topic("g-term")
    create_topic(broker, topic, 1)
    produce(broker, topic, [(0, b"t%d" % i, None) for i in range(12)])
    process = subprocess.Popen([crucible_binary(), "console-consumer", "--bootstrap-server", broker.bootstrap,
                                "--topic", topic, "--group", group, "--from-beginning"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()  # it has joined and is printing
    assert first.strip() == "t0"
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Processed a total of 12 messages" in err, err
    assert committed(broker, group, topic) == {0: 12}
    # It left: the group is empty at once, not after its 45 s session.
    assert "has no active members" in groups(broker, "--describe", "--group", group).stderr


def test_console_consumer_group_picks_up_new_partitions(broker):
    topic, group = unique_topic("grow"), unique_topic("g-grow")
    create_topic(broker, topic, 1)
    process = subprocess.Popen([crucible_binary(), "console-consumer", "--bootstrap-server", broker.bootstrap,
                                "--topic", topic, "--group", group, "--max-messages", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not table(groups(broker, "--describe", "--group", group, "--members").stdout):
        time.sleep(0.3)
    ok(tool("topics", "--bootstrap-server", broker.bootstrap, "--alter", "--topic", topic, "--partitions", "2"))
    time.sleep(8)  # the leader notices within its 5 s metadata check and the group rebalances
    produce(broker, topic, [(0, b"old", None), (1, b"new", None)])
    out, err = process.communicate(timeout=60)
    assert sorted(out.split()) == ["new", "old"], (out, err)


def test_two_console_consumers_share_the_partitions(broker):
    topic, group = unique_topic("share"), unique_topic("g-share")
    create_topic(broker, topic, 3)
    command = [crucible_binary(), "console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic,
               "--group", group, "--timeout-ms", "12000"]
    a = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    b = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the rebalance gave both members partitions
        members = table(groups(broker, "--describe", "--group", group, "--members").stdout + "\n")
        if len(members) == 2 and sorted(m["#PARTITIONS"] for m in members) == ["1", "2"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the group never split its partitions: {members}")
    values = [b"s%02d" % i for i in range(30)]
    produce(broker, topic, [(i % 3, v, None) for i, v in enumerate(values)])
    outputs = [p.communicate(timeout=60)[0].split() for p in (a, b)]
    assert all(outputs), "each member printed records of its own partitions"
    assert sorted(outputs[0] + outputs[1]) == sorted(v.decode() for v in values)


def test_dump_log_decodes_the_offsets_topic(broker):
    topic, group = unique_topic("dump"), unique_topic("g-dump")
    create_topic(broker, topic, 1)
    commit(broker, group, topic, {0: 0})
    member = join(broker, group, topic)
    member.close()
    found = []
    for segment in sorted((broker.directory / "data").glob("__consumer_offsets-*/*.log")):
        out = ok(tool("dump-log", "--files", str(segment), "--offsets-decoder"))
        for line in out.splitlines():
            if line.startswith("| offset:") and group in line:
                key, _, payload = line.split(" key: ", 1)[1].partition(" payload: ")
                found.append((json.loads(key), payload if payload == "<DELETE>" else json.loads(payload)))
    commits = [(k, v) for k, v in found if k["type"] == "1"]
    assert ({"group": group, "topic": topic, "partition": 0}, 0) in [(k["data"], v["data"]["offset"]) for k, v in commits]
    metadata = [v["data"] for k, v in found if k == {"type": "2", "data": {"group": group}} and v != "<DELETE>"]
    assert any(m["protocolType"] == "consumer" and m["members"]
               and m["members"][0]["subscription"]["topics"] == [topic] for m in metadata), metadata


@pytest.mark.parametrize("args,named", [
    (["--list", "--describe"], "--list"),
    (["--describe"], "--group"),
    (["--describe", "--group", "g", "--members", "--state"], "--members"),
    (["--reset-offsets", "--group", "g", "--all-topics"], "--to-earliest"),
    (["--reset-offsets", "--group", "g", "--to-earliest"], "--topic"),
    (["--reset-offsets", "--group", "g", "--all-topics", "--to-offset", "1", "--shift-by", "1"], "--shift-by"),
    (["--reset-offsets", "--group", "g", "--all-topics", "--to-datetime", "yesterday"], "--to-datetime"),
    (["--reset-offsets", "--group", "g", "--all-topics", "--by-duration", "1h"], "--by-duration"),
    (["--reset-offsets", "--group", "g", "--all-topics", "--to-latest", "--dry-run", "--execute"], "--execute"),
    (["--reset-offsets", "--group", "g", "--topic", "t:x", "--to-latest"], "--topic"),
    (["--delete-offsets", "--group", "g"], "--topic"),
    (["--delete", "--group", "g", "--topic", "t"], "--topic"),
    (["--describe", "--group", "g", "--no-such-flag"], "--no-such-flag"),
])
def test_bad_flags_exit_2_naming_them(broker, args, named):
    result = groups(broker, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert named.lstrip("-") in result.stderr, result.stderr


def test_console_consumer_bad_group_flags_exit_2(broker):
    for args, named in [(["--group", "a", "--partition", "0"], "--partition"),
                        (["--group", "a", "--consumer-property", "group.id=b"], "--group"),
                        (["--group", "a", "--from-beginning", "--consumer-property", "auto.offset.reset=latest"],
                         "auto.offset.reset")]:
        result = console(broker, "t", *args)
        assert result.returncode == 2 and named.lstrip("-") in result.stderr, (args, result.stderr)
