"""kcat (librdkafka's command-line client) against a running broker."""
import json
import subprocess

import pytest

from conftest import unique_topic
from dataset import CODECS


def kcat(*args, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["kcat", *args], input=stdin, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


@pytest.mark.parametrize("codec", CODECS)
def test_keyed_messages_with_headers_round_trip(broker, codec):
    topic = unique_topic(codec)
    lines = [(f"key-{i % 4}", f"value {i} \u00e9\u00fc \t tab") for i in range(200)]
    payload = "".join(f"{k}|{v}\n" for k, v in lines).encode()
    kcat("-b", broker.bootstrap, "-P", "-t", topic, "-K", "|", "-z", codec, "-H", "origin=kcat", "-H", "n=1",
         stdin=payload)
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-e", "-J", "-o", "beginning")
    records = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert [(r["key"], r["payload"]) for r in records] == lines
    assert [r["offset"] for r in records] == list(range(len(lines)))
    assert all(r["headers"] == ["origin", "kcat", "n", "1"] for r in records)


def test_null_key_and_metadata_listing(broker):
    topic = unique_topic("nullkey")
    kcat("-b", broker.bootstrap, "-P", "-t", topic, stdin=b"no key here\n")
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-e", "-J")
    [record] = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert record["key"] is None and record["payload"] == "no key here"
    listing = json.loads(kcat("-b", broker.bootstrap, "-L", "-J"))
    assert topic in [t["topic"] for t in listing["topics"]]
    assert listing["brokers"][0]["id"] == 1
