"""OffsetForLeaderEpoch (KIP-101/320): where the leader's log ends each epoch, as clients ask after a leader
change to find out whether their position was truncated away."""
import struct

from confluent_kafka import Producer

from conftest import unique_topic
from kafka_wire import Connection, request, string


def offset_for_leader_epoch(connection, topic, partition, leader_epoch, current_epoch=-1):
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iii", partition, current_epoch, leader_epoch)
    connection.send(request(23, 2, 7, body))
    _, payload = connection.receive()
    # v2: throttle, [topic, [error, partition, leader_epoch, end_offset]]
    pos = 4 + 4
    name_len = struct.unpack(">h", payload[pos:pos + 2])[0]
    pos += 2 + name_len + 4
    return struct.unpack(">hiiq", payload[pos:pos + 18])


def test_end_offset_of_the_current_epoch_is_the_log_end(broker):
    topic = unique_topic("epochs")
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(25):
        producer.produce(topic, value=b"v%d" % i)
    assert producer.flush(10) == 0
    connection = Connection(broker.port)
    error, partition, epoch, end = offset_for_leader_epoch(connection, topic, 0, 0)
    assert (error, partition, epoch, end) == (0, 0, 0, 25)
    # A later epoch than the log has: the largest it has, ending at the log end.
    assert offset_for_leader_epoch(connection, topic, 0, 5)[2:] == (0, 25)
    # A current leader epoch newer than the broker's is UNKNOWN_LEADER_EPOCH (75); an older one FENCED (74).
    assert offset_for_leader_epoch(connection, topic, 0, 0, current_epoch=9)[0] == 75
    # An unknown partition.
    assert offset_for_leader_epoch(connection, "no-such-topic", 0, 0)[0] == 3
