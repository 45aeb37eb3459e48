"""aiokafka against a running broker (Metadata 0-5, Fetch 1-11, Produce up to 8, ApiVersions v0)."""
import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from conftest import unique_topic
from dataset import CODECS, Message, messages


async def round_trip(bootstrap, topic, batch, **config):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2_000_000, **config)
    await producer.start()
    try:
        results = [await producer.send_and_wait(topic, key=m.key, value=m.value, headers=list(m.headers))
                   for m in batch]
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=2_000_000, fetch_max_bytes=4_000_000)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        got = []
        while len(got) < len(batch):
            chunk = await asyncio.wait_for(consumer.getmany(tp, timeout_ms=1000), 30)
            got.extend(chunk.get(tp, []))
        times = await consumer.offsets_for_times({tp: got[len(got) // 2].timestamp})
    finally:
        await consumer.stop()
    return [r.offset for r in results], got, times[tp]


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_every_codec(broker, codec):
    topic = unique_topic(codec)
    batch = messages(codec)
    compression = None if codec == "none" else codec
    offsets, got, _ = asyncio.run(round_trip(broker.bootstrap, topic, batch, compression_type=compression))
    assert offsets == list(range(len(batch)))
    assert [Message(r.key, r.value, tuple(r.headers)) for r in got] == batch


def test_idempotent_producer_and_offsets_for_times(broker):
    topic = unique_topic("idem")
    batch = messages("idem", large=False)
    offsets, got, found = asyncio.run(round_trip(broker.bootstrap, topic, batch, enable_idempotence=True))
    assert offsets == list(range(len(batch)))
    assert [r.offset for r in got] == offsets
    assert found.offset <= len(batch) // 2 and got[found.offset].timestamp == got[len(batch) // 2].timestamp
