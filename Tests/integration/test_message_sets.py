"""Produce v0-v2 and Fetch v0-v3 (message sets, magic 0 and 1), served as Kafka 3.x serves them: Debian's
librdkafka (2.0) compresses with gzip, snappy and lz4 only against a broker that serves Produce v0, and
kafka-python pinned to 0.9's and 0.10's protocols produces and fetches message sets that the broker converts to and
from its record batches."""
import json
import subprocess

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from conftest import crucible_binary, unique_topic

LEGACY_CODECS = ["gzip", "snappy", "lz4"]


def stored_codecs(broker, topic: str) -> set[str]:
    """The codec of every batch in the topic's first segment, as dump-log prints it (the node stopped first)."""
    broker.stop()
    segment = broker.directory / "data" / f"{topic}-0" / "00000000000000000000.log"
    out = subprocess.run([crucible_binary(), "dump-log", "--files", str(segment)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    codecs = {line.split("compresscodec: ")[1].split()[0] for line in out.splitlines() if line.startswith("baseOffset:")}
    broker.start()
    return codecs


@pytest.mark.parametrize("codec", LEGACY_CODECS)
def test_debian_librdkafka_compresses(broker, codec):
    topic = unique_topic(f"kcat-{codec}")
    lines = [f"line {i} " + "abc" * 30 for i in range(300)]
    result = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-z", codec, "-d", "msg"],
                            input="\n".join(lines).encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    # librdkafka 2.0 says so and sends uncompressed when the broker does not serve Produce v0 (and MsgVer1).
    assert b"does not support compression" not in result.stderr, result.stderr.decode()[-2000:]
    assert stored_codecs(broker, topic) == {codec}
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-J"], capture_output=True,
                         timeout=60, check=True).stdout
    assert [json.loads(line)["payload"] for line in out.decode().splitlines() if line.strip()] == lines


@pytest.mark.parametrize("api_version", [(0, 10, 1), (0, 9)], ids=["magic1", "magic0"])
@pytest.mark.parametrize("codec", [None, *LEGACY_CODECS])
def test_old_protocol_clients_produce_and_fetch_message_sets(broker, codec, api_version):
    """kafka-python speaking 0.10.1's protocol (Produce v2 and Fetch v3, magic-1 message sets, wrapped when
    compressed) and 0.9's (v1, magic 0: no timestamps, absolute inner offsets, lz4 with Kafka's old header
    checksum): message sets converted up into the stored batches and down again, offsets and timestamps kept."""
    magic1 = api_version >= (0, 10)
    topic = unique_topic(f"legacy-{codec}")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version, compression_type=codec,
                             linger_ms=50, acks=1)
    # Magic 0 has no timestamps: kafka-python reports none.
    sent = [(f"k{i % 5}".encode(), f"value {i}".encode() * 3, 1_700_000_000_000 + i if magic1 else None)
            for i in range(120)]
    futures = [producer.send(topic, key=k, value=v, timestamp_ms=t, partition=0)
               for k, v, t in sent]
    metadata = [f.get(timeout=30) for f in futures]
    producer.close()
    assert [m.offset for m in metadata] == list(range(len(sent)))

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=api_version, enable_auto_commit=False,
                             consumer_timeout_ms=10_000)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek(partition, 7)  # mid-batch: a compressed wrapper's earlier messages are skipped by the client
    got = []
    for message in consumer:  # to the last offset sent, or until nothing came for 10 s
        got.append(message)
        if message.offset == len(sent) - 1:
            break
    consumer.close()
    assert [(m.offset, m.key, m.value, m.timestamp) for m in got] == [
        (i, k, v, t) for i, (k, v, t) in enumerate(sent)][7:]
    assert stored_codecs(broker, topic) == {codec or "none"}


def test_a_zstd_topic_read_with_fetch_v3_answers_unsupported_compression(broker):
    """Kafka cannot express zstd in a message set either: UNSUPPORTED_COMPRESSION_TYPE, nothing else broken."""
    from confluent_kafka import Producer
    topic = unique_topic("zstd-old")
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "zstd"})
    value = b"zstd value " * 100  # large enough to compress (librdkafka sends a batch raw when that is smaller)
    producer.produce(topic, value, partition=0)
    assert producer.flush(30) == 0
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=(0, 10, 1), enable_auto_commit=False,
                             consumer_timeout_ms=3_000)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek(TopicPartition(topic, 0), 0)
    from kafka.errors import UnsupportedCompressionTypeError
    with pytest.raises(UnsupportedCompressionTypeError):
        list(consumer)
    consumer.close()
    # The broker is fine: a current client reads it.
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-J"], capture_output=True,
                         timeout=60, check=True).stdout
    assert [json.loads(line)["payload"] for line in out.decode().splitlines() if line.strip()] == [value.decode()]
    assert stored_codecs(broker, topic) == {"zstd"}
