"""The transport: CURVE keys and who gets through, liveness over the wire, where an ipc
socket lives.

Every tcp socket here binds 127.0.0.1 only."""

from __future__ import annotations

import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
import zmq

from asyncnni import auth, protocol, transport
from asyncnni.trial import TrialClient, TrialError

LOOPBACK = "tcp://127.0.0.1:0"


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_live_in_the_experiment_folder_readable_by_the_user_only(tmp_path):
    server, client = auth.experiment_keys(tmp_path)
    keys = tmp_path / "keys"
    assert _mode(keys) == 0o700 and _mode(keys / "clients") == 0o700
    files = [p for p in keys.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {
        "server.key",
        "server.key_secret",
        "trial.key_secret",
        "trial.key",
    }
    assert all(_mode(p) == 0o600 for p in files)
    assert (keys / "clients" / "trial.key").is_file()
    assert client.server_key == server.public_key
    # a resumed experiment keeps its keys
    assert auth.experiment_keys(tmp_path) == (server, client)


def test_asyncnni_auth_carries_the_trial_keys(tmp_path):
    _, client = auth.experiment_keys(tmp_path)
    value = auth.env_value(client)
    assert value.startswith("curve ") and auth.client_from_env(value) == client
    assert auth.client_from_env("") is None and auth.client_from_env(None) is None
    for bad in ("curve abc", "plain " + value[6:], value + " more"):
        with pytest.raises(auth.AuthError, match="ASYNCNNI_AUTH must be"):
            auth.client_from_env(bad)


class EchoServer:
    """A CURVE RouterEndpoint that answers every NEW_TRIAL with fixed parameters and
    records who got through."""

    def __init__(self, curve: transport.CurveServer | None) -> None:
        self.endpoint = transport.RouterEndpoint(LOOPBACK, curve)
        self.address = self.endpoint.address
        self.seen: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.endpoint.fd, zmq.POLLIN)
        while not self._stop.is_set():
            poller.poll(50)
            batch, _ = self.endpoint.receive(100)
            for identity, frame in batch:
                self.seen.append(identity)
                message = protocol.decode(frame)
                answer = protocol.parameters(message["req"], 7, 0, {"x": 1}, "test")
                self.endpoint.send(identity, protocol.encode(answer))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.endpoint.close()


@pytest.fixture
def curve_server(tmp_path):
    server_keys, client_keys = auth.experiment_keys(tmp_path / "exp")
    server = EchoServer(server_keys)
    yield server, client_keys
    server.close()


def test_a_trial_with_the_experiment_keys_is_served_over_curve(curve_server):
    server, keys = curve_server
    client = TrialClient(server.address, "good", keys)
    try:
        assert client.get_next_parameter() == {"x": 1} and client.parameter_id == 7
    finally:
        client.close()
    assert server.seen == [b"good"]


def _refused(address: str, curve: transport.CurveClient | None) -> str:
    client = TrialClient(address, "intruder", curve)
    try:
        with pytest.raises(TrialError) as caught:
            client.get_next_parameter()
    finally:
        client.close()
    return str(caught.value)


def test_a_client_without_a_key_gets_nothing_and_is_told(curve_server):
    server, keys = curve_server
    assert "security handshake with the dispatcher failed" in _refused(server.address, None)
    assert server.seen == []
    client = TrialClient(server.address, "good", keys)  # the experiment's own are still served
    try:
        assert client.get_next_parameter() == {"x": 1}
    finally:
        client.close()
    assert server.seen == [b"good"]


def test_a_client_with_a_key_the_experiment_did_not_make_gets_nothing(curve_server, tmp_path):
    server, keys = curve_server
    _, stranger = auth.experiment_keys(tmp_path / "other")  # a valid key pair, not admitted
    intruder = transport.CurveClient(keys.server_key, stranger.public_key, stranger.secret_key)
    assert "refused this trial's key" in _refused(server.address, intruder)
    assert server.seen == []


@pytest.mark.parametrize("with_key", [False, True])
def test_a_trial_refused_before_its_first_send_is_told_instead_of_blocking(
    curve_server, tmp_path, with_key
):
    # once the refusal has torn down its only connection, a DEALER has no peer and its send
    # would block for ever: the trial must look at why and raise
    server, keys = curve_server
    _, stranger = auth.experiment_keys(tmp_path / "other")
    curve = (
        transport.CurveClient(keys.server_key, stranger.public_key, stranger.secret_key)
        if with_key
        else None
    )
    client = TrialClient(server.address, "intruder", curve)
    try:
        deadline = time.monotonic() + 30
        while client._watch.refused is None:  # the refusal arrives before anything is sent
            client._watch.lost_for()  # reads the socket's connection events
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with pytest.raises(TrialError, match="refused|handshake"):
            client.get_next_parameter()
    finally:
        client.close()
    assert server.seen == []


def test_a_trial_stops_waiting_once_the_dispatcher_is_gone():
    endpoint = transport.RouterEndpoint(LOOPBACK)  # bound, but it never answers
    client = TrialClient(endpoint.address, "orphan")
    try:
        poller = zmq.Poller()
        poller.register(endpoint.fd, zmq.POLLIN)
        client._send(protocol.new_trial(1, "orphan", 0))
        while not endpoint.receive(1)[0]:  # connected and heard
            poller.poll(100)
        endpoint.close()  # the experiment dies
        with pytest.raises(
            TrialError, match="lost the experiment: no connection to its dispatcher"
        ):
            client.get_next_parameter()
    finally:
        client.close()


def test_the_dispatcher_learns_whose_connection_died():
    endpoint = transport.RouterEndpoint(LOOPBACK)
    try:
        clients = {name: TrialClient(endpoint.address, name) for name in ("stays", "leaves")}
        poller = zmq.Poller()
        poller.register(endpoint.fd, zmq.POLLIN)
        for name, client in clients.items():
            client._send(protocol.new_trial(1, name, 0))
        heard: set[bytes] = set()
        while len(heard) < 2:
            poller.poll(100)
            heard |= {identity for identity, _ in endpoint.receive(10)[0]}
        clients["leaves"].close()
        watcher = zmq.Poller()
        watcher.register(endpoint.monitor_fd, zmq.POLLIN)
        lost: list[bytes] = []
        while not lost:
            watcher.poll(100)
            lost = endpoint.lost_peers()
        assert lost == [b"leaves"]
        clients["stays"].close()
    finally:
        endpoint.close()


def test_a_dispatcher_socket_path_too_long_for_its_folder_lives_in_a_private_one(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    long_address = transport.ipc_address(tmp_path / ("x" * 120))
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing is made before the bind
    endpoint = transport.RouterEndpoint(long_address)
    second = transport.RouterEndpoint(long_address)
    path = Path(endpoint.address.removeprefix("ipc://"))
    client = TrialClient(endpoint.address, "t")
    try:
        assert path.parent.parent == tmp_path / "tmp"
        assert path.parent.name.startswith(transport.PRIVATE_IPC_PREFIX)
        assert _mode(path.parent) == 0o700  # nobody else can reach or replace the socket file
        assert second.address != endpoint.address  # a folder of its own per endpoint
        client._send(protocol.new_trial(1, "t", 0))
        poller = zmq.Poller()
        poller.register(endpoint.fd, zmq.POLLIN)
        received: list = []
        while not received:
            poller.poll(100)
            received = endpoint.receive(10)[0]
        assert received[0][0] == b"t"
    finally:
        client.close()
        endpoint.close()
        second.close()
    assert list((tmp_path / "tmp").iterdir()) == []  # each endpoint removed what it made
    assert transport.ipc_address(tmp_path) == f"ipc://{tmp_path}/dispatcher.sock"
