"""Helpers for the `crucible bench` tests: where OMB's files are, running bench (to the end, or streaming its
progress lines), reading result files and HdrHistogram interval logs, and writing small workload and driver files."""
import json
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from conftest import ROOT, crucible_binary

# ../shared beside the repository, as the contract names it (`../shared/omb-workloads`).
OMB = ROOT.parent / "shared" / "omb-workloads"
OMB_WORKLOADS = OMB / "workloads"
OMB_DRIVERS = OMB / "driver-kafka"

# Every bench run in these tests: no rebalance delay on a local cluster, no warm-up, 1 s periods.
QUICK = ["--override", "group.initial.rebalance.delay.ms=0", "--warmup-minutes", "0", "--period-seconds", "1"]

# OMB's TestResult, field for field.
SCALARS = ["workload", "driver", "messageSize", "topics", "partitions", "producersPerTopic", "consumersPerTopic"]
STATS = ["Avg", "50pct", "75pct", "95pct", "99pct", "999pct", "9999pct", "Max"]
RATE_SERIES = ["publishRate", "publishErrorRate", "consumeRate", "backlog"]
LATENCY_SERIES = [f"{kind}{stat}" for kind in ("publishLatency", "publishDelayLatency", "endToEndLatency")
                  for stat in STATS]
AGGREGATES = [f"aggregated{kind}{stat}" for kind in ("PublishLatency", "PublishDelayLatency", "EndToEndLatency")
              for stat in STATS]
QUANTILE_MAPS = ["aggregatedPublishLatencyQuantiles", "aggregatedPublishDelayLatencyQuantiles",
                 "aggregatedEndToEndLatencyQuantiles"]
TEST_RESULT_FIELDS = set(SCALARS + RATE_SERIES + LATENCY_SERIES + AGGREGATES + QUANTILE_MAPS)

STAMP = r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}"


def bench(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([crucible_binary(), "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def only_result(directory: Path) -> dict:
    found = results(directory)
    assert len(found) == 1, [path.name for path, _ in found]
    return found[0][1]


def crucible(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([crucible_binary(), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def explain(result: subprocess.CompletedProcess) -> str:
    """What a failed bench run said: its exit code, the end of stderr (librdkafka's chatter left out) and stdout."""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("%")]
    return f"exit {result.returncode}\n--- stderr (tail)\n" + "\n".join(lines[-60:]) + "\n--- stdout\n" + result.stdout


class StreamingCommand:
    """A `crucible` command in the background with its stderr read line by line as it comes, so a test can act
    when the run reaches a phase."""

    def __init__(self, command: str, *args, env: dict | None = None):
        self.process = subprocess.Popen([crucible_binary(), command, *map(str, args)], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.stdout = ""
        self._new: queue.Queue = queue.Queue()
        self._readers = [threading.Thread(target=self._read_stderr, daemon=True),
                         threading.Thread(target=self._read_stdout, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)
        self._new.put(None)

    def _read_stdout(self) -> None:
        self.stdout = self.process.stdout.read()

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        """The first stderr line (from now on) matching `pattern`; fails if the process ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no stderr line matching {pattern!r} within {timeout}s:\n" + self.tail())
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the command exited ({self.process.wait()}) before a line matching {pattern!r}:\n"
                                     + self.tail())
            if re.search(pattern, line):
                return line.rstrip("\n")

    def wait(self, timeout: float) -> subprocess.CompletedProcess:
        self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, self.stdout,
                                           "\n".join(self.lines))

    def kill(self) -> None:
        """SIGTERM first, which takes down a local cluster the command started; SIGKILL if that is not enough."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def tail(self) -> str:
        return "\n".join([line for line in self.lines if not line.startswith("%")][-40:])


class StreamingBench(StreamingCommand):
    """`crucible bench` in the background (see `StreamingCommand`)."""

    def __init__(self, *args, env: dict | None = None):
        super().__init__("bench", *args, env=env)


def results(directory: Path) -> list[tuple[Path, dict]]:
    """Every result JSON in an output directory (summary.json aside), with its parsed content."""
    return [(path, json.loads(path.read_text())) for path in sorted(directory.glob("*.json"))
            if path.name != "summary.json"]


def yaml_name(path: Path) -> str:
    """The `name:` of an OMB workload or driver file (a plain or quoted scalar on one line in every OMB file)."""
    match = re.search(r"^name:\s*(.*?)\s*$", path.read_text(), re.MULTILINE)
    assert match, f"{path}: no name"
    value = match.group(1)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


def hlog_intervals(path: Path) -> list[HdrHistogram]:
    """Every interval histogram of an .hlog file, as the PyPI hdrhistogram package decodes them (tag included)."""
    reader = HistogramLogReader(str(path), HdrHistogram(1, 3_600_000_000, 3))
    intervals = []
    while True:
        histogram = reader.get_next_interval_histogram()
        if histogram is None:
            break
        intervals.append(histogram)
    reader.close()
    return intervals


def interval_tags(path: Path) -> set[str]:
    """The tags named on the interval lines of an .hlog file (read from the text, independently of the decoder)."""
    return {line.split(",", 1)[0][len("Tag="):] for line in path.read_text().splitlines() if line.startswith("Tag=")}


def bench_topics(bootstrap: str) -> list[str]:
    listed = crucible("topics", "--bootstrap-server", bootstrap, "--list")
    assert listed.returncode == 0, listed.stderr
    return [name for name in listed.stdout.split() if name.startswith("crucible-bench-")]


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def properties_block(key: str, properties: dict[str, str]) -> str:
    if not properties:
        return ""
    return f"{key}: |\n" + "".join(f"  {k}={v}\n" for k, v in properties.items())


def write_driver(path: Path, name: str, replication_factor: int, producer: dict[str, str],
                 topic: dict[str, str] | None = None, consumer: dict[str, str] | None = None) -> Path:
    """An OMB Kafka driver file."""
    consumer = consumer if consumer is not None else {"auto.offset.reset": "earliest", "enable.auto.commit": "false"}
    return write_yaml(path, f"name: {name}\n"
                            "driverClass: io.openmessaging.benchmark.driver.kafka.KafkaBenchmarkDriver\n"
                            f"replicationFactor: {replication_factor}\n"
                            + properties_block("topicConfig", topic or {})
                            + properties_block("producerConfig", producer)
                            + properties_block("consumerConfig", consumer))


def workload_text(name: str = "test workload", **overrides) -> str:
    """An OMB workload (1 topic, 1 partition, 1 KiB from OMB's payload file, 1 producer, 1 consumer), with keys
    replaced or added by `overrides` (a value None drops the key); values are written as YAML scalars."""
    fields = {
        "name": name,
        "topics": 1,
        "partitionsPerTopic": 1,
        "messageSize": 1024,
        "payloadFile": str(OMB / "payload" / "payload-1Kb.data"),
        "subscriptionsPerTopic": 1,
        "consumerPerSubscription": 1,
        "producersPerTopic": 1,
        "producerRate": 1000,
        "consumerBacklogSizeGB": 0,
        "testDurationMinutes": 0.05,
        "warmupDurationMinutes": 0,
    }
    fields.update(overrides)
    lines = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {v}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {json.dumps(value) if isinstance(value, str) else value}")
    return "\n".join(lines) + "\n"
