"""confluent-kafka (librdkafka 2.x) against a running broker."""
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import unique_topic
from dataset import CODECS, Message, messages


def produce(bootstrap, topic, batch, **config):
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 2_000_000, **config})
    acked, errors = [], []

    def report(err, msg):
        (errors if err else acked).append(err or (msg.partition(), msg.offset()))

    for m in batch:
        producer.produce(topic, key=m.key, value=m.value, headers=list(m.headers) or None, on_delivery=report)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert errors == []
    return acked


def consume_all(bootstrap, topic, count, partitions=1):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "fetch.message.max.bytes": 2_000_000})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        got.append(msg)
    consumer.close()
    return got


def as_message(msg) -> Message:
    return Message(msg.key(), msg.value(), tuple((k, v) for k, v in (msg.headers() or [])))


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_every_codec(broker, codec):
    topic = unique_topic(codec)
    batch = messages(codec)
    acked = produce(broker.bootstrap, topic, batch, **{"compression.codec": codec, "acks": "1"})
    assert [offset for _, offset in acked] == list(range(len(batch)))
    got = consume_all(broker.bootstrap, topic, len(batch))
    assert [as_message(m) for m in got] == batch
    assert [m.offset() for m in got] == list(range(len(batch)))


def test_idempotent_producer(broker):
    topic = unique_topic("idem")
    batch = messages("idem", large=False) * 5
    acked = produce(broker.bootstrap, topic, batch, **{"enable.idempotence": True, "linger.ms": 5})
    assert sorted(offset for _, offset in acked) == list(range(len(batch)))
    got = consume_all(broker.bootstrap, topic, len(batch))
    assert [as_message(m) for m in got] == batch


def test_offsets_for_times(broker):
    topic = unique_topic("times")
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    base = 1_700_000_000_000
    for i in range(100):
        producer.produce(topic, value=b"v%d" % i, timestamp=base + i * 1000)
        if i % 10 == 9:
            producer.flush(10)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    for target, expected in [(base, 0), (base + 1, 1), (base + 42_500, 43), (base + 99_000, 99)]:
        [tp] = consumer.offsets_for_times([TopicPartition(topic, 0, target)], timeout=10)
        assert tp.error is None and tp.offset == expected, (target, tp)
    [tp] = consumer.offsets_for_times([TopicPartition(topic, 0, base + 10**9)], timeout=10)
    assert tp.offset == -1  # no such record: librdkafka reports the end (-1)
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert (low, high) == (0, 100)
    consumer.close()


def test_admin_create_describe_delete(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = unique_topic("admin")
    futures = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1,
                                            config={"retention.ms": "12345"})])
    futures[topic].result(10)
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.topics[topic].partitions) == 3
    again = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    with pytest.raises(Exception) as exists:
        again[topic].result(10)
    assert exists.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    admin.delete_topics([topic])[topic].result(10)
    assert topic not in admin.list_topics(timeout=10).topics


def test_same_data_after_sigkill_and_restart(broker):
    topic = unique_topic("kill")
    batch = messages("kill")
    produce(broker.bootstrap, topic, batch, **{"acks": "all", "compression.codec": "lz4"})
    broker.kill()
    broker.start()
    got = consume_all(broker.bootstrap, topic, len(batch))
    assert [as_message(m) for m in got] == batch
    more = messages("after", large=False)
    acked = produce(broker.bootstrap, topic, more)
    assert acked[0][1] == len(batch)
