"""Throws 100,000+ random and mutated frames at a broker, then checks it is alive and its data intact.

Seeds are real requests: a recording proxy sits between librdkafka / kafka-python and the broker while they
produce, consume, list offsets and create topics, so the corpus covers the versions clients really send.
"""
import os
import random
import select
import socket
import ssl
import struct
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer

from cluster import Cluster
from conftest import unique_topic
from dataset import messages
from kafka_wire import request, scram_login

FRAMES = int(os.environ.get("CRUCIBLE_FUZZ_FRAMES", "100000"))
SEED = int(os.environ.get("CRUCIBLE_FUZZ_SEED", "20261124"))
DESTRUCTIVE_APIS = {20, 21}  # DeleteTopics, DeleteRecords: legitimate requests that remove data


class RecordingProxy:
    """Forwards one listener to the broker and keeps every client->broker frame."""

    def __init__(self):
        self.target_port = None
        self.frames: list[bytes] = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, sink, record):
        pending = b""
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
                if record:
                    pending += chunk
                    while len(pending) >= 4 and len(pending) >= 4 + struct.unpack(">i", pending[:4])[0]:
                        size = struct.unpack(">i", pending[:4])[0]
                        self.frames.append(pending[:4 + size])
                        pending = pending[4 + size:]
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def record_corpus(proxy) -> list[bytes]:
    bootstrap = f"127.0.0.1:{proxy.port}"
    topic = "fuzz-seed"
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "compression.codec": "lz4"})
    for m in messages("seed", large=False)[:10]:
        producer.produce(topic, key=m.key, value=m.value, headers=list(m.headers) or None)
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "fuzz"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    for _ in range(5):
        consumer.poll(0.2)
    consumer.offsets_for_times([TopicPartition(topic, 0, 1)], timeout=5)
    consumer.close()
    kp = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip")
    kp.send(topic, key=b"k", value=b"v").get(10)
    kp.close()
    kc = KafkaConsumer(topic, bootstrap_servers=bootstrap, consumer_timeout_ms=1000, auto_offset_reset="earliest")
    list(kc)
    kc.close()
    corpus = [f for f in proxy.frames if struct.unpack(">h", f[4:6])[0] not in DESTRUCTIVE_APIS]
    assert len(corpus) >= 10, len(corpus)
    return corpus


def mutate(rng: random.Random, corpus: list[bytes]) -> tuple[bytes, bool]:
    """A mutated frame, and whether its framing (length prefix) is still consistent."""
    frame = bytearray(rng.choice(corpus))
    choice = rng.random()
    if choice < 0.03:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64))), False  # pure garbage
    body = frame[4:]
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if not body:
            break
        at = rng.randrange(len(body))
        if kind < 0.4:
            body[at] ^= 1 << rng.randrange(8)
        elif kind < 0.6:
            body[at] = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x01])
        elif kind < 0.75 and at + 4 <= len(body):
            body[at:at + 4] = struct.pack(">i", rng.choice([-1, -2, 0, 0x7FFFFFFF, len(body) * 2, 1 << 20]))
        elif kind < 0.85:
            del body[at:at + rng.randint(1, 16)]
        elif kind < 0.95:
            body[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
        else:
            other = rng.choice(corpus)[4:]
            body = body[:at] + other[rng.randrange(len(other)):]
    if choice < 0.06:
        return bytes(frame[:4]) + bytes(body), False  # stale length: the framing itself is wrong
    return struct.pack(">i", len(body)) + bytes(body), True


CANARY = request(18, 0, 0x7EADBEEF, b"")  # ApiVersions v0: answered in order after the frame before it


class FuzzConnection:
    """Sends one frame plus a canary and watches for the canary's answer (the frame was handled), the broker
    closing the connection (the frame was refused), or a deadline (the frame is still waiting, e.g. a
    long-poll fetch): then the connection is dropped and a new one made."""

    def __init__(self, port: int):
        self.port = port
        self.sock = None
        self.inbox = b""
        self.deadline = 0.0

    def open(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.sock.setblocking(False)
        self.inbox = b""

    def drop(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def send(self, frame: bytes, wait: bool):
        if self.sock is None:
            self.open()
        try:
            self.sock.setblocking(True)
            self.sock.sendall(frame + (CANARY if wait else b""))
            self.sock.setblocking(False)
        except OSError:
            self.drop()
            return False
        if not wait:
            self.drop()  # a frame with broken framing: leave the broker holding half a frame, then hang up
            return False
        self.api_key = struct.unpack(">h", frame[4:6])[0] if len(frame) >= 6 else None
        # A Fetch may legitimately wait out a (mutated) max_wait_ms; anything else must answer promptly, though
        # metadata changes (auto-created topics, producer id blocks) wait for an fsync of the metadata log.
        self.deadline = time.monotonic() + (1.0 if self.api_key == 1 else 10.0)
        return True

    def poll(self, stats) -> bool:
        """True when done with the current frame."""
        try:
            chunk = self.sock.recv(1 << 20)
        except (BlockingIOError, ssl.SSLWantReadError):
            if time.monotonic() > self.deadline:
                stats["timeouts"] += 1
                stats["timeouts_by_api"][self.api_key] = stats["timeouts_by_api"].get(self.api_key, 0) + 1
                self.drop()
                return True
            return False
        except OSError:
            chunk = b""
        if not chunk:
            stats["closed"] += 1
            self.drop()
            return True
        self.inbox += chunk
        while len(self.inbox) >= 8:
            size = struct.unpack(">i", self.inbox[:4])[0]
            if len(self.inbox) < 4 + size:
                break
            correlation = struct.unpack(">i", self.inbox[4:8])[0]
            self.inbox = self.inbox[4 + size:]
            stats["responses"] += 1
            if correlation == 0x7EADBEEF:
                stats["answered"] += 1
                stats["answered_by_api"][self.api_key] = stats["answered_by_api"].get(self.api_key, 0) + 1
                return True
        return False


def blast(port: int, frames, connections: int = 16, connection=FuzzConnection) -> dict:
    stats = {"sent": 0, "answered": 0, "closed": 0, "timeouts": 0, "broken_framing": 0, "responses": 0,
             "timeouts_by_api": {}, "answered_by_api": {}}
    pool = [connection(port) for _ in range(connections)]
    busy: set[int] = set()
    frames = iter(frames)
    exhausted = False
    while not exhausted or busy:
        for i, conn in enumerate(pool):
            while i not in busy and not exhausted:
                try:
                    frame, framed = next(frames)
                except StopIteration:
                    exhausted = True
                    break
                stats["sent"] += 1
                if conn.send(frame, wait=framed):
                    busy.add(i)
                elif not framed:
                    stats["broken_framing"] += 1
        # A TLS socket may hold decrypted bytes select cannot see: those count as ready too.
        buffered = {pool[i].sock for i in busy if isinstance(pool[i].sock, ssl.SSLSocket) and pool[i].sock.pending()}
        ready, _, _ = select.select([pool[i].sock for i in busy], [], [], 0 if buffered else 0.05)
        ready = set(ready) | buffered
        for i in list(busy):
            if pool[i].sock in ready or time.monotonic() > pool[i].deadline:
                if pool[i].poll(stats):
                    busy.discard(i)
    for conn in pool:
        conn.drop()
    return stats


def test_fuzzed_frames_leave_broker_alive_and_data_intact(make_broker):
    # The broker advertises the proxy, so every client connection is recorded, not just bootstrap ones.
    proxy = RecordingProxy()
    broker = make_broker(advertised_listeners=f"PLAINTEXT://127.0.0.1:{proxy.port}")
    proxy.target_port = broker.port
    # Record the corpus first: the data below must not be in it, or replayed frames would (legitimately) add to it.
    corpus = record_corpus(proxy)
    data_topic = unique_topic("fuzz-data")
    expected = messages("fuzz", large=False)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.codec": "zstd"})
    for m in expected:
        producer.produce(data_topic, key=m.key, value=m.value)
    assert producer.flush(10) == 0
    rng = random.Random(SEED)
    stats = blast(broker.port, (mutate(rng, corpus) for _ in range(FRAMES)))
    print(f"fuzz: {stats}, corpus of {len(corpus)} frames")
    assert stats["sent"] == FRAMES
    # Every well-framed frame was handled to the end: answered (canary came back) or refused (closed).
    assert stats["answered"] + stats["closed"] + stats["timeouts"] + stats["broken_framing"] == FRAMES
    # Only a long-poll Fetch may still be waiting at the deadline (mutations raise max_wait_ms).
    assert set(stats["timeouts_by_api"]) <= {1}, stats
    assert stats["answered"] > FRAMES // 10 and stats["closed"] > FRAMES // 10, stats
    assert broker.alive(), broker.logs()[-2000:]

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "verify"})
    consumer.assign([TopicPartition(data_topic, 0, 0)])
    got = []
    while len(got) < len(expected):
        msg = consumer.poll(10)
        assert msg is not None, f"only {len(got)} of {len(expected)} messages came back"
        assert msg.error() is None
        got.append((msg.key(), msg.value()))
    low, high = consumer.get_watermark_offsets(TopicPartition(data_topic, 0), timeout=10)
    consumer.close()
    assert got == [(m.key, m.value) for m in expected]
    assert (low, high) == (0, len(expected))


class TlsFuzzConnection(FuzzConnection):
    """A FuzzConnection over TLS, logged in with SCRAM-SHA-512 first when given a login (SCRAM, not PLAIN: checking
    a PLAIN password against a salted credential costs the broker thousands of hashes per login)."""

    def __init__(self, port: int, context: ssl.SSLContext, login: tuple[str, str] | None):
        super().__init__(port)
        self.context = context
        self.login = login

    def open(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        # Without it the first request after the handshake waits out the server's delayed ACK (Nagle): 40 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.context.wrap_socket(raw, server_hostname="127.0.0.1")
        if self.login:
            assert scram_login(self.sock, *self.login) == (0, None)
        self.sock.setblocking(False)
        self.inbox = b""


SASL_FRAMES = int(os.environ.get("CRUCIBLE_FUZZ_SASL_FRAMES", "3000"))


def test_fuzzed_frames_on_a_sasl_ssl_listener_before_and_after_authentication(make_broker, tmp_path):
    proxy = RecordingProxy()
    recorder = make_broker(advertised_listeners=f"PLAINTEXT://127.0.0.1:{proxy.port}")
    proxy.target_port = recorder.port
    corpus = record_corpus(proxy)
    cluster = Cluster(tmp_path / "sasl", nodes=1, security="sasl_ssl")
    cluster.up()
    try:
        settings = cluster.client_properties()
        login = (settings["sasl.username"], settings["sasl.password"])
        librdkafka = {"bootstrap.servers": cluster.bootstrap, **settings}
        librdkafka["sasl.mechanisms"] = librdkafka.pop("sasl.mechanism")
        data_topic = unique_topic("fuzz-data")
        expected = messages("fuzz", large=False)
        producer = Producer(librdkafka)
        for m in expected:
            producer.produce(data_topic, key=m.key, value=m.value)
        assert producer.flush(30) == 0
        context = ssl.create_default_context(cafile=str(cluster.directory / "security" / "ca.pem"))
        rng = random.Random(SEED)

        # Before authentication nothing but ApiVersions and the SASL requests is answered: the rest closes.
        before = blast(cluster.port(1), (mutate(rng, corpus) for _ in range(SASL_FRAMES)), connections=8,
                       connection=lambda port: TlsFuzzConnection(port, context, None))
        print(f"fuzz before authentication: {before}")
        assert before["answered"] + before["closed"] + before["timeouts"] + before["broken_framing"] == SASL_FRAMES
        assert set(before["answered_by_api"]) <= {17, 18, 36}, before
        assert before["timeouts"] == 0 and before["closed"] > SASL_FRAMES // 2, before

        # After authentication the frames reach the API handlers, as on a plaintext listener.
        after = blast(cluster.port(1), (mutate(rng, corpus) for _ in range(SASL_FRAMES)), connections=8,
                      connection=lambda port: TlsFuzzConnection(port, context, login))
        print(f"fuzz after authentication: {after}")
        assert after["answered"] + after["closed"] + after["timeouts"] + after["broken_framing"] == SASL_FRAMES
        assert set(after["timeouts_by_api"]) <= {1}, after
        assert after["answered"] > SASL_FRAMES // 10 and after["closed"] > SASL_FRAMES // 10, after
        assert set(after["answered_by_api"]) - {17, 18, 36}, "authenticated frames reached the other APIs"

        assert cluster.status()["nodes"][0]["state"] == "running", cluster.logs()[-2000:]
        consumer = Consumer({**librdkafka, "group.id": "verify"})
        consumer.assign([TopicPartition(data_topic, 0, 0)])
        got = []
        while len(got) < len(expected):
            msg = consumer.poll(10)
            assert msg is not None, f"only {len(got)} of {len(expected)} messages came back"
            assert msg.error() is None
            got.append((msg.key(), msg.value()))
        consumer.close()
        assert got == [(m.key, m.value) for m in expected]
    finally:
        cluster.down()
