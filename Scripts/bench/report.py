"""Turns the benchmark's measurements into bench.json (machines) and bench.md (people), with every rate also
given as a ratio to the limits measured in the same run."""
import argparse
import json
import os
import platform
from pathlib import Path

TARGETS = {
    ("produce", 1024): ("ratio_to_loopback", 0.25, "1 KiB produce >= 25% of loopback bandwidth"),
    ("produce", 100): ("msgs_per_s", 1_000_000, "100 B produce >= 1M msgs/s"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--loopback-mbs", type=float, required=True)
    parser.add_argument("--disk-mbs", type=float, required=True)
    parser.add_argument("--rss-peak-kb", type=int, required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line.strip()]
    for row in rows:
        row["ratio_to_loopback"] = round(row["mb_per_s"] / args.loopback_mbs, 3)
        row["ratio_to_disk"] = round(row["mb_per_s"] / args.disk_mbs, 3)
    produce = {r["message_bytes"]: r for r in rows if r["direction"] == "produce"}
    for r in rows:
        if r["direction"] == "consume" and r["message_bytes"] in produce:
            r["ratio_to_produce"] = round(r["msgs_per_s"] / max(1, produce[r["message_bytes"]]["msgs_per_s"]), 2)
    report = {
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "calibration": {"loopback_mb_per_s": args.loopback_mbs, "disk_write_mb_per_s": args.disk_mbs},
        "broker_rss_peak_mb": round(args.rss_peak_kb / 1024, 1),
        "results": rows,
    }
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"Loopback (iperf3): {args.loopback_mbs} MB/s; disk write (dd, fdatasync): {args.disk_mbs} MB/s; "
        f"broker peak RSS: {report['broker_rss_peak_mb']} MB; {os.cpu_count()} cores.",
        "",
        "| direction | message | messages | msgs/s | MB/s | / loopback | / disk | consume / produce "
        "| broker CPU µs/msg | broker CPU ms | client CPU ms | wall ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['direction']} | {r['message_bytes']} B | {r['messages']:,} | {r['msgs_per_s']:,} | "
                     f"{r['mb_per_s']:.1f} | {r['ratio_to_loopback']:.3f} | {r['ratio_to_disk']:.3f} | "
                     f"{r.get('ratio_to_produce', '')} | {r.get('broker_cpu_us_per_msg', '')} | "
                     f"{r.get('broker_cpu_ms', '')} | {r.get('client_cpu_ms', '')} | {r['elapsed_ms']} |")
    lines.append("")
    for (direction, size), (field, target, text) in TARGETS.items():
        row = next((r for r in rows if r["direction"] == direction and r["message_bytes"] == size), None)
        if row:
            verdict = "met" if row[field] >= target else "not met"
            lines.append(f"- target {text}: {row[field]:,} -> {verdict}")
    for size, prod in produce.items():
        cons = next((r for r in rows if r["direction"] == "consume" and r["message_bytes"] == size), None)
        if cons:
            verdict = "met" if cons["msgs_per_s"] >= 2 * prod["msgs_per_s"] else "not met"
            lines.append(f"- target consume >= 2x produce ({size} B): {cons.get('ratio_to_produce')}x -> {verdict}")
    rss_verdict = "met" if report["broker_rss_peak_mb"] < 200 else "not met"
    lines.append(f"- target broker RSS < 200 MB: {report['broker_rss_peak_mb']} MB -> {rss_verdict}")
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out / 'bench.json'}, {out / 'bench.md'}")


if __name__ == "__main__":
    main()
