"""Crash recovery of a real node: a torn write at a segment's tail is cut back to the last whole batch, every
batch before it is served, and the partition takes new writes at the right offset."""
import os

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import unique_topic


def read_values(bootstrap, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "recovery", "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    while True:
        msg = consumer.poll(10)
        assert msg is not None, "consumer timed out"
        if msg.error():
            assert msg.error().code() == msg.error()._PARTITION_EOF, msg.error()
            break
        values.append(msg.value())
    consumer.close()
    return values


def test_torn_tail_is_cut_and_partition_serves_again(make_broker):
    broker = make_broker(log_segment_bytes="4096")
    topic = unique_topic("torn")
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "acks": "1"})
    sent = []
    for i in range(60):
        value = b"batch-%03d-" % i + bytes([i]) * 100
        producer.produce(topic, value=value)
        producer.flush(10)  # one batch per message, so the tail is a whole batch we can tear
        sent.append(value)
    broker.kill()

    directory = broker.directory / "data" / f"{topic}-0"
    segments = sorted(p for p in os.listdir(directory) if p.endswith(".log"))
    assert len(segments) > 2, segments  # segment.bytes=4096 rolled several times, with Kafka's names
    assert all(len(name) == 24 and name[:20].isdigit() for name in segments)
    tail = directory / segments[-1]
    size = tail.stat().st_size
    with open(tail, "r+b") as f:
        f.truncate(size - 30)  # mid-batch: the last batch is now torn

    broker.start()
    values = read_values(broker.bootstrap, topic)
    assert values == sent[:-1]
    assert "recovery cut" in broker.logs()

    producer = Producer({"bootstrap.servers": broker.bootstrap})
    delivered = []
    producer.produce(topic, value=b"after", on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
    producer.flush(10)
    assert delivered == [(None, len(sent) - 1)]
    assert read_values(broker.bootstrap, topic) == sent[:-1] + [b"after"]


def test_clean_shutdown_skips_recovery(make_broker):
    broker = make_broker()
    topic = unique_topic("clean")
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        producer.produce(topic, value=b"v%d" % i)
    producer.flush(10)
    assert broker.stop() == 0
    assert (broker.directory / "data" / ".kafka_cleanshutdown").exists()
    broker.start()
    assert read_values(broker.bootstrap, topic) == [b"v%d" % i for i in range(10)]
    assert "recovering logs" not in broker.logs().split("shut down cleanly")[-1]
