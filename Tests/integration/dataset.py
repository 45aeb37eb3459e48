"""The messages every client test sends and expects back byte for byte."""
import hashlib
from dataclasses import dataclass, field

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
LARGE_VALUE_BYTES = 1_000_000


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def messages(tag: str, large: bool = True) -> list[Message]:
    """Keyed, headed, null-key, null-value, binary and (optionally) ~1 MB messages, unique per tag."""
    out = []
    for i in range(40):
        key = None if i % 7 == 3 else f"{tag}-key-{i % 5}".encode()
        value = None if i % 11 == 5 and key is not None else (f"{tag}-value-{i}-".encode() + bytes(range(256)) * (i % 3))
        headers = ((f"h{i % 3}", f"hv-{i}".encode()), ("bin", bytes([i, 0, 255]))) if i % 4 == 0 else ()
        out.append(Message(key, value, headers))
    if large:
        big = hashlib.sha256(tag.encode()).digest() * (LARGE_VALUE_BYTES // 32)
        out.append(Message(f"{tag}-big".encode(), big, ()))
    return out
