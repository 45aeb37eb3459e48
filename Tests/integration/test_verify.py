"""`crucible verify`: every scenario in Workloads/verify meets its expectation in a short form, against real
nodes, real librdkafka clients and a real nemesis; a run replays from its seed; bad input exits 2 naming it."""
import json
import subprocess
from pathlib import Path

import pytest

from bench_support import crucible, explain
from cluster import Cluster
from conftest import ROOT, crucible_binary
from verify_support import SCENARIOS, SHORT, verify


def test_the_short_forms_cover_every_shipped_scenario():
    assert sorted(SHORT) == sorted(path.stem for path in SCENARIOS.glob("*.yaml"))


@pytest.fixture
def runs(verify_runs):
    """Every scenario once, seed 1 (conftest: the report tests read the same runs)."""
    return verify_runs


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("name", sorted(SHORT))
def test_every_scenario_meets_its_expectation(runs, name):
    completed, run_dir, out = runs[name]
    assert completed.returncode == 0, explain(completed)
    assert run_dir is not None and run_dir.name == "run-1-seed-1"
    for file in ("history.jsonl", "analysis.json", "history.html", "nemesis.json", "run.json", "broker-metrics.json"):
        assert (run_dir / file).stat().st_size > 0, file
    # The brokers' own account, scraped every second: each node answered most of the run.
    brokers = json.loads((run_dir / "broker-metrics.json").read_text())
    assert sorted(brokers["nodes"]) == ["1", "2", "3"], brokers.keys()
    assert all(len(node["atSeconds"]) >= 5 for node in brokers["nodes"].values()), brokers
    if name == "safe-kill":  # a killed replica leaves its partitions under-replicated on their leaders for a while
        assert max(v or 0 for node in brokers["nodes"].values() for v in node["underReplicatedPartitions"]) >= 1
    assert (run_dir / "clients.log").exists()  # librdkafka's own lines; a pause may leave it with none
    assert sorted(p.name for p in (run_dir / "nodes").iterdir()) == [f"node-{i}.log" for i in (1, 2, 3)]
    outcome = json.loads((run_dir / "run.json").read_text())
    assert outcome["expectationMet"] and outcome["clusterWholeAfterHealing"], outcome
    assert outcome["finalReadsComplete"], outcome
    assert outcome["acknowledgedSends"] > 50, outcome
    assert json.loads((out / "summary.json").read_text())["runs"][0]["scenario"] == name
    assert name in (out / "summary.md").read_text()

    # The nemesis really acted, and said so in the history and the timeline.
    timeline = json.loads((run_dir / "nemesis.json").read_text())
    assert timeline and all(event["nodes"] and not event.get("error") for event in timeline), timeline
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    assert [op["index"] for op in history] == list(range(len(history)))
    nemesis_ops = [op for op in history if op["process"] == "nemesis"]
    assert [op["f"] for op in nemesis_ops] == [event["fault"] for event in timeline]
    faults = {event["fault"] for event in timeline}
    assert faults <= {"kill", "restart", "pause", "resume", "partition", "lossy", "heal", "bump-clock", "reset-clock",
                      "disk-fault", "heal-disk"}, faults
    assert len(faults) >= 2, faults

    # The checker, run alone on the streamed history, agrees with the run's verdict.
    analysis = json.loads((run_dir / "analysis.json").read_text())
    checked = crucible("check", run_dir / "history.jsonl", timeout=300)
    assert checked.returncode == (0 if analysis["valid"] is True else 1), explain(checked)

    if name == "unclean-election-loses-writes":
        # Acknowledged writes the final reads did not find, counted, and the checker's lost-write.
        assert outcome["acknowledgedWritesLost"] > 0 and "lost-write" in outcome["anomalyTypes"], outcome
        assert analysis["valid"] is False
    elif name != "acks1-leader-kill":
        assert outcome["acknowledgedWritesLost"] == 0 and analysis["valid"] is True, outcome
    if name == "safe-disk":
        # The node whose disk failed halted (as a KRaft broker does) and was started again once it was mended.
        broken = [event for event in timeline if event["fault"] == "disk-fault"]
        assert broken and all(event["diskFault"] for event in broken), timeline
        halted = [node for event in broken for node in event["nodes"]
                  if "shutting down broker because its log directory failed" in (run_dir / "nodes" / f"node-{node}.log").read_text()]
        assert halted, "no node with a broken disk halted"
    if name == "safe-subscribe" or name.startswith("txn-"):
        assert any(op["f"] == "subscribe" for op in history)
        # Each consumer's first assignment at least is in the history, with the operation it came in.
        assert any(op.get("rebalance-log") for op in history if op["type"] == "ok"), "no rebalance recorded"
    if name.startswith("txn-"):
        # Transactions of sends and polls, committed and aborted, their offsets sent along in a group.
        outcomes = {op["type"] for op in history if op["f"] == "txn" and op["type"] != "invoke"}
        assert {"ok", "fail"} <= outcomes, outcomes
        assert outcome["operations"].get("txn aborted", 0) > 0, outcome["operations"]


@pytest.mark.timeout(600)
def test_a_cluster_described_by_commands(tmp_path):
    """A cluster verify does not start, given by addresses and shell commands (here a local cluster driven through
    `crucible cluster`, as a user would script ssh or systemctl): the nemesis kills, restarts, pauses and resumes
    its nodes through those commands, and the run is checked as any other."""
    cluster = Cluster(tmp_path / "theirs", nodes=3, overrides={"replica.lag.time.max.ms": "5000"})
    cluster.up()
    try:
        tool = f"{crucible_binary()} cluster {{}} --dir {cluster.directory} --node {{{{node}}}}"
        scenario = tmp_path / "external.yaml"
        scenario.write_text("\n".join([
            "name: external", "cluster:", "  external:",
            "    addresses: [" + ", ".join(f"'{a}'" for a in cluster.bootstrap.split(",")) + "]",
            *(f"    {action}: {tool.format(action)}" for action in ("kill", "start", "pause", "resume")),
            f"    logs: cat {cluster.directory}/node-{{node}}/broker.log",
            "topic: {keys: 2, replicationFactor: 3, topicConfig: 'min.insync.replicas=2'}",
            'clients: {processes: 3, producerConfig: "acks=all\\nenable.idempotence=true"}',
            "workload: {rate: 60, timeLimitSeconds: 15}",
            "nemesis:", "  schedule:",
            "    - {at: 2, do: kill, target: leader, key: 0}", "    - {at: 5, do: restart, target: killed}",
            "    - {at: 8, do: pause, target: leader, key: 1}", "    - {at: 11, do: resume, target: paused}",
            "expect: {valid: true}", ""]))
        completed = verify(scenario, "--seed", 1, "--output", tmp_path / "out")
        assert completed.returncode == 0, explain(completed)
        run_dir = next((tmp_path / "out" / "external").glob("run-1-seed-1"))
        timeline = json.loads((run_dir / "nemesis.json").read_text())
        assert [event["fault"] for event in timeline] == ["kill", "restart", "pause", "resume"], timeline
        assert all(event["nodes"] and not event.get("error") for event in timeline), timeline
        assert "started" in (run_dir / "nodes" / "node-1.log").read_text()  # the logs command's output
        outcome = json.loads((run_dir / "run.json").read_text())
        assert outcome["expectationMet"] and outcome["acknowledgedWritesLost"] == 0, outcome
        # Planted bugs run only in nodes verify starts itself.
        refused = verify(scenario, "--mutation", "drop-batch-on-roll", "--output", tmp_path / "no", timeout=60)
        assert refused.returncode == 2 and "--mutation" in refused.stderr, explain(refused)
    finally:
        cluster.down()


@pytest.mark.timeout(600)
def test_a_run_replays_from_its_seed(runs, tmp_path):
    """The same seed gives the same nemesis schedule (faults, targets and times) and the same generator choices."""
    _, first_dir, _ = runs["safe-kill"]
    again = verify(SCENARIOS / "safe-kill.yaml", "--seed", 1, "--time-limit", SHORT["safe-kill"], "--output", tmp_path)
    assert again.returncode == 0, explain(again)
    second_dir = next((tmp_path / "safe-kill").glob("run-1-seed-1"))

    def schedule(run_dir: Path):
        return [(event["fault"], event["target"], round(event["atSeconds"])) for event in
                json.loads((run_dir / "nemesis.json").read_text())]

    assert schedule(first_dir) == schedule(second_dir)
    # The history's invokes are the generator's operations in order: the same seed, the same sequence.
    def invoked(run_dir: Path):
        ops = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
        return [(op["f"], json.dumps(op["value"])) for op in ops
                if op["type"] == "invoke" and op["f"] in ("send", "poll", "crash") and op["process"] < 1_000_000]

    first, second = invoked(first_dir), invoked(second_dir)
    assert len(first) > 100 and len(second) > 100
    assert first[:100] == second[:100]


def test_bad_input_exits_2_naming_it(tmp_path):
    bad_mode = tmp_path / "bad-mode.yaml"
    bad_mode.write_text("expect: {valid: true}\nclients: {mode: sideways}\n")
    bad_client = tmp_path / "bad-client.yaml"
    bad_client.write_text("expect: {valid: true}\nclients:\n  producerConfig: |\n    acks=maybe\n")
    cases = [
        ([tmp_path / "missing.yaml"], "missing.yaml"),
        ([bad_mode], "mode"),
        ([bad_client], "acks"),
        ([SCENARIOS / "safe-kill.yaml", "--runs", "0"], "--runs"),
        ([SCENARIOS / "safe-kill.yaml", "--time-limit", "0"], "--time-limit"),
        ([SCENARIOS / "safe-kill.yaml", "--metrics-port", "70000"], "--metrics-port"),
        ([], "scenario"),
        # Planted bugs: an unknown name lists the real ones; the normal build has none and says how to get them.
        ([SCENARIOS / "safe-kill.yaml", "--mutation", "no-such-bug"], "ack-before-replication"),
        ([SCENARIOS / "safe-kill.yaml", "--mutation", "ack-before-replication"], "-DCRUCIBLE_MUTATIONS"),
    ]
    for args, named in cases:
        completed = verify(*args, "--output", tmp_path / "out", timeout=60)
        assert completed.returncode == 2, (args, explain(completed))
        assert named in completed.stderr, (args, completed.stderr)
    assert not (tmp_path / "out").exists(), "nothing started for bad input"
