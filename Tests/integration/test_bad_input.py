"""Hostile and malformed input: each gets a Kafka error code or closes its own connection, nothing more."""
import struct
import subprocess

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import crucible_binary, unique_topic
from kafka_wire import (Connection, metadata_v1, produce_v3, produce_v3_error, record_batch, request)


def assert_serves(broker, topic="still-alive"):
    """The broker still accepts a produce and serves it back."""
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic, value=b"ok")
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x"})
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.close()
    assert high >= 1


def test_garbage_and_bad_frames_close_only_their_connection(broker):
    bystander = Connection(broker.port)
    frames = [
        b"\xde\xad\xbe\xef" * 8,                                   # absurd length
        struct.pack(">i", -5) + b"abc",                            # negative length
        struct.pack(">i", 200 * 1024 * 1024),                      # beyond socket.request.max.bytes
        struct.pack(">i", 3) + b"\x00\x01\x02",                    # too short for a header
        request(9999, 0, 1, b""),                                   # unknown api key
        request(3, 1, 1, b"\x00\x00"),                              # truncated Metadata body
    ]
    for frame in frames:
        connection = Connection(broker.port)
        connection.send(frame)
        assert connection.closed_by_peer(), frame[:16]
        connection.close()
    # The bystander connection is untouched.
    bystander.send(request(18, 0, 77, b""))
    correlation, body = bystander.receive()
    assert correlation == 77 and struct.unpack(">h", body[:2])[0] == 0
    assert broker.alive()
    assert_serves(broker)


def test_unknown_api_versions_version_gets_unsupported_version_with_v0_body(broker):
    connection = Connection(broker.port)
    # A client asking for a version it thinks is newer writes the flexible header (v2: empty tagged fields).
    connection.send(request(18, 99, 5, b"\x00"))
    correlation, body = connection.receive()
    assert correlation == 5
    error, count = struct.unpack(">hi", body[:6])
    assert error == 35 and count > 5
    keys = {struct.unpack(">hhh", body[6 + 6 * i:12 + 6 * i])[0] for i in range(count)}
    assert {0, 1, 2, 3, 18, 19, 20, 22, 32} <= keys


def create_by_metadata(connection, topic):
    """Produce does not auto-create (as in Kafka): a Metadata request for the topic does."""
    connection.send(request(3, 4, 99, metadata_v1([topic]) + b"\x01"))
    connection.receive()


def test_corrupt_crc_is_corrupt_message_and_log_untouched(broker):
    topic = unique_topic("crc")
    connection = Connection(broker.port)
    create_by_metadata(connection, topic)
    good = record_batch([b"good"])
    connection.send(request(0, 3, 1, produce_v3(topic, 0, good)))
    assert produce_v3_error(connection.receive()[1]) == 0
    bad = bytearray(record_batch([b"evil"]))
    bad[-2] ^= 0xFF
    connection.send(request(0, 3, 2, produce_v3(topic, 0, bytes(bad))))
    assert produce_v3_error(connection.receive()[1]) == 2  # CORRUPT_MESSAGE
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x"})
    assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 1)
    consumer.close()


def test_oversized_batch_is_message_too_large(make_broker):
    broker = make_broker(message_max_bytes="2000")
    topic = unique_topic("big")
    connection = Connection(broker.port)
    create_by_metadata(connection, topic)
    connection.send(request(0, 3, 1, produce_v3(topic, 0, record_batch([b"x" * 5000]))))
    assert produce_v3_error(connection.receive()[1]) == 10  # MESSAGE_TOO_LARGE


def test_unknown_topic_without_auto_create(make_broker):
    broker = make_broker(auto_create_topics_enable="false")
    connection = Connection(broker.port)
    connection.send(request(0, 3, 1, produce_v3("nope", 0, record_batch([b"x"]))))
    assert produce_v3_error(connection.receive()[1]) == 3  # UNKNOWN_TOPIC_OR_PARTITION
    connection.send(request(3, 1, 2, metadata_v1(["nope"])))
    _, body = connection.receive()
    broker_count = struct.unpack(">i", body[:4])[0]
    assert broker_count == 1
    assert b"nope" in body


def test_invalid_config_value_exits_2_naming_the_key(tmp_path):
    config = tmp_path / "server.properties"
    config.write_text("node.id=1\nlog.dirs=%s\nlog.segment.bytes=lots\n" % (tmp_path / "data"))
    result = subprocess.run([crucible_binary(), "broker", "--config", str(config), "--standalone"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "log.segment.bytes" in result.stderr
    result = subprocess.run([crucible_binary(), "broker", "--config", str(config), "--standalone",
                             "--override", "log.segment.bytes=1048576", "--override", "num.partitions=0"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "num.partitions" in result.stderr
    for key, value in [("replica.selector.class", "com.example.Nearest"),
                       ("leader.imbalance.per.broker.percentage", "101"),
                       ("crucible.metrics.port", "70000"), ("crucible.metrics.port", "nine")]:
        result = subprocess.run([crucible_binary(), "broker", "--config", str(config), "--standalone",
                                 "--override", "log.segment.bytes=1048576", "--override", f"{key}={value}"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and key in result.stderr, (key, result.stderr)


def test_unformatted_directory_exits_2(tmp_path):
    config = tmp_path / "server.properties"
    config.write_text("node.id=1\nlog.dirs=%s\n" % (tmp_path / "data"))
    result = subprocess.run([crucible_binary(), "broker", "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "format" in result.stderr


def test_standalone_formats_every_directory_for_one_cluster(tmp_path):
    """--standalone with a separate metadata.log.dir and two log.dirs: one cluster id everywhere, so it starts."""
    from conftest import Broker
    data = tmp_path / "node"
    data.mkdir()
    broker = Broker(data, {"log.dirs": f"{data}/a,{data}/b", "metadata.log.dir": f"{data}/meta"})
    broker.start()
    try:
        ids = {line.split("=", 1)[1] for d in ("a", "b", "meta")
               for line in (data / d / "meta.properties").read_text().splitlines() if line.startswith("cluster.id=")}
        assert len(ids) == 1, ids
        assert_serves(broker)
    finally:
        broker.kill()
