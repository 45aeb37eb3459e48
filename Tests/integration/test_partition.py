"""A network partition is real: each node on a host of its own (a network namespace on a bridge), nftables rules
cutting one off. While isolated it reaches none of the others, the cluster elects around it, and healing brings
it back into the ISR. Needs root, `ip` and `nft` (Scripts/setup.sh installs them)."""
import os
import shutil
import subprocess

import pytest

from cluster import Cluster, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
                                reason="network namespaces and nftables need root, ip and nft")


def reaches(namespace: str, address: str) -> bool:
    """Whether a TCP connection from inside `namespace` to host:port succeeds within a second."""
    host, port = address.rsplit(":", 1)
    probe = f"import socket; socket.create_connection(({host!r}, {port}), 1).close()"
    return subprocess.run(["ip", "netns", "exec", namespace, "python3", "-c", probe],
                          capture_output=True, timeout=10).returncode == 0


def datagrams_through(sender_ns: str, receiver_ns: str, host: str, count: int = 400) -> int:
    """How many of `count` UDP datagrams sent from one namespace arrive at `host` in another."""
    receive = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
               f"s.bind(({host!r}, 39999)); s.settimeout(2); print('ready', flush=True); n = 0\n"
               "try:\n    while True: s.recv(64); n += 1\nexcept socket.timeout: print(n)")
    receiver = subprocess.Popen(["ip", "netns", "exec", receiver_ns, "python3", "-c", receive],
                                stdout=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    send = (f"import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"for i in range({count}): s.sendto(b'x', ({host!r}, 39999)); time.sleep(0.001)")
    subprocess.run(["ip", "netns", "exec", sender_ns, "python3", "-c", send], check=True, timeout=30)
    out, _ = receiver.communicate(timeout=30)
    return int(out.strip())


@pytest.mark.timeout(300)
def test_an_isolated_node_reaches_nobody_is_elected_around_and_rejoins_after_healing(tmp_path):
    cluster = Cluster(tmp_path / "cluster", nodes=3, overrides={"replica.lag.time.max.ms": "3000"},
                      network_namespaces=True)
    cluster.up()
    try:
        nodes = {n["id"]: n for n in cluster.status()["nodes"]}
        assert all(n["namespace"] and not n["address"].startswith("127.") for n in nodes.values()), nodes
        created = cluster.crucible("topics", "--bootstrap-server", cluster.bootstrap, "--create", "--topic", "cut",
                                   "--partitions", "1", "--replication-factor", "3")
        assert created.returncode == 0, created.stderr
        leader, replicas, isr = wait_for(lambda: (p := cluster.partition("cut")) and len(p[2]) == 3 and p,
                                         30, "a full ISR")
        others = [i for i in nodes if i != leader]
        controller = lambda i: nodes[i]["address"].rsplit(":", 1)[0] + f":{cluster.base_port + 100 + i - 1}"
        assert all(reaches(nodes[leader]["namespace"], nodes[i]["address"]) for i in others), "before the cut"

        cut = cluster.crucible("cluster", "partition", "--dir", str(cluster.directory), "--isolate", str(leader))
        assert cut.returncode == 0, cut.stderr
        # Isolated both ways, client and controller ports alike; the others still reach each other.
        for i in others:
            assert not reaches(nodes[leader]["namespace"], nodes[i]["address"])
            assert not reaches(nodes[leader]["namespace"], controller(i))
            assert not reaches(nodes[i]["namespace"], nodes[leader]["address"])
        assert reaches(nodes[others[0]]["namespace"], nodes[others[1]]["address"])
        # The majority elects around it: a new leader, the isolated node out of the ISR.
        majority = ",".join(nodes[i]["address"] for i in others)
        new_leader, _, new_isr = wait_for(lambda: (p := cluster.partition("cut", via=majority))
                                          and p[0] in others and leader not in p[2] and p, 60,
                                          "a leader elected around the isolated node")
        assert new_leader != leader and sorted(new_isr) == sorted(others)

        healed = cluster.crucible("cluster", "heal", "--dir", str(cluster.directory))
        assert healed.returncode == 0, healed.stderr
        assert all(reaches(nodes[leader]["namespace"], nodes[i]["address"]) for i in others)
        wait_for(lambda: leader in cluster.partition("cut", via=majority)[2], 60, "the healed node back in the ISR")

        # A lossy link drops about the share asked for, at random, and only across the cut.
        host = lambda i: nodes[i]["address"].rsplit(":", 1)[0]
        assert datagrams_through(nodes[others[0]]["namespace"], nodes[leader]["namespace"], host(leader)) == 400
        lossy = cluster.crucible("cluster", "partition", "--dir", str(cluster.directory), "--isolate", str(leader),
                                 "--loss", "50")
        assert lossy.returncode == 0, lossy.stderr
        arrived = datagrams_through(nodes[others[0]]["namespace"], nodes[leader]["namespace"], host(leader))
        assert 80 <= arrived <= 320, f"{arrived} of 400 arrived through a 50% lossy link"
        assert datagrams_through(nodes[others[0]]["namespace"], nodes[others[1]]["namespace"], host(others[1])) == 400
        assert cluster.crucible("cluster", "heal", "--dir", str(cluster.directory)).returncode == 0
        bad = cluster.crucible("cluster", "partition", "--dir", str(cluster.directory), "--isolate", str(leader),
                               "--loss", "100")
        assert bad.returncode == 2 and "--loss" in bad.stderr, bad.stderr
    finally:
        cluster.down()
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n["namespace"] in namespaces for n in nodes.values()), namespaces


def test_partition_needs_a_cluster_with_hosts_of_its_own(tmp_path):
    cluster = Cluster(tmp_path / "cluster", nodes=1)
    cluster.up()
    try:
        refused = cluster.crucible("cluster", "partition", "--dir", str(cluster.directory), "--isolate", "1")
        assert refused.returncode == 2 and "--network-namespaces" in refused.stderr, refused.stderr
    finally:
        cluster.down()
