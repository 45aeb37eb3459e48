"""The seed's at-least-once consumer (poll, process, commitSync) as a process of its own, so a test can SIGKILL it
between processing and committing. Prints one JSON line per delivered record and per acknowledged commit.

usage: commit_loop.py BOOTSTRAP GROUP TOPIC"""
import json
import sys

from confluent_kafka import Consumer, KafkaException


def main() -> None:
    bootstrap, group, topic = sys.argv[1:4]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest",
                         "partition.assignment.strategy": "cooperative-sticky"})
    consumer.subscribe([topic])
    out = sys.stdout
    while True:
        messages = consumer.consume(num_messages=20, timeout=1.0)
        for message in messages:
            if message.error():
                continue
            out.write(json.dumps({"delivered": [message.partition(), message.offset()]}) + "\n")
        out.flush()
        if not messages:
            continue
        # What this commit will store, printed before it is sent: a kill can land after the coordinator wrote it
        # but before the acknowledgement arrives, and the test must tell that apart from a lost or invented commit.
        positions = consumer.position(consumer.assignment())
        out.write(json.dumps({"committing": {str(tp.partition): tp.offset for tp in positions if tp.offset >= 0}}) + "\n")
        out.flush()
        try:
            committed = consumer.commit(asynchronous=False)
        except KafkaException as error:
            out.write(json.dumps({"commit_failed": str(error)}) + "\n")
            continue
        out.write(json.dumps({"committed": {str(tp.partition): tp.offset for tp in committed if tp.offset >= 0}}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
