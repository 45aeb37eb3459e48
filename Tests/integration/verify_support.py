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
    return subprocess.run([crucible_binary(), "verify", *map(str, args)], capture_output=True, text=True, timeout=timeout)
