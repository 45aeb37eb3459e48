"""What the verify tests and the report tests share: the shipped scenarios, their short forms, the command."""
import subprocess

from conftest import ROOT, crucible_binary

SCENARIOS = ROOT / "Workloads" / "verify"
# Short forms: the random-nemesis scenarios for 15 s; the scheduled ones need their whole 30 s (the old leader
# comes back at second 20).
SHORT = {"safe-kill": 15, "safe-pause": 15, "safe-subscribe": 15, "safe-clock": 15, "acks1-leader-kill": 15,
         "safe-partition": 20, "safe-disk": 15, "safe-leader-isolation": 25, "unclean-election-loses-writes": 30,
         "clean-election-keeps-writes": 30, "safe-lagging-follower": 20, "safe-leader-return": 25, "safe-crash-all": 25,
         "safe-rejoining-follower": 25, "txn-kill": 15, "txn-pause": 15, "txn-partition": 20}


def verify(*args, timeout=900) -> subprocess.CompletedProcess:
    """Runs `crucible verify`. Past `timeout` it gets SIGTERM (which takes its local cluster down with it) and
    what it said so far comes back with a note, so one stuck run fails the tests that read it and no others."""
    command = [crucible_binary(), "verify", *map(str, args)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        err += f"\n[test] crucible verify had not finished after {timeout} s: stopped (exit {process.returncode})\n"
    return subprocess.CompletedProcess(command, process.returncode, out, err)
