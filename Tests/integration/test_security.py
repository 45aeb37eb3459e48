"""Security with real clients: TLS listeners (client, inter-broker and controller traffic alike), SASL SCRAM and
PLAIN, credentials managed with the tools, and the refusals a Kafka client expects: wrong password, unknown user,
expired session, plaintext on a TLS port. After each refusal the cluster goes on serving everyone else."""
import json
import logging
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError as KafkaPythonError

from bench_support import QUICK, bench, explain, only_result, workload_text, write_yaml
from cluster import Cluster, wait_for
from conftest import crucible_binary, unique_topic
from kafka_wire import (list_offsets_v2, list_offsets_v2_offset, metadata_v1, parse_sasl_authenticate_v1,
                        parse_sasl_handshake_v1, read_frame, request, sasl_authenticate_v1, sasl_handshake_v1, scram_login,
                        write_txn_markers_v0, write_txn_markers_v0_errors)
from verify_support import SCENARIOS, verify

REAUTH_MS = 3000
SASL_AUTHENTICATION_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33


def crucible(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([crucible_binary(), *args], capture_output=True, text=True, input=stdin, timeout=120)


@pytest.fixture(scope="module")
def sasl_cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("sasl"), security="sasl_ssl",
                      overrides={"connections.max.reauth.ms": str(REAUTH_MS)})
    cluster.up()
    cluster.config = str(cluster.directory / "client.properties")
    # alice is made through the tool, over the admin's own SASL_SSL connection (salted before it is sent).
    made = crucible("configs", "--bootstrap-server", cluster.bootstrap, "--command-config", cluster.config, "--alter",
                    "--entity-type", "users", "--entity-name", "alice",
                    "--add-config", "SCRAM-SHA-512=[iterations=8192,password=alice-secret],SCRAM-SHA-256=[password=alice-secret]")
    assert made.returncode == 0, made.stderr
    # The cluster enforces ACLs (authorizer.class.name): alice may do anything; test_an_acl_matrix... grants piecemeal.
    granted = crucible("acls", "--bootstrap-server", cluster.bootstrap, "--command-config", cluster.config, "--add",
                       "--allow-principal", "User:alice", "--operation", "All", "--topic", "*", "--group", "*",
                       "--transactional-id", "*")
    assert granted.returncode == 0, granted.stderr
    yield cluster
    cluster.down()


@pytest.fixture(scope="module")
def ssl_cluster(tmp_path_factory):
    # Certificates name principals through ssl.principal.mapping.rules: the admin's subject becomes User:admin, the
    # only form of it among the super users, so every admin request these tests make shows the rule applied.
    nodes = ";".join(f"User:CN=node-{n},O=Crucible" for n in (1, 2, 3))
    cluster = Cluster(tmp_path_factory.mktemp("ssl"), security="ssl",
                      overrides={"ssl.principal.mapping.rules": "RULE:^CN=(admin),O=Crucible$/$1/L,DEFAULT",
                                 "super.users": f"User:admin;{nodes}",
                                 # On the controller listener the admin's certificate names someone else.
                                 "listener.name.controller.ssl.principal.mapping.rules": "RULE:^CN=(admin),O=Crucible$/outsider/,DEFAULT"})
    cluster.up()
    cluster.config = str(cluster.directory / "client.properties")
    yield cluster
    cluster.down()


def librdkafka_settings(cluster, **extra) -> dict:
    settings = {"bootstrap.servers": cluster.bootstrap, **cluster.client_properties(), **extra}
    settings.pop("sasl.mechanism", None)
    settings["sasl.mechanisms"] = extra.get("sasl.mechanisms", cluster.client_properties().get("sasl.mechanism", "GSSAPI"))
    if cluster.security == "ssl":
        settings.pop("sasl.mechanisms")
    return settings


def alice(cluster, mechanism: str = "SCRAM-SHA-512", password: str = "alice-secret", user: str = "alice") -> dict:
    return librdkafka_settings(cluster, **{"sasl.username": user, "sasl.password": password, "sasl.mechanisms": mechanism})


def produce_and_read_back(producer_settings: dict, consumer_settings: dict, topic: str, count: int = 20):
    producer = Producer(producer_settings)
    for i in range(count):
        producer.produce(topic, key=b"k%d" % i, value=b"v%d" % i)
    assert producer.flush(30) == 0
    consumer = Consumer({**consumer_settings, "group.id": unique_topic("g"), "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            got.append(message.value())
    consumer.close()
    assert got == [b"v%d" % i for i in range(count)]


def create_rf3_topic(cluster, topic: str):
    made = crucible("topics", "--bootstrap-server", cluster.bootstrap, "--command-config", str(cluster.directory / "client.properties"),
                    "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "3")
    assert made.returncode == 0, made.stderr


def isr(cluster, settings: dict, topic: str) -> list[int]:
    admin = AdminClient(settings)
    return sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions[0].isrs)


def refused_login(settings: dict) -> str:
    """What librdkafka reports when the broker refuses its login: an _AUTHENTICATION error naming the reason."""
    errors = []
    admin = AdminClient({**settings, "error_cb": errors.append})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=3)
    admin.poll(1)  # error_cb runs from poll
    refusals = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert refusals, errors
    return refusals[0].str()


def kafka_python_refused(caplog, **settings) -> str:
    """kafka-python gives up bootstrapping (a timeout) and logs why each attempt failed: that reason is returned."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kafka"):
        with pytest.raises(KafkaPythonError):
            KafkaProducer(bootstrap_timeout_ms=3000, **settings)
    return caplog.text


def tls_socket(cluster, port: int | None = None) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(cluster.directory / "security" / "ca.pem"))
    raw = socket.create_connection(("127.0.0.1", port or cluster.port(1)), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def plain_login(sock, user: str, password: str) -> tuple[int, str | None, int]:
    sock.sendall(sasl_handshake_v1("PLAIN"))
    error, _ = parse_sasl_handshake_v1(read_frame(sock))
    assert error == 0
    sock.sendall(sasl_authenticate_v1(b"\0" + user.encode() + b"\0" + password.encode()))
    error, message, _, lifetime = parse_sasl_authenticate_v1(read_frame(sock))
    return error, message, lifetime


# --- SASL_SSL with SCRAM-SHA-512 -------------------------------------------------------------------------------


def test_kcat_confluent_kafka_and_kafka_python_over_sasl_ssl_with_scram_sha_512(sasl_cluster, tmp_path):
    topic = unique_topic("scram")
    create_rf3_topic(sasl_cluster, topic)
    # kcat, as alice, with the CA it is given.
    kcat = ["-b", sasl_cluster.bootstrap, "-X", "security.protocol=SASL_SSL", "-X",
            f"ssl.ca.location={sasl_cluster.directory}/security/ca.pem", "-X", "sasl.mechanisms=SCRAM-SHA-512",
            "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"]
    sent = subprocess.run(["kcat", *kcat, "-P", "-t", topic], input="kcat-1\nkcat-2\n", capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    # confluent-kafka, as alice.
    producer = Producer(alice(sasl_cluster))
    producer.produce(topic, value=b"confluent-1")
    assert producer.flush(30) == 0
    # kafka-python, as alice.
    kp = KafkaProducer(bootstrap_servers=sasl_cluster.bootstrap, security_protocol="SASL_SSL",
                       ssl_cafile=f"{sasl_cluster.directory}/security/ca.pem", sasl_mechanism="SCRAM-SHA-512",
                       sasl_plain_username="alice", sasl_plain_password="alice-secret")
    kp.send(topic, b"kafka-python-1").get(30)
    kp.close()
    expected = [b"kcat-1", b"kcat-2", b"confluent-1", b"kafka-python-1"]
    kc = KafkaConsumer(topic, bootstrap_servers=sasl_cluster.bootstrap, security_protocol="SASL_SSL",
                       ssl_cafile=f"{sasl_cluster.directory}/security/ca.pem", sasl_mechanism="SCRAM-SHA-512",
                       sasl_plain_username="alice", sasl_plain_password="alice-secret",
                       auto_offset_reset="earliest", consumer_timeout_ms=15000)
    got = []
    for message in kc:
        got.append(message.value)
        if len(got) == len(expected):
            break
    kc.close()
    assert got == expected
    read = subprocess.run(["kcat", *kcat, "-C", "-t", topic, "-e", "-q"], capture_output=True, text=True, timeout=60)
    assert read.stdout.split() == [v.decode() for v in expected], read.stderr
    # Every replica is in sync: the followers fetched over the SASL_SSL inter-broker listener.
    wait_for(lambda: isr(sasl_cluster, alice(sasl_cluster), topic) == [1, 2, 3], 30, "all three replicas in sync")
    # SCRAM-SHA-256 and PLAIN (checked against the salted SCRAM credential) work too.
    produce_and_read_back(alice(sasl_cluster, "SCRAM-SHA-256"), alice(sasl_cluster, "PLAIN"), unique_topic("mech"))


def test_wrong_passwords_unknown_users_and_unknown_mechanisms_are_refused_and_disturb_nothing(sasl_cluster, caplog):
    topic = unique_topic("steady")
    create_rf3_topic(sasl_cluster, topic)
    steady = Producer(alice(sasl_cluster))  # connected before the refusals, still serving after them
    steady.produce(topic, value=b"before")
    assert steady.flush(30) == 0
    for settings in (alice(sasl_cluster, password="wrong"), alice(sasl_cluster, user="mallory"),
                     alice(sasl_cluster, mechanism="PLAIN", password="wrong")):
        assert "Authentication failed" in refused_login(settings)
    assert "SaslAuthenticationFailedError" in kafka_python_refused(
        caplog, bootstrap_servers=sasl_cluster.bootstrap, security_protocol="SASL_SSL",
        ssl_cafile=f"{sasl_cluster.directory}/security/ca.pem", sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="alice", sasl_plain_password="wrong")
    # On the wire: Kafka's error code and message, then the connection closes.
    with tls_socket(sasl_cluster) as sock:
        error, message, _ = plain_login(sock, "alice", "wrong")
        assert error == SASL_AUTHENTICATION_FAILED and "Invalid username or password" in message
        assert read_frame(sock) is None
    # Handshake v0 (clients before SaslAuthenticate): the tokens follow bare; a good one is answered bare, a bad
    # one closes the connection.
    for password, served in (("alice-secret", True), ("wrong", False)):
        with tls_socket(sasl_cluster) as sock:
            sock.sendall(request(17, 0, 1, struct.pack(">h", 5) + b"PLAIN"))
            assert parse_sasl_handshake_v1(read_frame(sock))[0] == 0
            token = b"\0alice\0" + password.encode()
            sock.sendall(struct.pack(">i", len(token)) + token)
            answer = read_frame(sock)
            assert (answer == b"") if served else (answer is None)
            if served:
                sock.sendall(request(3, 1, 9, metadata_v1(None)))
                assert read_frame(sock) is not None
    with tls_socket(sasl_cluster) as sock:
        sock.sendall(sasl_handshake_v1("GSSAPI"))
        error, mechanisms = parse_sasl_handshake_v1(read_frame(sock))
        assert error == UNSUPPORTED_SASL_MECHANISM and set(mechanisms) == {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}
        assert read_frame(sock) is None
    # Nothing but ApiVersions and the handshake before authentication: a Metadata request closes the connection.
    with tls_socket(sasl_cluster) as sock:
        sock.sendall(request(3, 1, 9, metadata_v1(None)))
        assert read_frame(sock) is None
    steady.produce(topic, value=b"after")
    assert steady.flush(30) == 0
    produce_and_read_back(alice(sasl_cluster), alice(sasl_cluster), unique_topic("still"))


def test_a_plaintext_client_on_a_tls_port_gets_no_kafka_answer(sasl_cluster):
    with socket.create_connection(("127.0.0.1", sasl_cluster.port(1)), timeout=10) as sock:
        sock.sendall(request(18, 0, 7, b""))  # ApiVersions v0 in the clear
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    # What comes back, if anything, is a TLS alert record (content type 21), never a Kafka response.
    assert answer == b"" or answer[0] == 21, answer[:16]
    with pytest.raises(KafkaException):
        AdminClient({"bootstrap.servers": sasl_cluster.bootstrap, "socket.timeout.ms": 3000}).list_topics(timeout=3)
    produce_and_read_back(alice(sasl_cluster), alice(sasl_cluster), unique_topic("after-plain"))


def test_sessions_expire_after_connections_max_reauth_ms_unless_renewed(sasl_cluster):
    # A session lives REAUTH_MS: the broker says so, and a request after that closes the connection.
    with tls_socket(sasl_cluster) as sock:
        # The broker's clock for the session starts when it authenticates, between these two instants.
        before_login = time.monotonic()
        error, _, lifetime = plain_login(sock, "alice", "alice-secret")
        assert error == 0 and lifetime == REAUTH_MS
        authenticated_at = time.monotonic()
        sock.sendall(request(3, 1, 9, metadata_v1(None)))
        assert read_frame(sock) is not None  # served while the session holds
        correlation = 100
        while True:
            correlation += 1
            sock.sendall(request(3, 1, correlation, metadata_v1([])))
            if read_frame(sock) is None:
                break
            assert time.monotonic() - authenticated_at < REAUTH_MS / 1000 + 5, "the expired session was still served"
            time.sleep(0.2)
        assert time.monotonic() - before_login >= REAUTH_MS / 1000
    # librdkafka re-authenticates (KIP-368) on its connections and keeps producing across several lifetimes.
    topic = unique_topic("reauth")
    producer = Producer({**alice(sasl_cluster), "acks": "all"})
    failures = []
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < 3 * REAUTH_MS / 1000:
        producer.produce(topic, value=b"%d" % sent, on_delivery=lambda err, msg: err and failures.append(err))
        sent += 1
        producer.poll(0.1)
    assert producer.flush(30) == 0
    assert failures == []
    consumer = Consumer({**alice(sasl_cluster), "group.id": unique_topic("g")})
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.close()
    assert high - low == sent


def test_tools_take_a_command_config_and_refuse_a_bad_one_with_exit_2(sasl_cluster, tmp_path):
    config = str(sasl_cluster.directory / "client.properties")
    topic = unique_topic("tool")
    listed = crucible("topics", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", config, "--list")
    assert listed.returncode == 0, listed.stderr
    sent = crucible("console-producer", "--bootstrap-server", sasl_cluster.bootstrap, "--topic", topic,
                    "--producer.config", config, stdin="one\ntwo\n")
    assert sent.returncode == 0, sent.stderr
    read = crucible("console-consumer", "--bootstrap-server", sasl_cluster.bootstrap, "--topic", topic, "--consumer.config",
                    config, "--from-beginning", "--max-messages", "2")
    assert read.returncode == 0 and read.stdout.split() == ["one", "two"], read.stderr
    described = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", config, "--describe",
                         "--entity-type", "users", "--entity-name", "alice")
    assert "SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192" in described.stdout, described.stdout + described.stderr
    # The nodes' JAAS lines (the inter-broker password) are sensitive: described as null, never sent.
    password = sasl_cluster.client_properties()["sasl.password"]
    configs = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", config, "--describe",
                       "--all", "--entity-type", "brokers", "--entity-name", "1")
    assert configs.returncode == 0 and "sasl.jaas.config=null sensitive=true" in configs.stdout, configs.stdout[-2000:]
    assert password not in configs.stdout
    # Refusals: too few iterations from the broker's rules is exit 2 before sending; a bad file or setting is exit 2.
    low = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", config, "--alter",
                   "--entity-type", "users", "--entity-name", "bob", "--add-config", "SCRAM-SHA-512=[iterations=10,password=x]")
    assert low.returncode == 2 and "iterations" in low.stderr
    missing = crucible("topics", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", str(tmp_path / "nope"), "--list")
    assert missing.returncode == 2 and "nope" in missing.stderr
    bad = tmp_path / "bad.properties"
    bad.write_text("security.protocol=SASL_SSLX\n")
    refused = crucible("topics", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", str(bad), "--list")
    assert refused.returncode == 2 and "security.protocol" in refused.stderr
    wrong = tmp_path / "wrong.properties"
    wrong.write_text((sasl_cluster.directory / "client.properties").read_text().replace("sasl.password=", "sasl.password=x"))
    denied = crucible("topics", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", str(wrong), "--list")
    assert denied.returncode == 1 and "SASL_AUTHENTICATION_FAILED" in denied.stderr
    # kafka-acls.sh's usage errors are exit 2, naming the flag.
    for args, flag in ((["--add", "--allow-principal", "User:x", "--operation", "Bogus", "--topic", "t"], "--operation"),
                       (["--add", "--allow-principal", "alice", "--topic", "t"], "--allow-principal"),
                       (["--add", "--allow-principal", "User:x"], "--add"),
                       (["--add", "--list", "--topic", "t"], "--list"),
                       (["--add", "--allow-principal", "User:x", "--topic", "t", "--resource-pattern-type", "match"],
                        "--resource-pattern-type")):
        bad = crucible("acls", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", config, *args)
        assert bad.returncode == 2 and flag in bad.stderr, (args, bad.stderr)
    # A removed credential no longer logs in.
    removed = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", config, "--alter",
                       "--entity-type", "users", "--entity-name", "alice", "--delete-config", "SCRAM-SHA-256")
    assert removed.returncode == 0, removed.stderr
    assert "invalid credentials" in refused_login(alice(sasl_cluster, "SCRAM-SHA-256"))
    AdminClient(alice(sasl_cluster)).list_topics(timeout=10)


# --- SSL with client certificates --------------------------------------------------------------------------------


def test_kcat_confluent_kafka_and_kafka_python_over_ssl_with_client_certificates(ssl_cluster, caplog):
    security = ssl_cluster.directory / "security"
    topic = unique_topic("tls")
    create_rf3_topic(ssl_cluster, topic)
    kcat = ["-b", ssl_cluster.bootstrap, "-F", str(ssl_cluster.directory / "client.properties")]
    sent = subprocess.run(["kcat", *kcat, "-P", "-t", topic], input="kcat-1\n", capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    producer = Producer(librdkafka_settings(ssl_cluster))
    producer.produce(topic, value=b"confluent-1")
    assert producer.flush(30) == 0
    kp = KafkaProducer(bootstrap_servers=ssl_cluster.bootstrap, security_protocol="SSL", ssl_cafile=f"{security}/ca.pem",
                       ssl_certfile=f"{security}/client.pem", ssl_keyfile=f"{security}/client-key.pem")
    kp.send(topic, b"kafka-python-1").get(30)
    kp.close()
    read = subprocess.run(["kcat", *kcat, "-C", "-t", topic, "-e", "-q"], capture_output=True, text=True, timeout=60)
    assert read.stdout.split() == ["kcat-1", "confluent-1", "kafka-python-1"], read.stderr
    wait_for(lambda: isr(ssl_cluster, librdkafka_settings(ssl_cluster), topic) == [1, 2, 3], 30, "all three replicas in sync")
    # Without a client certificate the TLS handshake itself is refused; with one the cluster still serves.
    no_certificate = {"bootstrap.servers": ssl_cluster.bootstrap, "security.protocol": "SSL",
                      "ssl.ca.location": f"{security}/ca.pem", "socket.timeout.ms": 3000}
    with pytest.raises(KafkaException):
        AdminClient(no_certificate).list_topics(timeout=3)
    assert "certificate required" in kafka_python_refused(
        caplog, bootstrap_servers=ssl_cluster.bootstrap, security_protocol="SSL", ssl_cafile=f"{security}/ca.pem")
    produce_and_read_back(librdkafka_settings(ssl_cluster), librdkafka_settings(ssl_cluster), unique_topic("after"))


def test_the_controller_listener_serves_only_the_nodes(ssl_cluster):
    """With an authorizer, the controller listener admits principals with CLUSTER_ACTION (the nodes): another
    certificate from the same authority gets ApiVersions and then a closed connection, nothing else."""
    security = ssl_cluster.directory / "security"
    layout = json.loads((ssl_cluster.directory / "cluster.json").read_text())
    port = layout["nodes"][0]["controllerPort"]
    # DescribeQuorum v0 is flexible: header v2 (tagged fields after the client id), compact arrays and strings.
    name = b"__cluster_metadata"
    body = bytes([2, len(name) + 1]) + name + bytes([2]) + struct.pack(">i", 0) + bytes([0, 0, 0])
    header = struct.pack(">hhih", 55, 0, 2, 4) + b"test" + bytes([0])
    describe_quorum = struct.pack(">i", len(header) + len(body)) + header + body

    def ask(certificate: Path, key: Path | None) -> bytes | None:
        context = ssl.create_default_context(cafile=str(security / "ca.pem"))
        context.load_cert_chain(str(certificate), str(key) if key else None)
        with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1") as sock:
            sock.sendall(request(18, 0, 1, b""))
            assert read_frame(sock) is not None  # ApiVersions: answered to anyone who got through TLS
            sock.sendall(describe_quorum)
            return read_frame(sock)
    answered = ask(security / "node-2.pem", None)
    # Correlation id, the response header's tagged fields, then the error code.
    assert answered is not None and struct.unpack(">h", answered[5:7])[0] == 0
    assert ask(security / "client.pem", security / "client-key.pem") is None
    # DESCRIBE on the cluster is what DescribeQuorum asks of anyone else (Kafka's quorum tool for an operator).
    acls(ssl_cluster, "--add", "--allow-principal", "User:outsider", "--operation", "Describe", "--cluster")
    try:
        answered = ask(security / "client.pem", security / "client-key.pem")
        assert answered is not None and struct.unpack(">h", answered[5:7])[0] == 0
    finally:
        acls(ssl_cluster, "--remove", "--force", "--allow-principal", "User:outsider", "--operation", "Describe", "--cluster")
    assert ask(security / "client.pem", security / "client-key.pem") is None
    # The cluster is unharmed: the admin, on the client listener, still gets its answers.
    assert crucible("topics", "--bootstrap-server", ssl_cluster.bootstrap, "--command-config",
                    str(ssl_cluster.directory / "client.properties"), "--list").returncode == 0


def test_a_node_with_bad_security_settings_refuses_to_start_naming_the_key(tmp_path):
    base = ["node.id=1", "process.roles=broker,controller", "controller.listener.names=CONTROLLER",
            "listeners=SSL://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093", "controller.quorum.voters=1@127.0.0.1:39093",
            f"log.dirs={tmp_path}/data"]
    cases = {
        "ssl.keystore.location": ["listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT"],
        "listener.security.protocol.map": ["listener.security.protocol.map=SSL:SSL"],
        "ssl.enabled.protocols": ["listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT", "ssl.enabled.protocols=TLSv1"],
        "sasl.enabled.mechanisms": ["listeners=SASL_PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093",
                                    "sasl.enabled.mechanisms=GSSAPI"],
        "sasl.jaas.config": ["listeners=SASL_PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093",
                             "sasl.jaas.config=NoLoginModuleFlag"],
        "ssl.principal.mapping.rules": ["listeners=SASL_PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093",
                                        "ssl.principal.mapping.rules=RULE:^CN=(.*)$/$1"],
    }
    for number, (key, lines) in enumerate(cases.items()):
        config = tmp_path / f"case-{number}.properties"
        config.write_text("\n".join(base + lines) + "\n")
        started = crucible("broker", "--config", str(config), "--standalone")
        assert started.returncode == 2 and f"invalid value for {key}" in started.stderr, (key, started.stderr)


# --- ACLs ------------------------------------------------------------------------------------------------------


def acls(cluster, *args: str) -> str:
    done = crucible("acls", "--bootstrap-server", cluster.bootstrap, "--command-config", cluster.config, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def admin_error(future) -> int:
    with pytest.raises(KafkaException) as refused:
        future.result(timeout=30)
    return refused.value.args[0].code()


def test_an_acl_matrix_allows_the_principal_with_the_acl_and_refuses_the_one_without(sasl_cluster):
    # carol gets ACLs as the matrix goes; dave gets none (alice, of the other tests, may do anything).
    for user in ("carol", "dave"):
        made = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", sasl_cluster.config,
                        "--alter", "--entity-type", "users", "--entity-name", user, "--add-config", f"SCRAM-SHA-512=[password={user}-secret]")
        assert made.returncode == 0, made.stderr
    granted = alice(sasl_cluster, user="carol", password="carol-secret")
    refused = alice(sasl_cluster, user="dave", password="dave-secret")
    topic, group, txn = unique_topic("acl"), unique_topic("acl-group"), unique_topic("acl-txn")
    create_rf3_topic(sasl_cluster, topic)
    from confluent_kafka.admin import ConfigResource, NewTopic
    granted_admin, refused_admin = AdminClient(granted), AdminClient(refused)  # kept: their futures need them alive

    # Metadata lists only the topics a principal may describe.
    assert topic not in AdminClient(granted).list_topics(timeout=10).topics
    listed = acls(sasl_cluster, "--add", "--allow-principal", "User:carol", "--producer", "--topic", topic)
    assert "operation=WRITE, permissionType=ALLOW" in listed and f"name={topic}, patternType=LITERAL" in listed
    assert topic in AdminClient(granted).list_topics(timeout=10).topics
    assert topic not in AdminClient(refused).list_topics(timeout=10).topics

    # Produce: WRITE on the topic.
    def produce(settings) -> list:
        errors = []
        producer = Producer({**settings, "message.timeout.ms": 10000})
        producer.produce(topic, value=b"v", on_delivery=lambda err, msg: errors.append(err))
        producer.flush(30)
        return errors
    assert produce(granted) == [None]
    assert [e.code() for e in produce(refused)] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    # ListOffsets: DESCRIBE on the topic (dave has none yet; carol's WRITE implies it, so she gets past the check,
    # to the answer of whichever node this is: the offset, or NOT_LEADER_OR_FOLLOWER).
    for user, refused_here in (("dave", True), ("carol", False)):
        with tls_socket(sasl_cluster) as sock:
            assert scram_login(sock, user, f"{user}-secret") == (0, None)
            sock.sendall(request(2, 2, 11, list_offsets_v2(topic, 0, -1, 0)))
            code = list_offsets_v2_offset(read_frame(sock)[4:])[0]
            assert (code == KafkaError.TOPIC_AUTHORIZATION_FAILED) == refused_here, (user, code)

    # Consume with a group: READ on the topic and on the group (dave may read the topic, not the group).
    acls(sasl_cluster, "--add", "--allow-principal", "User:carol", "--consumer", "--topic", topic, "--group", group)
    acls(sasl_cluster, "--add", "--allow-principal", "User:dave", "--operation", "Read", "--topic", topic)

    def consume(settings):
        consumer = Consumer({**settings, "group.id": group, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                message = consumer.poll(1)
                if message is None:
                    continue
                return message.error().code() if message.error() else message.value()
        finally:
            consumer.close()
    assert consume(granted) == b"v"
    assert consume(refused) == KafkaError.GROUP_AUTHORIZATION_FAILED

    # Create and delete topics: CREATE and DELETE on them (a prefix pattern here).
    acls(sasl_cluster, "--add", "--allow-principal", "User:carol", "--operation", "Create", "--operation", "Delete",
         "--topic", "made-by-carol-", "--resource-pattern-type", "prefixed")
    made_topic = unique_topic("made-by-carol-")
    granted_admin.create_topics([NewTopic(made_topic, 1, 1)])[made_topic].result(timeout=30)
    daves_topic = unique_topic("made-by-carol-")
    assert admin_error(refused_admin.create_topics([NewTopic(daves_topic, 1, 1)], request_timeout=10)[daves_topic]) \
        == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert admin_error(refused_admin.delete_topics([made_topic])[made_topic]) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    granted_admin.delete_topics([made_topic])[made_topic].result(timeout=30)

    # Describe configs: DESCRIBE_CONFIGS on the topic.
    acls(sasl_cluster, "--add", "--allow-principal", "User:carol", "--operation", "DescribeConfigs", "--topic", topic)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    assert "cleanup.policy" in granted_admin.describe_configs([resource])[resource].result(timeout=30)
    assert admin_error(refused_admin.describe_configs([resource])[resource]) == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # Transactions: WRITE on the transactional id (and on the topic).
    acls(sasl_cluster, "--add", "--allow-principal", "User:carol", "--producer", "--topic", topic, "--transactional-id", txn)
    producer = Producer({**granted, "transactional.id": txn})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, value=b"in-a-transaction")
    producer.commit_transaction(30)
    with pytest.raises(KafkaException) as denied:
        Producer({**refused, "transactional.id": txn}).init_transactions(15)
    assert denied.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED

    # A DENY wins over an ALLOW, and removing ACLs takes the right away again.
    acls(sasl_cluster, "--add", "--deny-principal", "User:carol", "--operation", "Write", "--topic", topic)
    assert [e.code() for e in produce(granted)] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    acls(sasl_cluster, "--remove", "--force", "--deny-principal", "User:carol", "--operation", "Write", "--topic", topic)
    assert produce(granted) == [None]
    removed = acls(sasl_cluster, "--remove", "--force", "--allow-principal", "User:carol", "--producer", "--topic", topic)
    assert "Removing ACLs" in removed
    assert [e.code() for e in produce(granted)] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
    # Only the cluster's ALTER lets anyone change ACLs.
    dave_config = sasl_cluster.directory / "dave.properties"
    dave_config.write_text((sasl_cluster.directory / "client.properties").read_text()
                           .replace("sasl.username=admin", "sasl.username=dave").split("sasl.password=")[0] + "sasl.password=dave-secret\n")
    denied = crucible("acls", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", str(dave_config), "--add",
                      "--allow-principal", "User:dave", "--operation", "All", "--topic", "*")
    assert denied.returncode == 1 and "CLUSTER_AUTHORIZATION_FAILED" in denied.stderr, denied.stderr


def test_acls_refuse_entry_by_entry_and_serve_the_rest(sasl_cluster):
    """As Kafka: a request naming resources the principal may and may not touch is served for the first and
    refused for the others; lists show only what the principal may describe; cluster and follower APIs need
    DESCRIBE, ALTER or CLUSTER_ACTION on the cluster."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic
    made = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", sasl_cluster.config,
                    "--alter", "--entity-type", "users", "--entity-name", "erin", "--add-config", "SCRAM-SHA-512=[password=erin-secret]")
    assert made.returncode == 0, made.stderr
    mine, others = unique_topic("erin-"), unique_topic("other-")
    for topic in (mine, others):
        create_rf3_topic(sasl_cluster, topic)
    acls(sasl_cluster, "--add", "--allow-principal", "User:erin", "--operation", "Create", "--operation", "DescribeConfigs",
         "--operation", "Write", "--topic", "erin-", "--group", "erin-", "--transactional-id", "erin-",
         "--resource-pattern-type", "prefixed")
    erin = alice(sasl_cluster, user="erin", password="erin-secret")
    erin_admin, admin = AdminClient(erin), AdminClient(alice(sasl_cluster))

    # One CreateTopics, one DescribeConfigs: the allowed entry served, the other refused.
    new_mine, new_other = unique_topic("erin-new-"), unique_topic("other-new-")
    created = erin_admin.create_topics([NewTopic(new_mine, 1, 1), NewTopic(new_other, 1, 1)], request_timeout=15)
    created[new_mine].result(timeout=30)
    assert admin_error(created[new_other]) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert new_other not in admin.list_topics(timeout=10).topics
    resources = [ConfigResource(ConfigResource.Type.TOPIC, mine), ConfigResource(ConfigResource.Type.TOPIC, others)]
    described = erin_admin.describe_configs(resources)
    assert "cleanup.policy" in described[resources[0]].result(timeout=30)
    assert admin_error(described[resources[1]]) == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # Groups: alice commits offsets for erin's group and another, on both topics.
    group_mine, group_other = unique_topic("erin-g-"), unique_topic("other-g-")
    for group in (group_mine, group_other):
        consumer = Consumer({**alice(sasl_cluster), "group.id": group})
        consumer.commit(offsets=[TopicPartition(mine, 0, 0), TopicPartition(others, 0, 0)], asynchronous=False)
        consumer.close()
    listed = {g.group_id for g in erin_admin.list_consumer_groups().result(timeout=30).valid}
    assert group_mine in listed and group_other not in listed, listed
    everything = {g.group_id for g in admin.list_consumer_groups().result(timeout=30).valid}
    assert {group_mine, group_other} <= everything
    groups = erin_admin.describe_consumer_groups([group_mine, group_other])
    assert groups[group_mine].result(timeout=30).group_id == group_mine
    assert admin_error(groups[group_other]) == KafkaError.GROUP_AUTHORIZATION_FAILED
    # Offsets of every topic of the group: only the topics erin may describe.
    offsets = erin_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_mine)])[group_mine].result(timeout=30)
    assert {tp.topic for tp in offsets.topic_partitions} == {mine}, offsets.topic_partitions

    # Deleting records and adding partitions need DELETE and ALTER, which erin does not have.
    deleted = erin_admin.delete_records([TopicPartition(mine, 0, 0)])
    assert admin_error(list(deleted.values())[0]) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    grown = erin_admin.create_partitions([NewPartitions(mine, 2)])
    assert admin_error(grown[mine]) == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # Transactions: erin lists her transactional ids only.
    ids = {}
    for prefix, settings in (("erin-txn-", erin), ("other-txn-", alice(sasl_cluster))):
        ids[prefix] = unique_topic(prefix)
        producer = Producer({**settings, "transactional.id": ids[prefix]})
        producer.init_transactions(30)
    config = sasl_cluster.directory / "erin.properties"
    config.write_text((sasl_cluster.directory / "client.properties").read_text()
                      .replace("sasl.username=admin", "sasl.username=erin").split("sasl.password=")[0] + "sasl.password=erin-secret\n")
    tool = ["--bootstrap-server", sasl_cluster.bootstrap, "--command-config", str(config)]
    listed_ids = crucible("transactions", *tool, "--list")
    assert listed_ids.returncode == 0, listed_ids.stderr
    assert ids["erin-txn-"] in listed_ids.stdout and ids["other-txn-"] not in listed_ids.stdout, listed_ids.stdout

    # An idempotent producer needs WRITE on some topic (erin has it) or IDEMPOTENT_WRITE on the cluster (KIP-679).
    made = crucible("configs", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", sasl_cluster.config,
                    "--alter", "--entity-type", "users", "--entity-name", "gus", "--add-config", "SCRAM-SHA-512=[password=gus-secret]")
    assert made.returncode == 0, made.stderr
    acls(sasl_cluster, "--add", "--allow-principal", "User:gus", "--operation", "Read", "--topic", mine)  # sees it, may not write
    outcomes = {}
    for user, settings in (("erin", erin), ("gus", alice(sasl_cluster, user="gus", password="gus-secret"))):
        producer = Producer({**settings, "enable.idempotence": True, "message.timeout.ms": 10000})
        try:  # librdkafka raises an idempotent producer's fatal error from its next call
            producer.produce(mine, value=b"idempotent")
            outcomes[user] = "unsent" if producer.flush(20) else "sent"
        except KafkaException as fatal:
            outcomes[user] = fatal.args[0].code()
    assert outcomes == {"erin": "sent", "gus": KafkaError.CLUSTER_AUTHORIZATION_FAILED}, outcomes

    # The cluster's APIs: the quorum needs DESCRIBE on the cluster; transaction markers CLUSTER_ACTION.
    quorum = crucible("metadata-quorum", *tool, "describe", "--status")
    assert quorum.returncode != 0 and "CLUSTER_AUTHORIZATION_FAILED" in quorum.stderr, quorum.stderr
    with tls_socket(sasl_cluster) as sock:
        assert scram_login(sock, "erin", "erin-secret") == (0, None)
        sock.sendall(request(27, 0, 5, write_txn_markers_v0(1, 0, True, mine, [0])))
        assert write_txn_markers_v0_errors(read_frame(sock)[4:]) == [KafkaError.CLUSTER_AUTHORIZATION_FAILED]


# The harness over security: verify and bench on clusters of their own with TLS and SASL, and verify with the client
# settings a scenario gives for a secured cluster it does not start.

def external_scenario(path, cluster, common_config: str) -> "Path":
    addresses = ", ".join(cluster.bootstrap.split(","))
    body = "\n".join("    " + line for line in common_config.strip().splitlines())
    path.write_text(f"""name: external-sasl-ssl
cluster:
  external:
    addresses: [{addresses}]
topic: {{keys: 2, replicationFactor: 3}}
clients:
  processes: 2
  producerConfig: |
    acks=all
    enable.idempotence=true
""" + (f"  commonConfig: |\n{body}\n" if body else "") + """workload: {rate: 60, timeLimitSeconds: 5, finalReadSeconds: 30}
expect: {valid: true}
""")
    return path


def test_verify_runs_its_nemesis_on_a_sasl_ssl_cluster_of_its_own(tmp_path):
    out = tmp_path / "own"
    run = verify(SCENARIOS / "safe-kill.yaml", "--security", "sasl_ssl", "--seed", 1, "--time-limit", 10,
                 "--output", out, timeout=600)
    assert run.returncode == 0, explain(run)
    assert "over SASL_SSL" in run.stderr, explain(run)
    [run_dir] = (out / "safe-kill").glob("run-*")
    outcome = json.loads((run_dir / "run.json").read_text())
    assert outcome["expectationMet"] and outcome["finalReadsComplete"], outcome
    assert outcome["acknowledgedSends"] > 0 and outcome["acknowledgedWritesLost"] == 0, outcome
    assert "kill" in [event["fault"] for event in json.loads((run_dir / "nemesis.json").read_text())]
    # Every node listened for clients over SASL_SSL and for its peers over SSL; nothing over plaintext.
    for node in (1, 2, 3):
        log = (run_dir / "nodes" / f"node-{node}.log").read_text()
        started = [line for line in log.splitlines() if "started in cluster" in line]
        assert started and all("(SASL_SSL)" in line and "(SSL)" in line and "PLAINTEXT" not in line
                               for line in started), started
    # A local security mode for a cluster verify does not start, or one that does not exist, is refused with exit 2.
    refused = verify("--security", "tls", SCENARIOS / "safe-kill.yaml", "--output", tmp_path / "bad", timeout=60)
    assert refused.returncode == 2 and "--security" in refused.stderr, explain(refused)


def test_verify_connects_to_a_secured_cluster_it_does_not_start_with_the_scenarios_client_settings(sasl_cluster, tmp_path):
    ca = sasl_cluster.directory / "security" / "ca.pem"
    # Java's keys, as a Kafka user writes them: the run's admin connections and librdkafka both take them.
    java = f"""
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";
ssl.truststore.type=PEM
ssl.truststore.location={ca}
"""
    scenario = external_scenario(tmp_path / "external.yaml", sasl_cluster, java)
    run = verify(scenario, "--seed", 3, "--output", tmp_path / "out", timeout=600)
    assert run.returncode == 0, explain(run)
    [run_dir] = (tmp_path / "out" / "external-sasl-ssl").glob("run-*")
    outcome = json.loads((run_dir / "run.json").read_text())
    assert outcome["expectationMet"] and outcome["acknowledgedSends"] > 0 and outcome["acknowledgedWritesLost"] == 0, outcome

    # Without them the run fails at once, saying why, and the cluster is untouched.
    plain = external_scenario(tmp_path / "plain.yaml", sasl_cluster, "")
    failed = verify(plain, "--seed", 3, "--output", tmp_path / "plain-out", timeout=300)
    assert failed.returncode == 1 and "run failed" in failed.stdout + failed.stderr, explain(failed)
    # A scenario's security settings that make no sense are refused before anything runs, naming the key.
    bad = external_scenario(tmp_path / "bad.yaml", sasl_cluster, "security.protocol=SASL_SMOKE")
    refused = verify(bad, "--output", tmp_path / "bad-out", timeout=60)
    assert refused.returncode == 2 and "security.protocol" in refused.stderr, explain(refused)
    # --security starts a secured local cluster; a scenario naming a cluster of its own cannot take it.
    refused = verify(scenario, "--security", "ssl", "--output", tmp_path / "flag-out", timeout=60)
    assert refused.returncode == 2 and "--security" in refused.stderr and "external.yaml" in refused.stderr, explain(refused)
    assert crucible("topics", "--bootstrap-server", sasl_cluster.bootstrap, "--command-config", sasl_cluster.config,
                    "--list").returncode == 0


def test_bench_measures_a_cluster_of_its_own_over_tls(tmp_path):
    workload = write_yaml(tmp_path / "tls.yaml", workload_text("tls", producerRate=500, testDurationMinutes=0.15))
    out = tmp_path / "out"
    result = bench(workload, "--security", "ssl", "--output", out, "--skip-calibration", *QUICK, timeout=600)
    assert result.returncode == 0, explain(result)
    content = only_result(out)
    assert sum(content["publishRate"]) > 0 and sum(content["consumeRate"]) > 0, content
    assert sum(content["publishErrorRate"]) == 0, content
    refused = bench(workload, "--security", "ssl", "--bootstrap-server", "127.0.0.1:1", "--output", tmp_path / "x", timeout=60)
    assert refused.returncode == 2 and "--security" in refused.stderr, explain(refused)
