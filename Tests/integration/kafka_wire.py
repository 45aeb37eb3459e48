"""Hand-built Kafka frames for tests that must send what no well-behaved client would."""
import socket
import struct

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC32C_TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    raw = s.encode()
    return struct.pack(">h", len(raw)) + raw


def record_batch(values: list[bytes], timestamp: int = 1_700_000_000_000, producer_id: int = -1, producer_epoch: int = -1,
                 base_sequence: int = -1, transactional: bool = False) -> bytes:
    """An uncompressed magic-2 batch with a correct CRC; a transactional one carries its producer's id, epoch and
    first sequence."""
    records = b""
    for i, value in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(value)) + value + varint(0)
        records += varint(len(body)) + body
    attributes = 0x10 if transactional else 0
    after_crc = struct.pack(">hiqqqhii", attributes, len(values) - 1, timestamp, timestamp, producer_id, producer_epoch,
                            base_sequence, len(values)) + records
    crc = crc32c(after_crc)
    batch_length = 4 + 1 + 4 + len(after_crc)
    return struct.pack(">qiibI", 0, batch_length, -1, 2, crc) + after_crc


def request(api_key: int, version: int, correlation_id: int, body: bytes, client_id: str = "wire-test") -> bytes:
    """A non-flexible request frame (header v1)."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + body
    return struct.pack(">i", len(payload)) + payload


def produce_v3(topic: str, partition: int, batch: bytes, acks: int = 1, transactional_id: str | None = None) -> bytes:
    body = string(transactional_id) + struct.pack(">hi", acks, 10_000) + struct.pack(">i", 1) + string(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(batch)) + batch
    return body


def write_txn_markers_v0(producer_id: int, producer_epoch: int, commit: bool, topic: str, partitions: list[int],
                         coordinator_epoch: int = 0) -> bytes:
    """One marker: what a transaction coordinator sends each partition leader when a transaction ends."""
    body = struct.pack(">i", 1) + struct.pack(">qhb", producer_id, producer_epoch, 1 if commit else 0)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(partitions))
    body += b"".join(struct.pack(">i", p) for p in partitions)
    return body + struct.pack(">i", coordinator_epoch)


def write_txn_markers_v0_errors(response: bytes) -> list[int]:
    """The per-partition error codes of a WriteTxnMarkers v0 response holding one marker and one topic."""
    pos = 4 + 8 + 4  # marker count, producer id, topic count
    name_len = struct.unpack(">h", response[pos:pos + 2])[0]
    pos += 2 + name_len
    count = struct.unpack(">i", response[pos:pos + 4])[0]
    pos += 4
    return [struct.unpack(">h", response[pos + 4 + 6 * i:pos + 6 + 6 * i])[0] for i in range(count)]


def list_offsets_v2(topic: str, partition: int, timestamp: int, isolation_level: int) -> bytes:
    """ListOffsets v2 (-1 latest, -2 earliest); isolation 1 is read_committed (answers the last stable offset)."""
    return struct.pack(">ib", -1, isolation_level) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) \
        + struct.pack(">iq", partition, timestamp)


def list_offsets_v2_offset(response: bytes) -> tuple[int, int]:
    """(error code, offset) of the single partition in a ListOffsets v2 response."""
    pos = 4 + 4  # throttle, topic count
    name_len = struct.unpack(">h", response[pos:pos + 2])[0]
    pos += 2 + name_len + 4 + 4  # name, partition count, partition index
    error, _timestamp, offset = struct.unpack(">hqq", response[pos:pos + 18])
    return error, offset


def metadata_v1(topics: list[str] | None) -> bytes:
    if topics is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics)


def init_producer_id_v1(transactional_id: str | None, timeout_ms: int = 60_000) -> bytes:
    return string(transactional_id) + struct.pack(">i", timeout_ms)


def init_producer_id_v1_result(response: bytes) -> tuple[int, int, int]:
    """(error code, producer id, epoch)."""
    return struct.unpack(">hqh", response[4:16])


def add_partitions_to_txn_v0(transactional_id: str, producer_id: int, epoch: int, topic: str, partitions: list[int]) -> bytes:
    return string(transactional_id) + struct.pack(">qh", producer_id, epoch) + struct.pack(">i", 1) + string(topic) \
        + struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)


def add_partitions_to_txn_v0_errors(response: bytes) -> list[int]:
    """The per-partition error codes of a response for one topic."""
    pos = 4 + 4  # throttle, topic count
    name_len = struct.unpack(">h", response[pos:pos + 2])[0]
    pos += 2 + name_len
    count = struct.unpack(">i", response[pos:pos + 4])[0]
    pos += 4
    return [struct.unpack(">h", response[pos + 4 + 6 * i:pos + 6 + 6 * i])[0] for i in range(count)]


def end_txn_v0(transactional_id: str, producer_id: int, epoch: int, commit: bool) -> bytes:
    return string(transactional_id) + struct.pack(">qhb", producer_id, epoch, 1 if commit else 0)


def find_coordinator_v1(key: str, key_type: int) -> bytes:
    """FindCoordinator v1: 0 a group, 1 a transactional id."""
    return string(key) + struct.pack(">b", key_type)


def find_coordinator_v1_node(response: bytes) -> tuple[int, int]:
    """(error code, coordinator node id) of a FindCoordinator v1 response."""
    error = struct.unpack(">h", response[4:6])[0]
    pos = 6
    message_len = struct.unpack(">h", response[pos:pos + 2])[0]
    pos += 2 + max(message_len, 0)
    return error, struct.unpack(">i", response[pos:pos + 4])[0]


class Connection:
    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.correlation = 0

    def call(self, api_key: int, version: int, body: bytes) -> bytes:
        """Sends one request and returns its response body."""
        self.correlation += 1
        self.send(request(api_key, version, self.correlation, body))
        correlation, response = self.receive()
        assert correlation == self.correlation
        return response

    def send(self, frame: bytes) -> None:
        self.sock.sendall(frame)

    def receive(self) -> tuple[int, bytes]:
        """Returns (correlation id, rest of the response); raises ConnectionError when the broker closed."""
        size = struct.unpack(">i", self._exactly(4))[0]
        payload = self._exactly(size)
        return struct.unpack(">i", payload[:4])[0], payload[4:]

    def closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by broker")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def produce_v3_error(response: bytes) -> int:
    """Error code of the single partition in a Produce v3 response body."""
    pos = 4  # topic count
    name_len = struct.unpack(">h", response[pos:pos + 2])[0]
    pos += 2 + name_len + 4 + 4  # name, partition count, partition index
    return struct.unpack(">h", response[pos:pos + 2])[0]


def sasl_handshake_v1(mechanism: str, correlation_id: int = 1) -> bytes:
    return request(17, 1, correlation_id, string(mechanism))


def sasl_authenticate_v1(auth_bytes: bytes, correlation_id: int = 2) -> bytes:
    return request(36, 1, correlation_id, struct.pack(">i", len(auth_bytes)) + auth_bytes)


def read_frame(sock) -> bytes | None:
    """One size-prefixed frame, or None when the peer closed the connection first."""
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            try:
                chunk = sock.recv(n - len(data))
            except (ConnectionResetError, OSError):
                return None
            if not chunk:
                return None
            data += chunk
        return data
    head = exactly(4)
    if head is None:
        return None
    return exactly(struct.unpack(">i", head)[0])


def parse_sasl_handshake_v1(frame: bytes) -> tuple[int, list[str]]:
    """(error code, enabled mechanisms) of a SaslHandshake v1 response frame (after its size)."""
    error, count = struct.unpack(">hi", frame[4:10])
    mechanisms, at = [], 10
    for _ in range(count):
        size = struct.unpack(">h", frame[at:at + 2])[0]
        mechanisms.append(frame[at + 2:at + 2 + size].decode())
        at += 2 + size
    return error, mechanisms


def parse_sasl_authenticate_v1(frame: bytes) -> tuple[int, str | None, bytes, int]:
    """(error code, error message, auth bytes, session lifetime ms) of a SaslAuthenticate v1 response frame."""
    error, size = struct.unpack(">hh", frame[4:8])
    at = 8
    message = None
    if size >= 0:
        message = frame[at:at + size].decode()
        at += size
    length = struct.unpack(">i", frame[at:at + 4])[0]
    auth = frame[at + 4:at + 4 + length]
    at += 4 + length
    return error, message, auth, struct.unpack(">q", frame[at:at + 8])[0]


def scram_login(sock, user: str, password: str, mechanism: str = "SCRAM-SHA-512") -> tuple[int, str | None]:
    """A SCRAM exchange (RFC 5802) over SaslHandshake v1 and SaslAuthenticate v1: (error code, message) of the
    step that ended it; 0 once the server's signature checked out."""
    import base64
    import hashlib
    import hmac
    import os
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    sock.sendall(sasl_handshake_v1(mechanism))
    error, _ = parse_sasl_handshake_v1(read_frame(sock))
    if error:
        return error, None
    nonce = base64.b64encode(os.urandom(18)).decode()
    bare = f"n={user},r={nonce}"
    sock.sendall(sasl_authenticate_v1(f"n,,{bare}".encode()))
    error, message, server_first, _ = parse_sasl_authenticate_v1(read_frame(sock))
    if error:
        return error, message
    fields = dict(part.split("=", 1) for part in server_first.decode().split(","))
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{bare},{server_first.decode()},{without_proof}".encode()
    signature = hmac.new(hashlib.new(digest, client_key).digest(), auth_message, digest).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    sock.sendall(sasl_authenticate_v1(f"{without_proof},p={proof}".encode(), correlation_id=3))
    error, message, server_final, _ = parse_sasl_authenticate_v1(read_frame(sock))
    if error:
        return error, message
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    assert server_final.decode() == f"v={expected}", "the server's signature does not match"
    return 0, None
