"""`crucible bench` end to end: OMB's workload and driver files run unchanged and give OMB's TestResult (fields,
units, series, file names) with .hlog interval logs that the PyPI hdrhistogram package decodes; coordinated
omission shows when a broker stalls; runs against a cluster bench did not start clean up (or keep) their topics;
bad input exits 2 naming the file and key before any cluster starts; OMB's backlog workload; leader failover;
the maximum-rate search; and this machine's calibration figures."""
import json
import math
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench_support import (AGGREGATES, LATENCY_SERIES, OMB, OMB_DRIVERS, OMB_WORKLOADS, QUANTILE_MAPS, QUICK,
                           RATE_SERIES, STAMP, TEST_RESULT_FIELDS, StreamingBench, bench, bench_topics, crucible,
                           explain, hlog_intervals, interval_tags, only_result, results, workload_text, write_driver, write_yaml,
                           yaml_name)
from cluster import Cluster, wait_for

SHORT_TEST = ["--test-minutes", "0.05"]


def check_hlogs(json_path: Path, result: dict) -> None:
    """The interval logs beside a result decode with PyPI's hdrhistogram, carry the tags they should, and agree
    with the JSON: same number of intervals as periods, and the publish maximum in µs is the JSON's in ms."""
    base = str(json_path)[:-len(".json")]
    publish_log, end_to_end_log = Path(base + "-publish.hlog"), Path(base + "-end-to-end.hlog")
    assert publish_log.exists() and end_to_end_log.exists(), sorted(p.name for p in json_path.parent.iterdir())
    assert publish_log.read_text().startswith("#[Histogram log format version 1.3]")
    assert interval_tags(publish_log) == {"publish", "publish-intended", "publish-delay"}
    assert interval_tags(end_to_end_log) == {"end-to-end", "end-to-end-intended"}

    intervals = hlog_intervals(publish_log)
    by_tag: dict[str, list] = {}
    for histogram in intervals:
        by_tag.setdefault(histogram.get_tag(), []).append(histogram)
    periods = len(result["publishRate"])
    assert {tag: len(found) for tag, found in by_tag.items()} == {tag: periods for tag in by_tag}, by_tag.keys()
    publish = by_tag["publish"]
    assert sum(h.get_total_count() for h in publish) > 0
    max_us = max(h.get_max_value() for h in publish)
    max_ms = result["aggregatedPublishLatencyMax"]
    # Both are an HdrHistogram's maximum (3 significant digits): equal within its precision, µs vs ms.
    assert math.isclose(max_us / 1000, max_ms, rel_tol=0.01, abs_tol=0.002), (max_us, max_ms)

    end_to_end = [h for h in hlog_intervals(end_to_end_log) if h.get_tag() == "end-to-end"]
    assert len(end_to_end) == periods


def overloaded(result: dict) -> bool:
    """Two of OMB's workloads offer far more than a debug build takes on two cores, where the client threads alone
    keep both cores busy: 100 topics at 150,000 msg/s of 1 kB, and the backlog workload's 200,000 msg/s of 1 kB to
    100 partitions (150-200 MB/s, each byte replicated three times). Their 3-second window may then see nothing
    acknowledged or received (honestly reported as zero rates and empty histograms); the run must still complete
    with every field, and have had messages acknowledged and stored over the whole run (see check_test_result)."""
    offered = result["crucible"]["targetRate"] * result["messageSize"]
    return offered >= 100 * 1_048_576 and (sum(result["publishRate"]) == 0 or sum(result["consumeRate"]) == 0)


def check_test_result(json_path: Path, result: dict, workload_file: Path, driver_file: Path) -> None:
    """One result file against OMB's TestResult: names, fields, units, series and the file name."""
    where = json_path.name
    if overloaded(result):
        # The probes (one message per producer, sent before the load) were acknowledged and stored. How much of the
        # load besides was acknowledged depends on how long the client threads, queueing it, starve the brokers of
        # the two cores (once none of it: brokers at 0.1 core each, the client at 2.5 and 5.9 GB queued), so that
        # is not asserted; what was not is counted as abandoned, never dropped.
        probes = result["producersPerTopic"] * result["topics"] * (result["messageSize"] + 64)
        assert result["crucible"]["bytesHanded"] >= probes, (where, result["crucible"])
        assert result["crucible"]["bytesStored"] > 0, (where, result["crucible"])
        assert result["crucible"]["bytesHanded"] > probes or result["crucible"]["sendsAbandoned"] > 0, (where, result["crucible"])
    assert TEST_RESULT_FIELDS <= set(result), (where, sorted(TEST_RESULT_FIELDS - set(result)))
    assert set(result) - TEST_RESULT_FIELDS == {"crucible"}, (where, sorted(set(result) - TEST_RESULT_FIELDS))

    assert result["workload"] == yaml_name(workload_file), where
    assert result["driver"] == yaml_name(driver_file), where
    # OMB's name: <workload file base>-<driver name>-yyyy-MM-dd-HH-mm-ss.json (Crucible adds -2, -3 ... to the
    # driver name only when two runs of one workload with same-named drivers start within the same second).
    pattern = rf"{re.escape(workload_file.stem)}-{re.escape(result['driver'])}(-\d+)?-{STAMP}\.json"
    assert re.fullmatch(pattern, json_path.name), (json_path.name, pattern)

    text = workload_file.read_text()
    for key, field in [("messageSize", "messageSize"), ("topics", "topics"), ("partitionsPerTopic", "partitions"),
                       ("producersPerTopic", "producersPerTopic"), ("consumerPerSubscription", "consumersPerTopic")]:
        declared = int(re.search(rf"^{key}:\s*(\d+)", text, re.MULTILINE).group(1))
        assert result[field] == declared, (where, field)

    periods = len(result["publishRate"])
    assert periods >= 1, where
    for series in RATE_SERIES + LATENCY_SERIES:
        assert isinstance(result[series], list) and len(result[series]) == periods, (where, series)
    for stat in ["50pct", "75pct", "95pct", "99pct", "999pct", "9999pct", "Max"]:
        # Publish delay is in integer microseconds, as OMB's.
        assert all(type(v) is int for v in result[f"publishDelayLatency{stat}"]), (where, stat)
        assert type(result[f"aggregatedPublishDelayLatency{stat}"]) is int, (where, stat)
    assert all(type(v) is int for v in result["aggregatedPublishDelayLatencyQuantiles"].values())
    assert all(type(v) is int and v >= 0 for v in result["backlog"]), where
    for name in AGGREGATES:
        assert isinstance(result[name], (int, float)) and result[name] >= 0, (where, name)
    if overloaded(result):
        assert Path(str(json_path)[:-len(".json")] + "-publish.hlog").read_text().startswith(
            "#[Histogram log format version 1.3]"), where
        return
    # Milliseconds: a plausible publish latency on loopback, neither µs (thousands of times larger) nor seconds.
    assert 0.01 <= result["aggregatedPublishLatency50pct"] <= 60_000, (where, result["aggregatedPublishLatency50pct"])
    assert result["aggregatedPublishLatency50pct"] <= result["aggregatedPublishLatency99pct"] \
        <= result["aggregatedPublishLatencyMax"], where
    for name in QUANTILE_MAPS:
        quantiles = result[name]
        assert quantiles, (where, name)
        assert all(0 < float(key) <= 100 for key in quantiles), (where, name)
    assert sum(result["publishRate"]) > 0, where
    consumers = int(re.search(r"^subscriptionsPerTopic:\s*(\d+)", text, re.MULTILINE).group(1)) * result["consumersPerTopic"]
    if consumers > 0:
        assert sum(result["consumeRate"]) > 0, (where, result["consumeRate"])
    assert result["crucible"]["compressionRatio"] > 0, where
    check_hlogs(json_path, result)


# 1. OMB's files, unchanged, in one invocation.

# Keys of Crucible's own section that every run has (the optional ones, such as rateSearch, are left out when
# they do not apply).
CRUCIBLE_KEYS = {"acks", "compressionType", "replicationFactor", "payload", "targetRate", "publishRate", "publishMBps",
                 "consumeMBps", "bytesHanded", "bytesStored", "compressionRatio", "publishLatencyFromIntendedMs",
                 "endToEndLatencyFromIntendedMs", "failovers", "sendsFailed", "sendsFailedByCode", "sendsAbandoned", "errorsByCode", "ratios", "versions",
                 "machine", "warnings"}


def driver_property(driver_file: Path, key: str) -> str | None:
    match = re.search(rf"^\s+{re.escape(key)}=(\S+)\s*$", driver_file.read_text(), re.MULTILINE)
    return match.group(1) if match else None




@pytest.mark.timeout(1800)
def test_every_omb_workload_and_driver_runs_unchanged(omb_set):
    pairs, out, completed = omb_set
    assert completed.returncode == 0, explain(completed)
    found = results(out)
    ran = sorted((r["crucible"]["workloadFile"], r["crucible"]["driverFile"]) for _, r in found)
    assert ran == sorted((str(w), str(d)) for w, d in pairs)
    for path, content in found:
        workload_file, driver_file = Path(content["crucible"]["workloadFile"]), Path(content["crucible"]["driverFile"])
        check_test_result(path, content, workload_file, driver_file)
        extras = content["crucible"]
        assert CRUCIBLE_KEYS <= set(extras), (path.name, sorted(CRUCIBLE_KEYS - set(extras)))
        assert extras["acks"] == (driver_property(driver_file, "acks") or "all"), path.name
        assert extras["compressionType"] == (driver_property(driver_file, "compression.type") or "none"), path.name
        assert extras["replicationFactor"] == int(re.search(r"^replicationFactor:\s*(\d+)", driver_file.read_text(),
                                                             re.MULTILINE).group(1))
        assert extras["sendsFailed"] == 0, (path.name, extras["errorsByCode"])
    summary = (out / "summary.md").read_text()
    assert "Cluster: the local cluster this run started." in summary
    # Messages an overloaded cluster never answered are counted and shown, not folded into failures or dropped.
    abandoned = [r["workload"] for _, r in found if r["crucible"]["sendsAbandoned"] > 0]
    assert not abandoned or "## Sends not acknowledged" in summary and all(w in summary for w in abandoned), summary
    assert len(json.loads((out / "summary.json").read_text())["runs"]) == len(pairs)


@pytest.mark.timeout(1800)
def test_compression_ratio_without_a_codec_is_about_one(omb_set):
    """Without a codec, bytes stored are the bytes handed over plus batch and record overhead: the ratio handed /
    stored is at most about 1. More means bytes that were counted as handed over never reached a log."""
    _, out, completed = omb_set
    assert completed.returncode == 0, explain(completed)
    ratios = {path.name: (r["crucible"]["compressionRatio"], r["crucible"]["bytesHanded"], r["crucible"]["bytesStored"])
              for path, r in results(out) if r["crucible"]["compressionType"] == "none"}
    assert ratios
    assert all(ratio <= 1.1 for ratio, _, _ in ratios.values()), ratios


@pytest.mark.timeout(1800)
def test_the_gate_reads_bench_results_and_refuses_another_workload(omb_set):
    """`crucible gate` takes bench results as its timed tier: every period a sample, throughput as a ratio to the
    rate the run was asked for (a searched maximum as a ratio to the run's own loopback calibration). A result
    against itself is within the noise; against a result of another workload or driver it exits 2 naming both."""
    _, out, completed = omb_set
    assert completed.returncode == 0, explain(completed)
    found = [path for path, _ in results(out)]
    first, other = found[0], next(p for p in found[1:] if p.name.split("-Kafka-")[0] != found[0].name.split("-Kafka-")[0])
    same = crucible("gate", "--baseline", first, "--candidate", first)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "| publishRate.toTarget (ratio) |" in same.stdout and "| endToEndLatency99pct (ms) |" in same.stdout, same.stdout
    assert "regression" not in same.stdout
    mixed = crucible("gate", "--baseline", first, "--candidate", other)
    assert mixed.returncode == 2 and f"{other}: measures " in mixed.stderr and "not the baseline's" in mixed.stderr, mixed.stderr


# 2. Coordinated omission.

def test_a_stalled_broker_shows_in_publish_delay(tmp_path):
    cluster = Cluster(tmp_path / "cluster", nodes=1, overrides={"group.initial.rebalance.delay.ms": "0"})
    bootstrap = cluster.up()
    try:
        # A 16 KiB producer buffer fills within milliseconds of the broker stopping: the generator then waits,
        # and only the intended send times remember what the schedule asked for.
        driver = write_driver(tmp_path / "acks1.yaml", "acks-1-small-buffer", 1,
                              {"acks": "1", "linger.ms": "1", "buffer.memory": "16384"})
        workload = write_yaml(tmp_path / "co.yaml", workload_text("fixed 2000 msg/s, 1 KiB", producerRate=2000))
        out = tmp_path / "out"
        run = StreamingBench(workload, "--driver", driver, "--bootstrap-server", bootstrap, "--output", out,
                             "--skip-calibration", "--warmup-minutes", "0", "--test-minutes", "0.25",
                             "--period-seconds", "1", "--metrics-port", "0")
        try:
            run.wait_for_line(r"\] test \d+:\d+/", timeout=120)
            cluster.node("pause", 1)
            paused_at = time.monotonic()
            time.sleep(1.0)  # the stall being measured, not a wait for something to happen
            cluster.node("resume", 1)
            stalled = time.monotonic() - paused_at
            # The run serves its own progress (--metrics-port): what it has published so far, per run.
            [url] = [line.split("progress metrics: ")[1] for line in run.lines if "progress metrics: " in line]
            wait_for(lambda: progress_sample(url, "crucible_bench_published_messages_total") > 0, 30,
                     "the run's own published-messages counter")
            assert progress_sample(url, "crucible_bench_publish_latency_ms", quantile="0.99") > 0
            completed = run.wait(timeout=240)
        finally:
            run.kill()
        assert completed.returncode == 0, explain(completed)
        result = only_result(out)
        assert stalled >= 1.0
        assert result["aggregatedPublishDelayLatencyMax"] >= 700_000, result["aggregatedPublishDelayLatencyMax"]
        assert result["crucible"]["publishLatencyFromIntendedMs"]["max"] >= 900, result["crucible"]["publishLatencyFromIntendedMs"]
        assert max(result["publishDelayLatencyMax"]) >= 700_000, result["publishDelayLatencyMax"]
        assert bench_topics(bootstrap) == []
    finally:
        cluster.down()


def progress_sample(url: str, name: str, **labels) -> float:
    """The sum of a harness run's own samples named `name` with `labels` among theirs."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()))


# 2b. An interrupted run on the embedded cluster.

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_run_leaves_no_nodes_and_no_data(tmp_path, sig):
    """Ctrl-C or SIGTERM in the middle of a run: the embedded cluster's nodes are killed, its scratch directory
    (tens of GB after a default-set run) is removed, and bench exits as the signal would have it."""
    scratch_root = tmp_path / "scratch"
    scratch_root.mkdir()
    workload = write_yaml(tmp_path / "long.yaml", workload_text("long", producerRate=1000, testDurationMinutes=10))
    driver = write_driver(tmp_path / "rf1.yaml", "rf1", 1, {"acks": "1"})
    run = StreamingBench(workload, "--driver", driver, "--nodes", "1", "--skip-calibration", *QUICK,
                         "--output", tmp_path / "out", env={**os.environ, "TMPDIR": str(scratch_root)})
    try:
        run.wait_for_line(r"\] test \d+:\d+/", timeout=180)
        [scratch] = list(scratch_root.glob("crucible-bench-*"))
        nodes = [n["pid"] for n in json.loads((scratch / "cluster.json").read_text())["nodes"]]
        assert nodes and all(alive(pid) for pid in nodes)
        run.process.send_signal(sig)
        assert run.process.wait(timeout=60) == 128 + sig
    finally:
        run.kill()
    wait_for(lambda: not any(alive(pid) for pid in nodes), 30, "the nodes killed")
    wait_for(lambda: not scratch.exists(), 60, "the scratch directory removed")


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


# 3. A cluster bench did not start.

def test_a_cluster_it_did_not_start_keeps_no_topics_unless_asked(tmp_path):
    cluster = Cluster(tmp_path / "cluster", nodes=3, overrides={"group.initial.rebalance.delay.ms": "0"})
    bootstrap = cluster.up()
    try:
        workloads = [OMB_WORKLOADS / "1-topic-1-partition-100b.yaml", OMB_WORKLOADS / "1-topic-16-partitions-1kb.yaml"]
        driver = OMB_DRIVERS / "kafka-latency.yaml"
        out = tmp_path / "out"
        result = bench(*workloads, "--driver", driver, "--bootstrap-server", bootstrap, "--output", out,
                       "--skip-calibration", *QUICK, *SHORT_TEST)
        assert result.returncode == 0, explain(result)
        assert "starting a local cluster" not in result.stderr
        found = results(out)
        assert sorted(r["crucible"]["workloadFile"] for _, r in found) == sorted(map(str, workloads))
        for path, content in found:
            check_test_result(path, content, Path(content["crucible"]["workloadFile"]), driver)
        assert "an existing cluster" in (out / "summary.md").read_text()
        assert bench_topics(bootstrap) == []

        kept_out = tmp_path / "kept"
        kept = bench(workloads[0], "--driver", driver, "--bootstrap-server", bootstrap, "--output", kept_out,
                     "--keep-topics", "--skip-calibration", *QUICK, *SHORT_TEST)
        assert kept.returncode == 0, explain(kept)
        left = bench_topics(bootstrap)
        assert len(left) == 1, left  # the workload's one topic
        for topic in left:
            deleted = crucible("topics", "--bootstrap-server", bootstrap, "--delete", "--topic", topic)
            assert deleted.returncode == 0, deleted.stderr
        wait_for(lambda: bench_topics(bootstrap) == [], 30, "the kept topics to be deleted")
    finally:
        cluster.down()


# 4. Bad input.

BAD_WORKLOADS = {
    "negative-size": ({"messageSize": -5}, "messageSize"),
    "key-distributor": ({"keyDistributor": "SOMETIMES"}, "keyDistributor"),
    "no-topics": ({"topics": None}, "topics"),
    "backlog-at-max-rate": ({"consumerBacklogSizeGB": 1, "producerRate": 0}, "consumerBacklogSizeGB"),
}


def refuse(tmp_path, *args: str) -> str:
    """Runs bench expecting exit 2 within seconds, with no cluster started (none announced, no scratch directory
    made under TMPDIR); returns stderr."""
    scratch = tmp_path / "tmpdir"
    scratch.mkdir(exist_ok=True)
    started = time.monotonic()
    result = bench(*args, timeout=60, env={**os.environ, "TMPDIR": str(scratch)})
    elapsed = time.monotonic() - started
    assert result.returncode == 2, explain(result)
    assert elapsed < 15, elapsed
    assert "starting a local cluster" not in result.stderr
    assert not list(scratch.glob("crucible-bench-*")), list(scratch.iterdir())
    return result.stderr


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD_WORKLOADS))
def test_a_bad_workload_exits_2_naming_file_and_key(tmp_path, case):
    overrides, key = BAD_WORKLOADS[case]
    workload = write_yaml(tmp_path / f"{case}.yaml", workload_text(case, **overrides))
    line = one_line(refuse(tmp_path, workload, "--skip-calibration"))
    assert str(workload) in line and f"{key}:" in line, line


def test_a_driver_librdkafka_refuses_exits_2_naming_file_and_key(tmp_path):
    driver = write_driver(tmp_path / "maybe.yaml", "maybe", 1, {"acks": "maybe"})
    workload = write_yaml(tmp_path / "ok.yaml", workload_text())
    line = one_line(refuse(tmp_path, workload, "--driver", driver, "--skip-calibration"))
    assert str(driver) in line and "acks=maybe" in line, line


def test_metrics_urls_are_for_a_cluster_bench_did_not_start_and_must_be_http(tmp_path):
    ok = OMB_WORKLOADS / "1-topic-1-partition-100b.yaml"
    line = one_line(refuse(tmp_path, ok, "--metrics-url", "http://127.0.0.1:1/metrics", "--skip-calibration"))
    assert "--metrics-url" in line and "--bootstrap-server" in line, line
    line = one_line(refuse(tmp_path, ok, "--bootstrap-server", "127.0.0.1:1", "--metrics-url", "ftp://x/metrics",
                           "--skip-calibration"))
    assert "--metrics-url ftp://x/metrics" in line, line
    # The run's own progress endpoint: a port that cannot be one.
    line = one_line(refuse(tmp_path, ok, "--metrics-port", "70000", "--skip-calibration"))
    assert "--metrics-port 70000" in line, line


def test_a_missing_file_and_a_negative_duration_exit_2(tmp_path):
    missing = tmp_path / "no-such-workload.yaml"
    line = one_line(refuse(tmp_path, missing))
    assert str(missing) in line, line
    ok = OMB_WORKLOADS / "1-topic-1-partition-100b.yaml"
    for args in (["--test-minutes", "-1"], ["--test-minutes=-1"]):
        line = one_line(refuse(tmp_path, ok, *args, "--skip-calibration"))
        assert "--test-minutes" in line, line


def test_an_unknown_workload_key_is_only_a_warning(tmp_path):
    """`colour: blue` is read, warned about by name, and does not stop the run: here the run then fails for
    another reason only (an --output that cannot be a directory), after the workload was accepted."""
    workload = write_yaml(tmp_path / "colourful.yaml", workload_text(colour="blue"))
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    stderr = refuse(tmp_path, workload, "--output", not_a_directory / "out", "--skip-calibration")
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    assert lines[0].startswith("warning:") and str(workload) in lines[0] and "colour" in lines[0], lines
    assert lines[1].startswith("crucible: --output") and "colour" not in lines[1], lines


# 5. OMB's backlog workload.

def test_omb_backlog_workload_builds_a_backlog_for_the_test_duration(tmp_path):
    out = tmp_path / "out"
    result = bench(OMB_WORKLOADS / "1-topic-100-partitions-1kb-4p-4c-200k-backlog.yaml", "--output", out,
                   "--skip-calibration", *QUICK, "--test-minutes", "0.2", timeout=600)
    assert result.returncode == 0, explain(result)
    content = only_result(out)
    backlog = content["crucible"]["backlog"]
    assert backlog["requestedBytes"] == 512 * 1024 ** 3
    assert backlog["builtMessages"] > 0, backlog
    assert backlog["buildStoppedBy"] == "test duration", backlog
    assert max(content["backlog"]) > 0, content["backlog"]


# 6. Failover.

def test_killing_the_leader_measures_the_gap_to_a_new_leader(tmp_path):
    """A low rate: the suite's brokers are debug builds sharing two cores with the generator, and a saturated
    producer's queue would add its backlog to the gap being measured."""
    driver = write_driver(tmp_path / "rf3.yaml", "acks-all-rf-3", 3, {"acks": "all", "linger.ms": "1"},
                          topic={"min.insync.replicas": "2"})
    workload = write_yaml(tmp_path / "failover.yaml", workload_text(
        "failover", partitionsPerTopic=3, producerRate=200, testDurationMinutes=0.4,
        crucible={"killLeaderEverySeconds": 8}))
    out = tmp_path / "out"
    result = bench(workload, "--driver", driver, "--output", out, "--skip-calibration", *QUICK, timeout=600)
    assert result.returncode == 0, explain(result)
    content = only_result(out)
    failovers = content["crucible"]["failovers"]
    assert failovers, explain(result)
    # A failover with no acknowledged write within a minute has no gapMs (the key is left out rather than null).
    measured = [f for f in failovers if f.get("gapMs") is not None and f["gapMs"] < 30_000
                and f["newLeader"] in (1, 2, 3) and f["newLeader"] != f["node"]]
    assert measured, failovers
    # The brokers' own account, scraped from their /metrics every period: a killed leader's partitions were
    # under-replicated on the nodes that took over, messages came in, and Produce requests were timed.
    brokers = content["crucible"]["brokerMetrics"]
    assert sorted(brokers["nodes"]) == ["1", "2", "3"], brokers.keys()
    series = brokers["nodes"].values()
    assert all(len(node["atSeconds"]) >= 5 for node in series), [len(n["atSeconds"]) for n in series]
    assert max(v or 0 for node in series for v in node["underReplicatedPartitions"]) >= 1, brokers
    assert sum(v or 0 for node in series for v in node["messagesInPerSecond"]) > 0
    assert any(v for node in series for v in node["produceTimeMs"]["total"]), brokers
    # ...and the report draws it beside the client's view.
    page = tmp_path / "report.html"
    made = crucible("report", out, "--output", page, timeout=300)
    assert made.returncode == 0, explain(made)
    drawn = dict(re.findall(r'data-chart="([^"]+-brokers-[^"]+)" data-points="(\d+)"', page.read_text()))
    assert len(drawn) == 2 and all(int(points) > 0 for points in drawn.values()), drawn
    summary = (out / "summary.md").read_text()
    assert "## Failover" in summary, summary
    table = summary.split("## Failover", 1)[1]
    assert re.search(r"^\| failover \| rf3 \| 1 \| \d+ \|", table, re.MULTILINE), table


# 7 and 8. The maximum-rate search (OMB's producerRate 0 workload, in the set above), with this machine's
# calibration in the same invocation.

@pytest.mark.timeout(1800)
def test_max_rate_search_and_calibration(omb_set):
    _, out, completed = omb_set
    assert completed.returncode == 0, explain(completed)
    searched = [r for _, r in results(out) if r["crucible"]["workloadFile"].endswith("1-topic-3-partition-100b-3producers.yaml")]
    assert len(searched) == 1, [p.name for p, _ in results(out)]
    extras = searched[0]["crucible"]
    assert extras["maxSustainableRate"] > 0, extras["rateSearch"]
    assert extras["rateSearch"]["windows"], extras["rateSearch"]
    assert extras["rateSearch"].get("outcome"), extras["rateSearch"]
    assert extras["targetRate"] == extras["maxSustainableRate"]  # rateFraction 1
    # The test ran at the rate found: what was sent in the test is that rate, give or take the schedule's start.
    assert sum(searched[0]["publishRate"]) > 0

    for _, result in results(out):
        calibration = result["crucible"]["calibration"]
        for figure in ("loopbackBytesPerSecond", "diskFdatasyncBytesPerSecond", "pageCacheFreshBytesPerSecond"):
            assert (calibration.get(figure) or 0) > 0, (figure, calibration)
        assert result["crucible"]["ratios"].get("publishToLoopback", 0) > 0 or overloaded(result), result["crucible"]["ratios"]
