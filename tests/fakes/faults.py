"""
The plumbing shared by the fake badge platforms: a real HTTP server on 127.0.0.1 (ephemeral port)
in a thread, a log of the requests it received, and fault injection.

A fake subclasses ``FakeServer`` and implements ``route()`` (the platform's API, returning a
``Reply``) and ``error_body()`` (the platform's error shape, used for injected errors).

Faults (``add_fault``) match a method and a regular expression searched in the path, after
``after`` matching requests went through, ``times`` times:

* ``"error"``: answer ``status`` (500, 429 with ``retry_after``...) in the platform's error shape;
* ``"hang"``: answer nothing for ``hang_for`` seconds (longer than the client's timeout);
* ``"drop"``: close the connection without answering;
* ``"delay"``: answer normally, ``hang_for`` seconds late (within the client's timeout).

With ``act_first=True`` the request is carried out before the fault: the badge exists upstream
but the client never hears so. Without it, the request is not carried out.
"""

import json
import re
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """A fault to inject into the requests that match ``method`` and ``path`` (module docstring)."""
    action: str  # "error", "hang", "drop" or "delay"
    method: str | None = None
    path: str | None = None  # a regular expression searched in the request path
    times: int = 1  # how many matching requests get the fault
    after: int = 0  # let this many matching requests through first
    status: int = 500
    retry_after: str | None = None
    hang_for: float = 5.0
    act_first: bool = False  # carry the request out, then fail to answer it

    def matches(self, method, path):
        return (self.method is None or self.method == method) and \
            (self.path is None or bool(re.search(self.path, path)))


@dataclass
class Reply:
    """What a fake answers: a status, a body (JSON unless bytes or str), headers and a content type."""
    status: int
    body: object = None  # dict / list: JSON; str / bytes: sent as is; None: no body
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self):
        """The body as the bytes to send."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections when a test opens many at once, and a
    # dropped SYN is retried only after a second: longer than the tests' connect timeouts.
    request_queue_size = 128


class FakeServer(ABC):
    """Lifecycle, request log and faults. Subclasses hold the platform's state, guarded by ``self.lock``."""

    name = "fake"

    def __init__(self):
        self.requests = []  # one dict per request: method, path, query, headers, json, form, status, fault
        self.faults = []
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._httpd = None
        self._thread = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def root_url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self):
        return self.root_url

    def start(self):
        """Serve on an ephemeral port of 127.0.0.1 in a daemon thread; returns the server."""
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, client_address: None  # clients that vanish are expected here
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving, releasing any request a fault keeps hanging."""
        self.stopping.set()  # releases hanging handlers at once
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- faults and the log ------------------------------------------------------------------

    def add_fault(self, action, **options):
        fault = Fault(action, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method, path):
        """The fault the next request ``method path`` gets (counted down), or None."""
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None

    def requests_to(self, method=None, path=None):
        with self.lock:
            return [r for r in self.requests if (method is None or r["method"] == method)
                    and (path is None or re.search(path, r["path"]))]

    def handle(self, method, path, query, headers, raw_body, fault=None):
        """The ``Reply`` to one request (``None`` when a fault stops it before it is carried out)."""
        with self.lock:
            entry = {"method": method, "path": path, "query": query, "headers": dict(headers.items()),
                     "json": None, "form": None, "status": None, "fault": fault.action if fault else None}
            content_type = headers.get("Content-Type", "")
            if raw_body and "json" in content_type:
                try:
                    entry["json"] = json.loads(raw_body)
                except ValueError:
                    pass
            elif raw_body and "x-www-form-urlencoded" in content_type:
                entry["form"] = {k: v[-1] for k, v in parse_qs(raw_body.decode(), keep_blank_values=True).items()}
            self.requests.append(entry)
            if fault is not None and not fault.act_first:
                return None
            reply = self.route(method, path, query, headers, raw_body, entry)
            entry["status"] = reply.status
            return reply

    # --- what a platform implements ----------------------------------------------------------

    @abstractmethod
    def route(self, method, path, query, headers, raw_body, entry) -> Reply:
        """Answer one request the way the platform does."""

    def error_body(self, status, message):
        return {"error": message}


class _Handler(BaseHTTPRequestHandler):
    """The HTTP handler of a fake: reads a request, applies a fault, sends the fake's ``Reply``."""
    protocol_version = "HTTP/1.1"  # keep-alive, as a pooled client sees the real thing
    timeout = 10  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    fake: FakeServer = None

    def log_message(self, format, *args):
        pass

    def _serve(self):
        """Answer one request, or fail it as its fault says."""
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        fault = self.fake.take_fault(self.command, split.path)
        if fault is not None and fault.action == "delay":  # slow but answered
            self.fake.stopping.wait(fault.hang_for)
            fault = None
        reply = self.fake.handle(self.command, split.path, query, self.headers, raw_body, fault)
        if fault is not None:
            if fault.action == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.action == "hang":
                self.close_connection = True
                if self.fake.stopping.wait(fault.hang_for):
                    return
                reply = Reply(504, self.fake.error_body(504, "late answer"))  # the client gave up long ago
            else:
                message = "Internal Server Error" if fault.status >= 500 else "Too Many Requests"
                reply = Reply(fault.status, self.fake.error_body(fault.status, message))
                if fault.retry_after is not None:
                    reply.headers["Retry-After"] = str(fault.retry_after)
        payload = reply.payload()
        try:
            self.send_response(reply.status)
            if payload or reply.status not in (204, 304):
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client is gone

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


def badge_request(target, **fields):
    """A ``BadgeRequest`` for the backend tests (one learner, one award), with ``fields`` overriding."""
    # pylint: disable-next=import-outside-toplevel  (the fake servers themselves do not depend on the project)
    from openedx_microcred.backends.base import BadgeRequest

    award_uuid = fields.pop("award_uuid", None) or str(uuid.uuid4())
    values = {
        "delivery_id": 1, "award_uuid": award_uuid, "recipient_email": "ada@example.com", "first_name": "Ada",
        "last_name": "Lovelace", "issued_at": datetime.now(timezone.utc) - timedelta(hours=1),
        "expires_at": None, "credential_title": "Python Foundations",
        "credential_description": "Three courses of Python.",
        "evidence_url": f"https://lms.example.org/microcred/credentials/{award_uuid}/",
        "credential_json_url": f"https://lms.example.org/microcred/credentials/{award_uuid}.json",
        "target": target,
    }
    values.update(fields)
    return BadgeRequest(**values)
