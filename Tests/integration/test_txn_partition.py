"""The partition side of transactions, driven as a transaction coordinator would drive it (transactional batches
from a producer, then WriteTxnMarkers), read back by librdkafka under both isolation levels: open transactions
hold the last stable offset back, aborted data is invisible to read_committed only, and a restart keeps it so.
The brokers run without KIP-890's verification, as these producers have no coordinator to be verified with."""
import time

import pytest

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import unique_topic
from kafka_wire import (Connection, list_offsets_v2, list_offsets_v2_offset, produce_v3, produce_v3_error,
                        record_batch, write_txn_markers_v0, write_txn_markers_v0_errors)

PRODUCE, LIST_OFFSETS, WRITE_TXN_MARKERS = 0, 2, 27
NONE, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, TRANSACTION_COORDINATOR_FENCED = 0, 47, 48, 52


@pytest.fixture
def broker(make_broker):
    return make_broker(**{"transaction.partition.verification.enable": "false"})


def create_topic(bootstrap: str) -> str:
    topic = unique_topic("txn")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    return topic


def send(wire: Connection, topic: str, values: list[bytes], pid: int = -1, epoch: int = -1, seq: int = -1) -> int:
    batch = record_batch(values, producer_id=pid, producer_epoch=epoch, base_sequence=seq, transactional=pid >= 0)
    return produce_v3_error(wire.call(PRODUCE, 3, produce_v3(topic, 0, batch, acks=-1,
                                                             transactional_id="tx" if pid >= 0 else None)))


def end(wire: Connection, topic: str, pid: int, epoch: int, commit: bool, coordinator_epoch: int = 0) -> int:
    body = write_txn_markers_v0(pid, epoch, commit, topic, [0], coordinator_epoch)
    return write_txn_markers_v0_errors(wire.call(WRITE_TXN_MARKERS, 0, body))[0]


def latest(wire: Connection, topic: str, isolation: int) -> int:
    error, offset = list_offsets_v2_offset(wire.call(LIST_OFFSETS, 2, list_offsets_v2(topic, 0, -1, isolation)))
    assert error == NONE
    return offset


def read(bootstrap: str, topic: str, isolation: str, expected: int) -> list[bytes]:
    """Every value a consumer with this isolation level gets from the start, polling until it has `expected` of
    them or has reached the end its isolation level allows (then asserting nothing more is served)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "isolation.level": isolation, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            assert msg.error().code() == -191, msg.error()  # _PARTITION_EOF: at the end this isolation level allows
            if len(values) >= expected:
                break
            continue
        values.append(msg.value())
    consumer.close()
    return values


def test_open_transactions_hold_the_last_stable_offset_and_aborted_data_is_hidden_from_read_committed(broker):
    topic = create_topic(broker.bootstrap)
    wire = Connection(broker.port)
    assert send(wire, topic, [b"before"]) == NONE                                    # 0
    assert send(wire, topic, [b"t1-a", b"t1-b"], pid=5000, epoch=0, seq=0) == NONE   # 1-2
    assert send(wire, topic, [b"middle"]) == NONE                                    # 3
    assert latest(wire, topic, isolation=0) == 4
    assert latest(wire, topic, isolation=1) == 1, "the open transaction holds the last stable offset at its start"
    assert read(broker.bootstrap, topic, "read_committed", 1) == [b"before"]

    assert send(wire, topic, [b"t2-a"], pid=5001, epoch=0, seq=0) == NONE            # 4
    assert end(wire, topic, 5000, 0, commit=False) == NONE                          # 5: abort
    assert latest(wire, topic, isolation=1) == 4, "the second transaction is still open"
    assert end(wire, topic, 5001, 0, commit=True) == NONE                           # 6: commit
    assert latest(wire, topic, isolation=1) == latest(wire, topic, isolation=0) == 7

    assert read(broker.bootstrap, topic, "read_committed", 3) == [b"before", b"middle", b"t2-a"]
    assert read(broker.bootstrap, topic, "read_uncommitted", 5) == [b"before", b"t1-a", b"t1-b", b"middle", b"t2-a"]


def test_markers_and_data_of_a_fenced_epoch_or_coordinator_are_refused(broker):
    topic = create_topic(broker.bootstrap)
    wire = Connection(broker.port)
    assert send(wire, topic, [b"a"], pid=7000, epoch=0, seq=0) == NONE
    # A new instance of the producer: the coordinator aborts the old one's transaction with the bumped epoch.
    assert end(wire, topic, 7000, 1, commit=False, coordinator_epoch=3) == NONE
    assert send(wire, topic, [b"zombie"], pid=7000, epoch=0, seq=1) == INVALID_PRODUCER_EPOCH
    assert end(wire, topic, 7000, 0, commit=True, coordinator_epoch=3) == INVALID_PRODUCER_EPOCH
    assert end(wire, topic, 7000, 1, commit=True, coordinator_epoch=2) == TRANSACTION_COORDINATOR_FENCED
    assert send(wire, topic, [b"b"], pid=7000, epoch=1, seq=0) == NONE
    assert end(wire, topic, 7000, 1, commit=True, coordinator_epoch=3) == NONE
    assert read(broker.bootstrap, topic, "read_committed", 1) == [b"b"]


def test_a_plain_batch_inside_an_open_transaction_is_refused(broker):
    topic = create_topic(broker.bootstrap)
    wire = Connection(broker.port)
    assert send(wire, topic, [b"a"], pid=8000, epoch=0, seq=0) == NONE
    plain = record_batch([b"b"], producer_id=8000, producer_epoch=0, base_sequence=1)
    assert produce_v3_error(wire.call(PRODUCE, 3, produce_v3(topic, 0, plain, acks=-1))) == INVALID_TXN_STATE


def test_an_open_transaction_and_an_aborted_one_survive_sigkill(broker):
    topic = create_topic(broker.bootstrap)
    wire = Connection(broker.port)
    assert send(wire, topic, [b"aborted"], pid=9000, epoch=0, seq=0) == NONE   # 0
    assert end(wire, topic, 9000, 0, commit=False) == NONE                    # 1
    assert send(wire, topic, [b"kept"]) == NONE                               # 2
    assert send(wire, topic, [b"open"], pid=9001, epoch=0, seq=0) == NONE      # 3
    wire.close()
    broker.kill()
    broker.start()
    wire = Connection(broker.port)
    assert latest(wire, topic, isolation=1) == 3, "the open transaction still holds the last stable offset"
    assert read(broker.bootstrap, topic, "read_committed", 1) == [b"kept"]
    assert end(wire, topic, 9001, 0, commit=True) == NONE
    assert read(broker.bootstrap, topic, "read_committed", 2) == [b"kept", b"open"]
    assert send(wire, topic, [b"open"], pid=9001, epoch=0, seq=0) == NONE, "a retry of the committed batch is a duplicate"
    assert latest(wire, topic, isolation=0) == 5
