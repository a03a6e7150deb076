"""`OneWriteProtocol`: uvicorn's HTTP/1.1 with each response's head and body in one write.

A real uvicorn server on 127.0.0.1 and real sockets; the only addition is a recorder between
the protocol and its transport, which counts the writes the protocol makes.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lakestack.serving import free_port
from lakestack.serving._one_write import OneWriteProtocol

BODY = b'{"predictions": [0.25]}'


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    path = scope["path"]
    if path == "/echo":  # reads the body: an `Expect: 100-continue` gets its interim answer
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await _answer(send, 200, body)
    elif path == "/stream":  # no content-length: chunked, in three messages
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"three"})
    elif path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/fails":  # the head is sent, then the app fails before any body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("the app failed after its head")
    else:
        await _answer(send, 200, BODY)


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Recorder:
    """Between a protocol and its transport: keeps what each write carried."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _recording(base: type[HttpToolsProtocol], writes: list[bytes]) -> type[HttpToolsProtocol]:
    class Recording(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(_Recorder(transport, writes))

    return Recording


@pytest.fixture(params=[OneWriteProtocol, HttpToolsProtocol], ids=["one-write", "uvicorn"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[int, list[bytes], type]]:
    """A uvicorn server of `_app` with the protocol; (port, its writes, the protocol)."""
    writes: list[bytes] = []
    port = free_port()
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=port,
        http=_recording(request.param, writes),
        loop="asyncio",
        log_level="critical",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield port, writes, request.param
    running.should_exit = True
    thread.join(30)


def _connect(port: int) -> tuple[socket.socket, BinaryIO]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock, sock.makefile("rb")


def _response(reader: BinaryIO, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One response from the connection: status, headers (lower-case names), body."""
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if head or status in (100, 204, 304):
        return status, headers, b""
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int(reader.readline().strip(), 16):
            body += reader.read(size)
            reader.readline()
        reader.readline()
        return status, headers, body
    return status, headers, reader.read(int(headers["content-length"]))


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: t\r\n{extra}\r\n".encode()


def test_a_response_is_one_write_where_uvicorn_makes_two(server: Any) -> None:
    port, writes, protocol = server
    sock, reader = _connect(port)
    with sock:
        for _ in range(3):  # keep-alive: three requests on one connection
            sock.sendall(_get("/"))
            status, headers, body = _response(reader)
            assert (status, body) == (200, BODY)
            assert headers["content-type"] == "application/json"
    answers = [w for w in writes if w.startswith(b"HTTP/1.1 200")]
    assert len(answers) == 3
    if protocol is OneWriteProtocol:
        assert len(writes) == 3
        assert all(w.endswith(b"\r\n\r\n" + BODY) for w in answers)
    else:  # what the protocol is for: uvicorn writes the head, then the body
        assert len(writes) == 6
        assert writes[1::2] == [BODY] * 3


def test_pipelined_requests_are_answered_in_order(server: Any) -> None:
    port, _, _ = server
    sock, reader = _connect(port)
    with sock:
        body = b'{"x": 1}'
        post = b"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        sock.sendall(_get("/") + post + _get("/stream") + _get("/"))
        assert _response(reader)[::2] == (200, BODY)
        assert _response(reader)[::2] == (200, body)
        status, headers, streamed = _response(reader)
        assert (status, headers["transfer-encoding"], streamed) == (
            200,
            "chunked",
            b"one,two,three",
        )
        assert _response(reader)[::2] == (200, BODY)


def test_head_empty_and_streamed_responses_keep_their_http(server: Any) -> None:
    port, writes, protocol = server
    sock, reader = _connect(port)
    with sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nhost: t\r\n\r\n")
        status, headers, _ = _response(reader, head=True)
        assert (status, headers["content-length"]) == (200, str(len(BODY)))
        sock.sendall(_get("/empty"))
        status, headers, _ = _response(reader)
        assert status == 204 and "content-length" not in headers
        sock.sendall(_get("/stream"))
        assert _response(reader)[2] == b"one,two,three"
        sock.sendall(_get("/"))  # the connection still serves
        assert _response(reader)[::2] == (200, BODY)
    streamed = [w for w in writes if b"one," in w]
    if protocol is OneWriteProtocol:  # the head goes out with the first chunk
        assert len(streamed) == 1 and streamed[0].startswith(b"HTTP/1.1 200")


def test_expect_100_continue_gets_its_interim_answer_first(server: Any) -> None:
    port, _, _ = server
    sock, reader = _connect(port)
    with sock:
        body = b'{"x": 2}'
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\n"
            b"content-length: %d\r\n\r\n" % len(body)
        )
        # the client waits for the interim answer before it sends the body
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert reader.readline() == b"\r\n"
        sock.sendall(body)
        assert _response(reader)[::2] == (200, body)


def test_an_app_that_fails_after_its_head_closes_only_its_connection(server: Any) -> None:
    port, _, _ = server
    sock, reader = _connect(port)
    with sock:
        sock.sendall(_get("/fails"))
        received = reader.read()  # until the server closes the connection
        assert b"three" not in received and b"predictions" not in received
    sock, reader = _connect(port)
    with sock:
        sock.sendall(_get("/"))
        assert _response(reader)[::2] == (200, BODY)
