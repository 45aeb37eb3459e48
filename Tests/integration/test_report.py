"""`crucible report`: real bench and verify result directories rendered as one self-contained page that headless
Chromium (Debian's) renders with no console message and every chart drawn; bench directories compared run by run
with the gate's noise rule; bad input exits 2 naming it."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench_support import crucible, explain, results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(html: Path) -> tuple[str, list[str]]:
    """The DOM after Chromium loaded the page, and every console line it logged."""
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                           "--dump-dom", html.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def charts(dom: str) -> dict[str, int]:
    """Chart id -> points drawn, for every chart in the page."""
    found = re.findall(r'<svg class="chart" data-chart="([^"]+)" data-points="(\d+)"', dom)
    assert len(found) == len({name for name, _ in found}), "chart ids repeat"
    return {name: int(points) for name, points in found}


def expected_charts(bench_dir: Path, verify_dirs: list[Path]) -> int:
    """From the inputs alone: per bench run a rate chart, a latency chart when it recorded any latency, a failover
    timeline when it killed a leader, two broker charts when it scraped the brokers; one compression chart when some run used a codec; per verify directory a
    lost-writes chart, and per run a latency scatter, a throughput line and the brokers' partitions when it scraped them."""
    runs = [r for _, r in results(bench_dir)]
    count = len(runs) + sum(1 for r in runs if r["crucible"]["failovers"])
    for r in runs:  # the brokers' partitions over time, and their Produce time beside the client's latency
        nodes = (r["crucible"].get("brokerMetrics") or {}).get("nodes", {}).values()
        count += any(v is not None for n in nodes for v in n["underReplicatedPartitions"])
        count += bool(nodes) and (any(v is not None for n in nodes for part in n["produceTimeMs"].values() for v in part)
                                  or any(v > 0 for v in r["publishLatencyAvg"]))  # a log scale: zeros have no place
    count += sum(1 for r in runs if r["aggregatedPublishLatencyQuantiles"] or r["aggregatedEndToEndLatencyQuantiles"])
    count += 1 if any(r["crucible"]["compressionType"] != "none" for r in runs) else 0
    for directory in verify_dirs:
        count += 1
        for run in directory.rglob("run.json"):
            count += 2
            metrics = run.parent / "broker-metrics.json"   # the brokers' partitions, when any node answered a scrape
            nodes = json.loads(metrics.read_text())["nodes"].values() if metrics.exists() else []
            count += any(v is not None for n in nodes for v in n["underReplicatedPartitions"] + n["offlinePartitions"])
    return count


def test_the_console_check_sees_a_console_message(tmp_path):
    """The check below would pass on a page Chromium never ran: show it catches a planted console error."""
    page = tmp_path / "planted.html"
    page.write_text('<html><body><script>console.error("planted")</script></body></html>')
    _, console = render(page)
    assert any('"planted"' in line for line in console), console


@pytest.mark.timeout(2400)
def test_a_report_of_real_bench_and_verify_results_renders_every_chart(omb_set, verify_runs, tmp_path):
    _, bench_dir, completed = omb_set
    assert completed.returncode == 0, explain(completed)
    verify_dirs = [out for _, _, out in verify_runs.values()]
    page, summary = tmp_path / "report.html", tmp_path / "report.md"
    made = crucible("report", bench_dir, *verify_dirs, "--output", page, "--markdown", summary, timeout=300)
    assert made.returncode == 0, explain(made)
    html = page.read_text()
    # Self-contained: nothing fetched, nothing run.
    assert not re.search(r'<(script|link|img|iframe)\b|\bsrc=|url\(', html)

    dom, console = render(page)
    assert console == [], console
    drawn = charts(dom)
    assert len(drawn) == expected_charts(bench_dir, verify_dirs), sorted(drawn)
    assert all(points > 0 for points in drawn.values()), {k: v for k, v in drawn.items() if v == 0}
    # Verdict first, then the benchmark and every run of every scenario.
    assert dom.index('id="verdict"') < dom.index('id="bench-b0"') < dom.index('id="verify-v0"')
    for name, (_, run_dir, _) in verify_runs.items():
        assert name in dom
        view = run_dir / "history.html"
        assert view.exists() and f'href="{Path(os.path.relpath(view, tmp_path))}"' in dom, view
    # The scenario that expects loss shows its witnesses.
    assert "lost-write" in dom or "inconsistent-offsets" in dom

    markdown = summary.read_text()
    for name in verify_runs:
        assert f"| {name} |" in markdown, markdown
    assert f"{len(results(bench_dir))} run(s)" in markdown


@pytest.mark.timeout(1800)
def test_two_bench_directories_are_compared_and_a_regression_called_out(omb_set, tmp_path):
    """Runs of one workload and driver in a directory are repetitions. One run's throughput halves in every period
    of three repetitions: called out. The same run repeated once a side only: shown, not judged. (The periods are
    set steady at the run's target, so the change, not a short debug run's own wobble, is what is compared.)"""
    _, bench_dir, _ = omb_set
    path, found = next((p, r) for p, r in results(bench_dir) if r["crucible"]["targetRate"] > 0)
    target = found["crucible"]["targetRate"]
    original = {**found, "publishRate": [target] * 3}
    slowed = {**found, "publishRate": [target / 2] * 3}
    baseline, candidate, single = tmp_path / "baseline", tmp_path / "candidate", tmp_path / "single"
    for directory, content, repeats in ((baseline, original, 3), (candidate, slowed, 3), (single, slowed, 1)):
        shutil.copytree(bench_dir, directory)
        for n in range(repeats):
            (directory / path.name.replace(".json", f"-{n}.json" if n else ".json")).write_text(json.dumps(content))

    page, summary = tmp_path / "compare.html", tmp_path / "compare.md"
    made = crucible("report", baseline, candidate, single, "--output", page, "--markdown", summary, timeout=300)
    assert made.returncode == 0, explain(made)
    dom, console = render(page)
    assert console == []
    comparison = dom.split('id="comparison"', 1)[1].split("</section>", 1)[0]
    against_candidate, against_single = comparison.split(f"<h3>{single}</h3>")
    assert re.findall(r'<tr class="bad"><td class="text">([^<]+)</td>', against_candidate) == ["publishRate.toTarget (ratio)"]
    identity = f'{original["workload"]} with {Path(original["crucible"]["driverFile"]).stem}'
    assert "too few runs to judge" not in against_candidate.split(f"<h4>{identity}</h4>", 1)[1].split("<h4>", 1)[0]
    assert not re.search(r'<tr class="bad">', against_single) and "too few runs to judge" in against_single
    markdown = summary.read_text()
    assert f"`{candidate}` has 1 regression(s)" in markdown and f"`{single}` has 0 regression(s)" in markdown, markdown


@pytest.mark.timeout(2400)
def test_bad_input_exits_2_naming_it(omb_set, verify_runs, tmp_path):
    _, bench_dir, _ = omb_set
    out = tmp_path / "r.html"

    def refused(*args) -> str:
        done = crucible("report", *args)
        assert done.returncode == 2, explain(done)
        assert not out.exists()
        return done.stderr.strip().splitlines()[-1]

    assert "missing" in refused(tmp_path / "missing", "--output", out)
    assert "--output" in refused(bench_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert str(empty) in refused(empty, "--output", out)
    # Malformed JSON: the file is named.
    broken = tmp_path / "broken"
    shutil.copytree(bench_dir, broken)
    victim = results(broken)[0][0]
    victim.write_text(victim.read_text()[:200])
    assert victim.name in refused(broken, "--output", out)
    # A verify run whose run.json is cut short: named too.
    _, run_dir, _ = verify_runs["safe-kill"]
    cut = tmp_path / "cut-verify" / run_dir.name
    shutil.copytree(run_dir, cut)
    (cut / "run.json").write_text((run_dir / "run.json").read_text()[:40])
    assert str(cut / "run.json") in refused(cut.parent, "--output", out)
    # ... or whose brokers' series are not JSON, or have no nodes.
    (cut / "run.json").write_text((run_dir / "run.json").read_text())
    for broken_series in ("{\"nodes\": ", "{\"periodSeconds\": 1}"):
        (cut / "broker-metrics.json").write_text(broken_series)
        assert str(cut / "broker-metrics.json") in refused(cut.parent, "--output", out)
    # A result from a different workload: nothing to compare against the first directory.
    other = tmp_path / "other"
    other.mkdir()
    first_path, first = results(bench_dir)[0]
    first["workload"] = "a workload the baseline never ran"
    (other / first_path.name).write_text(json.dumps(first))
    line = refused(bench_dir, other, "--output", out)
    assert str(other) in line and "shares no workload" in line, line
