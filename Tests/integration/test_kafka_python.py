"""kafka-python against a running broker (idempotent by default, acks=all, CRC checks on)."""
import time
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from conftest import unique_topic
from dataset import CODECS, Message, messages


def produce(bootstrap, topic, batch, **config):
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=2_000_000, **config)
    futures = [producer.send(topic, key=m.key, value=m.value, headers=list(m.headers)) for m in batch]
    producer.flush(30)
    offsets = [f.get(timeout=30).offset for f in futures]
    producer.close()
    return offsets


def consume(bootstrap, topic, count):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10_000,
                             max_partition_fetch_bytes=2_000_000, fetch_max_bytes=4_000_000)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    got = []
    for record in consumer:
        got.append(record)
        if len(got) == count:
            break
    consumer.close()
    return got


def as_message(record) -> Message:
    return Message(record.key, record.value, tuple(record.headers))


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_every_codec(broker, codec):
    topic = unique_topic(codec)
    batch = messages(codec)
    compression = None if codec == "none" else codec
    offsets = produce(broker.bootstrap, topic, batch, compression_type=compression)
    assert offsets == list(range(len(batch)))
    got = consume(broker.bootstrap, topic, len(batch))
    assert [as_message(r) for r in got] == batch


def test_idempotent_producer_is_the_default(broker):
    topic = unique_topic("idem")
    batch = messages("idem", large=False) * 3
    offsets = produce(broker.bootstrap, topic, batch, enable_idempotence=True, acks="all")
    assert offsets == list(range(len(batch)))
    assert [as_message(r) for r in consume(broker.bootstrap, topic, len(batch))] == batch


def test_offsets_for_times(broker):
    topic = unique_topic("times")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    base = 1_600_000_000_000
    for i in range(50):
        producer.send(topic, value=b"v%d" % i, timestamp_ms=base + i * 10)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    tp = TopicPartition(topic, 0)
    found = consumer.offsets_for_times({tp: base + 255})
    assert found[tp].offset == 26 and found[tp].timestamp == base + 260
    assert consumer.offsets_for_times({tp: base + 10**9})[tp] is None
    assert consumer.beginning_offsets([tp])[tp] == 0
    assert consumer.end_offsets([tp])[tp] == 50
    consumer.close()


def test_admin_create_topic_goes_to_the_controller(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    topic = unique_topic("admin")
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                  topic_configs={"segment.bytes": "1048576"})])
    assert topic in admin.list_topics()
    configs = admin.describe_configs([__import__("kafka.admin", fromlist=["ConfigResource"]).ConfigResource(
        "TOPIC", topic)])
    rendered = str(configs)
    assert "segment.bytes" in rendered and "1048576" in rendered
    admin.delete_topics([topic])
    assert topic not in admin.list_topics()
    admin.close()


def _read_committed_or_not(bootstrap, topic, isolation):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=3_000)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    partition = TopicPartition(topic, 0)
    end = consumer.end_offsets([partition])[partition]
    if isolation == "read_committed":
        # The last commit's marker follows the commit's return (as in Kafka): read once the last stable offset
        # has caught up with the high watermark.
        probe = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_uncommitted")
        high, deadline = probe.end_offsets([partition])[partition], time.monotonic() + 30
        probe.close()
        while end < high and time.monotonic() < deadline:
            time.sleep(0.1)
            end = consumer.end_offsets([partition])[partition]
    values = []
    while consumer.position(TopicPartition(topic, 0)) < end:
        batch = consumer.poll(timeout_ms=1_000)
        values += [record.value for records in batch.values() for record in records]
    consumer.close()
    return values


def test_transactional_producer_commits_and_aborts(broker):
    topic = unique_topic("kp-txn")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique_topic("kp-tx"))
    producer.init_transactions()
    producer.begin_transaction()
    producer.send(topic, b"kept")
    producer.commit_transaction()
    producer.begin_transaction()
    producer.send(topic, b"dropped")
    producer.flush()
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send(topic, b"kept-too")
    producer.commit_transaction()
    producer.close()
    assert _read_committed_or_not(broker.bootstrap, topic, "read_committed") == [b"kept", b"kept-too"]
    assert _read_committed_or_not(broker.bootstrap, topic, "read_uncommitted") == [b"kept", b"dropped", b"kept-too"]
