"""docs/API-CONFORMANCE.md is what `crucible api-conformance` generates (`--check` exits 0 on the committed file and
1 on a stale one), and what it says a node serves is what a live node advertises over ApiVersions, range for range."""
import re
import struct
import subprocess

import pytest

from conftest import ROOT, crucible_binary
from kafka_wire import Connection, request

DOC = ROOT / "docs" / "API-CONFORMANCE.md"
NOT_SERVED = "\u2014"  # em dash in the "Crucible serves" column
RANGE_DASH = "\u2013"  # en dash between the low and the high version


def documented() -> dict[int, tuple[str, tuple[int, int] | None]]:
    """{api key: (name, (min, max) the doc says Crucible serves, or None)} from the doc's table."""
    apis = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not cells[0].isdigit():
            continue
        key, name, _kafka, _where, served, _notes = cells
        if served == NOT_SERVED:
            apis[int(key)] = (name, None)
        else:
            low, _, high = served.partition(RANGE_DASH)
            apis[int(key)] = (name, (int(low), int(high or low)))
    return apis


def advertised(port: int) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 straight to one node: {api key: (min, max)}."""
    connection = Connection(port)
    try:
        connection.send(request(18, 0, 18, b""))
        correlation, body = connection.receive()
    finally:
        connection.close()
    assert correlation == 18
    error, count = struct.unpack_from(">hi", body)
    assert error == 0
    entries = [struct.unpack_from(">hhh", body, 6 + 6 * i) for i in range(count)]
    assert len(body) == 6 + 6 * count
    return {key: (low, high) for key, low, high in entries}


def conformance(*args: str) -> subprocess.CompletedProcess:
    # Run from the repository root: the command's defaults (--output docs/API-CONFORMANCE.md, --schemas
    # ../shared/kafka-protocol) are relative to it.
    return subprocess.run([crucible_binary(), "api-conformance", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_committed_doc_is_current():
    result = conformance("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_a_stale_doc(broker, tmp_path):
    lines = DOC.read_text().splitlines(keepends=True)
    # Widen the first served API's range in a copy: --check must notice, and name the line.
    served = {k: v for k, v in documented().items() if v[1]}
    key = min(served)
    name, (low, high) = served[key]
    index = next(i for i, line in enumerate(lines) if re.match(rf"\|\s*{key}\s*\|\s*{re.escape(name)}\s*\|", line))
    cells = lines[index].split("|")  # "", key, API, Kafka's versions, where, Crucible serves, notes, "\n"
    cells[5] = f" {low}{RANGE_DASH}{high + 1} "
    altered = "|".join(cells)
    lines[index] = altered
    stale = tmp_path / "API-CONFORMANCE.md"
    stale.write_text("".join(lines))

    result = conformance("--check", "--output", str(stale), "--bootstrap-server", broker.bootstrap)
    assert result.returncode == 1, result.stdout + result.stderr
    assert altered.strip() in result.stderr


def test_the_summary_line_counts_the_table():
    apis = documented()
    served = sum(1 for _, r in apis.values() if r)
    assert f"{served} of {len(apis)} APIs are served on the client listener." in DOC.read_text()


@pytest.mark.parametrize("where", ["standalone node", "cluster node"])
def test_a_live_node_advertises_exactly_what_the_doc_says(where, request, make_cluster):
    if where == "standalone node":
        port = request.getfixturevalue("broker").port
    else:
        port = make_cluster(3)[1].port
    doc = documented()
    live = advertised(port)
    for key, (name, served) in sorted(doc.items()):
        if served:
            assert live.get(key) == served, f"{name} ({key}): doc says {served}, node advertises {live.get(key)}"
        else:
            assert key not in live, f"{name} ({key}): doc says not served, node advertises {live[key]}"
    unknown = sorted(set(live) - set(doc))
    if unknown:
        # The doc lists served APIs missing from Kafka's schemas on a line of its own.
        assert f"Served but not in the schemas: {', '.join(map(str, unknown))}." in DOC.read_text()
