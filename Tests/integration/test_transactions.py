"""Kafka's transactions through real clients: confluent-kafka's (librdkafka's) transactional producer against the
transaction coordinator, read back by read_committed and read_uncommitted consumers."""
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import unique_topic


def create_topic(bootstrap: str, partitions: int = 3) -> str:
    topic = unique_topic("txn")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(30)
    return topic


def transactional(bootstrap: str, transactional_id: str, **config) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         "transaction.timeout.ms": 20_000, **config})
    producer.init_transactions(60)
    return producer


def wait_settled(bootstrap: str, topic: str, partitions: int) -> None:
    """Waits until no transaction holds back any partition's last stable offset: a commit returns once the
    coordinator has logged it, and its markers follow (as in Kafka)."""
    readers = [Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "isolation.level": isolation})
               for isolation in ("read_committed", "read_uncommitted")]
    deadline = time.monotonic() + 30
    try:
        while True:
            ends = [[reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)]
                    for reader in readers]
            if ends[0] == ends[1]:
                return
            assert time.monotonic() < deadline, f"last stable offsets {ends[0]} never reached the high watermarks {ends[1]}"
            time.sleep(0.1)
    finally:
        for reader in readers:
            reader.close()


def read_all(bootstrap: str, topic: str, partitions: int, isolation: str, settled: bool = False) -> list[bytes]:
    """Every value from the start of each partition up to the end this isolation level may read (once every
    transaction's markers are in, when `settled`)."""
    if settled:
        wait_settled(bootstrap, topic, partitions)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "isolation.level": isolation, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values, at_end, deadline = [], set(), time.monotonic() + 30
    while len(at_end) < partitions and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            at_end.add(msg.partition())
            continue
        at_end.discard(msg.partition())
        values.append(msg.value())
    consumer.close()
    assert len(at_end) == partitions, "a partition never reached its end"
    return values


def send(producer: Producer, topic: str, values: list[str]) -> None:
    for i, value in enumerate(values):
        producer.produce(topic, value=value.encode(), partition=i % 3)


def test_committed_transactions_are_read_and_aborted_ones_only_by_read_uncommitted(broker):
    topic = create_topic(broker.bootstrap)
    producer = transactional(broker.bootstrap, unique_topic("tx"))
    committed = [f"first-{i}" for i in range(30)]
    producer.begin_transaction()
    send(producer, topic, committed)
    producer.commit_transaction(60)

    aborted = [f"aborted-{i}" for i in range(30)]
    producer.begin_transaction()
    send(producer, topic, aborted)
    producer.flush(30)
    producer.abort_transaction(60)

    later = [f"second-{i}" for i in range(30)]
    producer.begin_transaction()
    send(producer, topic, later)
    producer.commit_transaction(60)

    assert sorted(read_all(broker.bootstrap, topic, 3, "read_committed", settled=True)) == sorted(v.encode() for v in committed + later)
    assert sorted(read_all(broker.bootstrap, topic, 3, "read_uncommitted")) == \
        sorted(v.encode() for v in committed + aborted + later)


def test_a_second_instance_with_the_same_transactional_id_fences_the_first(broker):
    topic = create_topic(broker.bootstrap)
    transactional_id = unique_topic("fence")
    first = transactional(broker.bootstrap, transactional_id)
    first.begin_transaction()
    send(first, topic, ["zombie-0", "zombie-1"])
    first.flush(30)

    second = transactional(broker.bootstrap, transactional_id)   # aborts the first one's transaction
    with pytest.raises(KafkaException) as raised:
        first.commit_transaction(30)
    assert raised.value.args[0].fatal() or raised.value.args[0].code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                                                           KafkaError.INVALID_PRODUCER_EPOCH)
    second.begin_transaction()
    send(second, topic, ["kept-0", "kept-1", "kept-2"])
    second.commit_transaction(60)
    assert sorted(read_all(broker.bootstrap, topic, 3, "read_committed", settled=True)) == [b"kept-0", b"kept-1", b"kept-2"]


def test_a_transaction_left_open_past_its_timeout_is_aborted_and_its_producer_fenced(make_broker):
    broker = make_broker(**{"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"})
    topic = create_topic(broker.bootstrap)
    producer = transactional(broker.bootstrap, unique_topic("slow"), **{"transaction.timeout.ms": 1_000})
    producer.begin_transaction()
    send(producer, topic, ["late"])
    producer.flush(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:   # the coordinator aborts it, which the read_committed end shows
        if read_all(broker.bootstrap, topic, 3, "read_committed") == [] and \
                read_all(broker.bootstrap, topic, 3, "read_uncommitted") == [b"late"] and \
                _last_stable_offsets_reached_end(broker.bootstrap, topic):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the timed-out transaction was never aborted")
    with pytest.raises(KafkaException):
        producer.commit_transaction(30)


def _last_stable_offsets_reached_end(bootstrap: str, topic: str) -> bool:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "isolation.level": "read_committed"})
    try:
        return all(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] ==
                   _high_watermark(bootstrap, topic, p) for p in range(3))
    finally:
        consumer.close()


def _high_watermark(bootstrap: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "isolation.level": "read_uncommitted"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        consumer.close()


def test_offsets_sent_to_a_transaction_count_only_when_it_commits(broker):
    source, sink = create_topic(broker.bootstrap, 1), create_topic(broker.bootstrap, 1)
    plain = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        plain.produce(source, value=f"in-{i}".encode())
    assert plain.flush(30) == 0
    group = unique_topic("ctp")
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(source, 0, 0)])
    got, deadline = [], time.monotonic() + 30
    while len(got) < 10 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg)
    assert len(got) == 10
    producer = transactional(broker.bootstrap, unique_topic("ctp-tx"))

    def transform(messages, commit: bool):
        producer.begin_transaction()
        for msg in messages:
            producer.produce(sink, value=msg.value().replace(b"in-", b"out-"))
        offsets = [TopicPartition(source, 0, messages[-1].offset() + 1)]
        producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
        (producer.commit_transaction if commit else producer.abort_transaction)(30)

    transform(got[:4], commit=True)
    assert consumer.committed([TopicPartition(source, 0)], timeout=10)[0].offset == 4
    transform(got[4:8], commit=False)
    assert consumer.committed([TopicPartition(source, 0)], timeout=10)[0].offset == 4, "an aborted transaction's offsets never count"
    transform(got[4:], commit=True)
    assert consumer.committed([TopicPartition(source, 0)], timeout=10)[0].offset == 10
    consumer.close()
    assert read_all(broker.bootstrap, sink, 1, "read_committed", settled=True) == [f"out-{i}".encode() for i in range(10)]


@pytest.mark.parametrize("verification", [True, False])
def test_a_delayed_write_of_an_ended_transaction_is_refused_by_kip_890_verification(make_broker, verification):
    """KAFKA-17754's shape: a producer's write to p is delayed until its transaction has been aborted and the next
    one begun. With verification the leader asks the coordinator, which says p is not in the ongoing transaction,
    and refuses it; without, the write is taken and opens a transaction on p nobody will end (its last stable
    offset stays behind its high watermark: a hanging transaction)."""
    from kafka_wire import (Connection, add_partitions_to_txn_v0, add_partitions_to_txn_v0_errors, end_txn_v0,
                            find_coordinator_v1, init_producer_id_v1, init_producer_id_v1_result, list_offsets_v2, list_offsets_v2_offset,
                            produce_v3, produce_v3_error, record_batch)
    broker = make_broker(**{"transaction.partition.verification.enable": str(verification).lower()})
    topic = create_topic(broker.bootstrap, 2)
    transactional_id = unique_topic("late")
    wire = Connection(broker.port)
    deadline = time.monotonic() + 30
    while True:   # the coordinator's partition is created on the first lookup, and loaded
        wire.call(10, 1, find_coordinator_v1(transactional_id, 1))
        error, pid, epoch = init_producer_id_v1_result(wire.call(22, 1, init_producer_id_v1(transactional_id)))
        if error == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert error == 0

    def add(partition):
        return add_partitions_to_txn_v0_errors(wire.call(24, 0, add_partitions_to_txn_v0(transactional_id, pid, epoch, topic, [partition])))

    def send(partition, sequence, value):
        batch = record_batch([value], producer_id=pid, producer_epoch=epoch, base_sequence=sequence, transactional=True)
        return produce_v3_error(wire.call(0, 3, produce_v3(topic, partition, batch, acks=-1, transactional_id=transactional_id)))

    def stable(partition):
        committed = list_offsets_v2_offset(wire.call(2, 2, list_offsets_v2(topic, partition, -1, 1)))[1]
        end = list_offsets_v2_offset(wire.call(2, 2, list_offsets_v2(topic, partition, -1, 0)))[1]
        return committed, end

    assert add(0) == [0]
    assert send(0, 0, b"first") == 0
    assert wire.call(26, 0, end_txn_v0(transactional_id, pid, epoch, commit=False))[4:6] == b"\x00\x00"
    wait_for_stable = time.monotonic() + 30
    while stable(0)[0] != stable(0)[1] and time.monotonic() < wait_for_stable:   # the abort marker is written
        time.sleep(0.1)
    assert stable(0) == (2, 2)
    deadline = time.monotonic() + 30
    while add(1) != [0]:   # the next transaction begins once the last one is complete
        assert time.monotonic() < deadline
        time.sleep(0.1)

    delayed = send(0, 1, b"delayed")
    if verification:
        assert delayed == 48, "INVALID_TXN_STATE"
        assert stable(0) == (2, 2)
    else:
        assert delayed == 0
        assert stable(0) == (2, 3), "the delayed write hangs a transaction on the partition"


def test_the_transactions_tool_lists_and_describes_as_kafka_transactions_sh(broker):
    import subprocess

    from conftest import crucible_binary

    def tool(*args):
        return subprocess.run([crucible_binary(), "transactions", "--bootstrap-server", broker.bootstrap, *args],
                              capture_output=True, text=True, timeout=60)

    topic = create_topic(broker.bootstrap)
    transactional_id = unique_topic("tool")
    producer = transactional(broker.bootstrap, transactional_id)
    producer.begin_transaction()
    send(producer, topic, ["a", "b"])
    producer.flush(30)

    described = tool("--describe", "--transactional-id", transactional_id)
    assert described.returncode == 0, described.stderr
    header, row = [line.split("\t") for line in described.stdout.splitlines()]
    fields = dict(zip([h.strip() for h in header], [v.strip() for v in row]))
    assert fields["TransactionalId"] == transactional_id and fields["TransactionState"] == "Ongoing"
    assert fields["CoordinatorId"] == "1" and fields["ProducerEpoch"] == "0"
    assert sorted(fields["TopicPartitions"].split(",")) == [f"{topic}-0", f"{topic}-1"]
    assert int(fields["TransactionDurationMs"]) >= 0 and fields["CurrentTransactionStartTimeMs"] != "None"

    producer.commit_transaction(30)
    listed = tool("--list")
    assert listed.returncode == 0, listed.stderr
    rows = [[v.strip() for v in line.split("\t")] for line in listed.stdout.splitlines()]
    assert rows[0] == ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]
    assert [transactional_id, "1", fields["ProducerId"], "CompleteCommit"] in rows[1:]

    missing = tool("--describe", "--transactional-id", "nobody-has-this-id")
    assert missing.returncode == 1 and "TRANSACTIONAL_ID_NOT_FOUND" in missing.stderr
    for bad in (["--list", "--describe"], ["--describe"], [], ["--list", "--transactional-id", "x"]):
        refused = tool(*bad)
        assert refused.returncode == 2, (bad, refused.stderr)


def test_dump_log_shows_markers_and_decodes_the_transaction_log(broker):
    import subprocess
    from pathlib import Path

    from conftest import crucible_binary

    topic = create_topic(broker.bootstrap, 1)
    transactional_id = unique_topic("dump")
    producer = transactional(broker.bootstrap, transactional_id)
    producer.begin_transaction()
    producer.produce(topic, value=b"v", partition=0)
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, value=b"w", partition=0)
    producer.flush(30)
    producer.abort_transaction(30)
    data = broker.directory / "data"

    def dump(segment: Path, *flags):
        result = subprocess.run([crucible_binary(), "dump-log", "--files", str(segment), *flags], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    deadline = time.monotonic() + 30
    while "endTxnMarker: ABORT" not in (out := dump(data / f"{topic}-0" / "00000000000000000000.log", "--deep-iteration")):
        assert time.monotonic() < deadline, out
        time.sleep(0.2)
    assert "endTxnMarker: COMMIT coordinatorEpoch: 0" in out and "isTransactional: true isControl: true" in out
    decoded = "".join(dump(segment, "--transaction-log-decoder")
                      for segment in data.glob("__transaction_state-*/00000000000000000000.log"))
    assert f'key: {{"type":"0","data":{{"transactionalId":"{transactional_id}"}}}}' in decoded
    assert '"transactionStatus":4' in decoded and '"transactionStatus":5' in decoded   # CompleteCommit, CompleteAbort
    assert f'"transactionPartitions":[{{"topic":"{topic}","partitionIds":[0]}}]' in decoded
    refused = subprocess.run([crucible_binary(), "dump-log", "--files", str(data / f"{topic}-0" / "00000000000000000000.log"),
                              "--offsets-decoder", "--transaction-log-decoder"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
