"""Cluster figures for docs/PERFORMANCE.md: failover time (SIGKILL of a partition leader to the first acks=all
write acknowledged on that partition afterwards; median of N) with the default timeouts, and produce throughput
of RF=3 acks=all against RF=3 acks=1 and RF=1, all on one 3-node local cluster in one run."""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "integration"))
from cluster import Cluster, wait_for  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def failover_once(cluster: Cluster, topic: str) -> float:
    leader, _, _ = cluster.partition(topic)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 0,
                         "message.timeout.ms": 60000, "retry.backoff.ms": 20, "retry.backoff.max.ms": 100,
                         "topic.metadata.refresh.interval.ms": 100, "partitioner": "murmur2_random"})
    first_ack = threading.Event()
    killed_at = [0.0]
    acked_at = [0.0]

    def report(err, msg):
        if err is None and msg.value().startswith(b"after") and not first_ack.is_set():
            acked_at[0] = time.monotonic()
            first_ack.set()

    producer.produce(topic, value=b"before", partition=0)
    producer.flush(10)
    cluster.node("kill", leader)
    killed_at[0] = time.monotonic()
    i = 0
    while not first_ack.is_set() and time.monotonic() - killed_at[0] < 60:
        producer.produce(topic, value=b"after-%d" % i, partition=0, on_delivery=report)
        producer.poll(0.01)
        i += 1
    producer.flush(60)
    elapsed = acked_at[0] - killed_at[0] if first_ack.is_set() else float("inf")
    cluster.node("start", leader)
    wait_for(lambda: len(cluster.partition(topic)[2]) == 3, 90, "the killed node back in the ISR")
    return elapsed


def throughput(perf: str, cluster: Cluster, topic: str, acks: str, count: int, size: int) -> dict:
    out = subprocess.run([perf, "-P", "-t", topic, "-b", cluster.bootstrap, "-s", str(size), "-c", str(count),
                          "-a", acks, "-X", "linger.ms=5", "-X", "batch.size=1000000"],
                         capture_output=True, text=True, timeout=600).stdout
    parsed = subprocess.run([sys.executable, str(Path(__file__).parent / "parse_rdkafka_performance.py"), "produce",
                             str(size)], input=out, capture_output=True, text=True)
    return json.loads(parsed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perf", required=True, help="rdkafka_performance binary")
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crucible-cluster-bench-") as work:
        cluster = Cluster(Path(work) / "cluster")
        cluster.up()
        try:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            for name, rf in (("rf3", 3), ("rf1", 1), ("failover", 3)):
                admin.create_topics([NewTopic(name, 1, rf, config={"min.insync.replicas": "2" if rf == 3 else "1"})])[name].result(30)
            wait_for(lambda: len(cluster.partition("rf3")[2]) == 3, 30, "rf3 in sync")
            rows = [
                {"case": "RF=3 acks=all", **throughput(args.perf, cluster, "rf3", "-1", args.messages, args.size)},
                {"case": "RF=3 acks=1", **throughput(args.perf, cluster, "rf3", "1", args.messages, args.size)},
                {"case": "RF=1 acks=1", **throughput(args.perf, cluster, "rf1", "1", args.messages, args.size)},
            ]
            times = []
            for n in range(args.failovers):
                times.append(failover_once(cluster, "failover"))
                print(f"failover {n + 1}: {times[-1]:.2f} s", flush=True)
        finally:
            cluster.down()
    report = {"failover_seconds": times, "failover_median_seconds": statistics.median(times), "throughput": rows}
    (out / "cluster-bench.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"Failover (SIGKILL of the leader -> first acks=all write acknowledged), {len(times)} runs: median "
             f"{statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s", "",
             "| case | messages | msgs/s | MB/s | ratio to RF=1 |", "|---|---|---|---|---|"]
    base = rows[-1]["mb_per_s"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['messages']:,} | {row['msgs_per_s']:,} | {row['mb_per_s']:.1f} | "
                     f"{row['mb_per_s'] / base:.2f} |")
    (out / "cluster-bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
