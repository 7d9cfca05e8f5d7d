"""A customer's webhook server for tests: a real HTTP server on 127.0.0.1 that records what it
receives and answers as it is told.

    with Receiver() as receiver:
        receiver.url("/hook")           # http://127.0.0.1:<port>/hook
        receiver.answer(500, times=2)   # the next two requests get a 500, then 200 again
        receiver.answer(200, delay=3)   # answer after 3 s
        receiver.redirect("/elsewhere") # a 302 to another path
        receiver.answer(200, body=b"x" * 10**6)
        receiver.endless()              # a 200 whose body never ends
        receiver.down() / receiver.up() # refuse connections, close open ones; listen again
        receiver.requests               # [Received(method, path, query, headers, body, client)]
        receiver.most_at_once           # the most requests it was answering at one time

    Receiver(tls=(certfile, keyfile))   # the same over HTTPS
"""

import ssl
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    # The raw query string, as sent (for GET, what the signature covers).
    query: str
    headers: Message
    body: bytes
    # The client's (address, port): the same port again means a kept-alive connection.
    client: tuple = ()


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0
    headers: tuple = ()
    endless: bool = False


@dataclass
class _Script:
    answers: deque = field(default_factory=deque)
    default: Answer = field(default_factory=Answer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a production server
    server: "_Server"

    def _handle(self):
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if receiver.is_down:
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        receiver.record(
            Received(self.command, path, query, self.headers, body, self.client_address)
        )
        answer = receiver.next_answer()
        if answer.delay:
            with receiver.answering():
                time.sleep(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.endless:
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while not receiver.is_down and not receiver.stopping:
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        try:
            self.wfile.write(answer.body)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = _handle

    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A batch opens its connections at once; the default backlog of 5 left a connection of a
    # 20-delivery batch waiting on a SYN retry long enough to time out on a loaded machine.
    request_queue_size = 256
    receiver: "Receiver"


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tls: tuple | None = None):
        self.host = host
        self.port = port
        self.tls = tls
        self.requests: list[Received] = []
        self.most_at_once = 0
        self._at_once = 0
        self.is_down = False
        self.stopping = False
        self._script = _Script()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> "Receiver":
        self._server = _Server((self.host, self.port), _Handler)
        self._server.receiver = self
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.is_down = False
        return self

    def stop(self) -> None:
        self.stopping = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def down(self) -> None:
        """Refuse new connections and drop the open ones at their next request."""
        self.is_down = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> None:
        """Listen again, on the same port."""
        self.start()

    # What to answer

    def url(self, path: str = "/hook", *, host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def answer(self, status: int = 200, *, times: int = 1, **kwargs) -> None:
        with self._lock:
            self._script.answers.extend([Answer(status, **kwargs)] * times)

    def answer_always(self, status: int = 200, **kwargs) -> None:
        with self._lock:
            self._script.answers.clear()
            self._script.default = Answer(status, **kwargs)

    def redirect(self, location: str, *, status: int = 302) -> None:
        self.answer(status, headers=(("Location", location),), body=b"")

    def endless(self) -> None:
        self.answer(200, endless=True)

    def next_answer(self) -> Answer:
        with self._lock:
            if self._script.answers:
                return self._script.answers.popleft()
            return self._script.default

    @contextmanager
    def answering(self):
        """Counts a delayed answer while it is being prepared, for ``most_at_once``."""
        with self._lock:
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            yield
        finally:
            with self._lock:
                self._at_once -= 1

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    # What was received

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def wait_for(self, count: int, seconds: float = 15) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests
