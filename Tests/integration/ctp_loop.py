"""The seed's consume-transform-produce loop on confluent-kafka: a read_committed consumer in a group and a
transactional producer; each batch polled is transformed, produced, and its offsets sent to the same transaction,
which commits. An abortable error aborts and rewinds the consumer to the group's committed offsets; a fenced
producer exits 3. `--abort-every K` aborts every K-th transaction on purpose (after producing). One JSON line per
event on stdout. Exits 0 once nothing new arrived for `--idle` seconds.

SIGUSR1 asks the loop to hold: with its next batch in hand and no transaction open, it says `holding` and waits for
a line on stdin. A test uses it to start a fencing instance at a known point instead of racing the loop.

    python3 ctp_loop.py BOOTSTRAP GROUP TRANSACTIONAL_ID INPUT OUTPUT [--abort-every K] [--idle S]
"""
import argparse
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition


def say(**event):
    print(json.dumps(event), flush=True)


def rewind(consumer):
    """Back to the group's committed offsets: what an aborted transaction consumed is consumed again."""
    assignment = consumer.assignment()
    for tp in consumer.committed(assignment, timeout=30):
        consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))


def patiently(call, *args):
    """Kafka's rule for commit_transaction and send_offsets_to_transaction: a retriable error is retried as is."""
    while True:
        try:
            return call(*args)
        except KafkaException as failure:
            if not failure.args[0].retriable():
                raise
            say(retrying=str(failure.args[0]))


def main():
    parser = argparse.ArgumentParser()
    for name in ("bootstrap", "group", "transactional_id", "input", "output"):
        parser.add_argument(name)
    parser.add_argument("--abort-every", type=int, default=0)
    parser.add_argument("--idle", type=float, default=8.0)
    args = parser.parse_args()
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group, "enable.auto.commit": False,
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "session.timeout.ms": 10_000})
    debug = {"debug": os.environ["CTP_LOOP_DEBUG"]} if os.environ.get("CTP_LOOP_DEBUG") else {}
    producer = Producer({"bootstrap.servers": args.bootstrap, "transactional.id": args.transactional_id,
                         "transaction.timeout.ms": 30_000, **debug})
    hold = []
    signal.signal(signal.SIGUSR1, lambda *_: hold.append(True))
    producer.init_transactions(120)
    say(started=args.transactional_id)
    consumer.subscribe([args.input])
    transactions, last_data = 0, time.monotonic()
    while time.monotonic() - last_data < args.idle:
        batch = [m for m in consumer.consume(num_messages=200, timeout=1.0) if not m.error()]
        if not batch:
            continue
        if hold:
            say(holding=len(batch))
            sys.stdin.readline()
            hold.clear()
        last_data = time.monotonic()
        transactions += 1
        try:
            producer.begin_transaction()
            for msg in batch:
                producer.produce(args.output, key=msg.key(), value=b"out-" + msg.value(), partition=msg.partition())
            positions = consumer.position(consumer.assignment())
            patiently(producer.send_offsets_to_transaction, positions, consumer.consumer_group_metadata(), 60)
            if args.abort_every and transactions % args.abort_every == 0:
                producer.abort_transaction(60)
                say(aborted=len(batch))
                rewind(consumer)
                continue
            patiently(producer.commit_transaction, 60)
            say(committed=len(batch))
        except KafkaException as failure:
            error = failure.args[0]
            if error.fatal() or error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED):
                say(fenced=str(error))
                consumer.close()   # leaves the group, so the new instance gets every partition now
                sys.exit(3)
            if error.txn_requires_abort():
                producer.abort_transaction(60)
                say(aborted_after=str(error))
                rewind(consumer)
                continue
            raise
    consumer.close()
    say(done=transactions)


if __name__ == "__main__":
    main()
