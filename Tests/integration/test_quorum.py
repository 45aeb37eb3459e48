"""A real 3-node cluster (combined broker and controller roles): the metadata quorum elects a leader, topics
created through any node reach every node's metadata, a SIGKILLed leader is replaced within seconds, and a
restarted node rejoins as a voter and catches up."""
import subprocess
import time

from conftest import crucible_binary, unique_topic


def quorum_status(bootstrap: str) -> dict[str, str] | None:
    """`metadata-quorum describe --status` as a dict, or None while it fails (no leader, node down)."""
    result = subprocess.run([crucible_binary(), "metadata-quorum", "--bootstrap-server", bootstrap, "describe",
                             "--status"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return None
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if ":" in line}


def quorum_replication(bootstrap: str) -> dict[int, dict[str, str]]:
    result = subprocess.run([crucible_binary(), "metadata-quorum", "--bootstrap-server", bootstrap, "describe",
                             "--replication"], capture_output=True, text=True, timeout=60, check=True)
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    header, rows = lines[0], lines[1:]
    return {int(row[0]): dict(zip(header, row)) for row in rows}


def poll(what: str, condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting until {what}")


def topics_on(node) -> list[str]:
    result = subprocess.run([crucible_binary(), "topics", "--bootstrap-server", node.bootstrap, "--list"],
                            capture_output=True, text=True, timeout=60)
    return result.stdout.split() if result.returncode == 0 else []


def create_topic(node, topic: str) -> subprocess.CompletedProcess:
    return subprocess.run([crucible_binary(), "topics", "--bootstrap-server", node.bootstrap, "--create", "--topic",
                           topic, "--partitions", "1", "--replication-factor", "1"],
                          capture_output=True, text=True, timeout=60)


def leader_of(nodes) -> int:
    def agreed():
        views = [quorum_status(n.bootstrap) for n in nodes]
        leaders = {v["LeaderId"] for v in views if v}
        if len(leaders) == 1 and all(views) and leaders != {"-1"}:
            return int(leaders.pop())
        return None
    return poll("the nodes agree on a quorum leader", agreed)


def test_three_node_quorum_elects_replicates_fails_over_and_catches_up(make_cluster):
    nodes = make_cluster(3)
    leader = leader_of(nodes)
    status = quorum_status(nodes[0].bootstrap)
    assert status["CurrentVoters"] == "[1,2,3]", status
    assert status["ClusterId"] == nodes[0].cluster_id
    assert int(status["HighWatermark"]) > 0

    # A topic created through a follower is forwarded to the active controller and reaches every node.
    follower = next(n for n in nodes if n.node_id != leader)
    first = unique_topic("quorum-a")
    result = poll("a follower creates a topic", lambda: create_topic(follower, first).returncode == 0 or None)
    assert result
    for node in nodes:
        poll(f"node {node.node_id} lists {first}", lambda: first in topics_on(node))

    # SIGKILL the leader: the survivors elect another within a few seconds.
    killed = next(n for n in nodes if n.node_id == leader)
    survivors = [n for n in nodes if n is not killed]
    killed.kill()
    started = time.monotonic()
    new_leader = poll("the survivors elect a new leader", lambda: (
        (s := quorum_status(survivors[0].bootstrap)) and s["LeaderId"] not in ("-1", str(leader))
        and int(s["LeaderId"])), timeout=15)
    failover = time.monotonic() - started
    assert new_leader != leader
    assert failover < 10, f"failover took {failover:.1f}s"

    second = unique_topic("quorum-b")
    poll("a survivor creates a topic", lambda: create_topic(survivors[1], second).returncode == 0 or None)
    for node in survivors:
        poll(f"node {node.node_id} lists {second}", lambda: second in topics_on(node))

    # The killed node restarts on its files, rejoins as a voter and catches up with the high watermark.
    killed.start()
    poll("the restarted node sees both topics", lambda: {first, second} <= set(topics_on(killed)))

    def caught_up():
        status = quorum_status(killed.bootstrap)
        if not status or status["CurrentVoters"] != "[1,2,3]":
            return None
        rows = quorum_replication(killed.bootstrap)
        hw = int(status["HighWatermark"])
        row = rows.get(killed.node_id)
        return row and row["Status"] == "Follower" and int(row["LogEndOffset"]) >= hw
    poll("the restarted node is a caught-up voter", caught_up)
