"""A real local HTTP server that answers with recorded fixtures, and fast polite clients.

Tests script the server per path: each request takes the next scripted answer (the last one
repeats), or a function builds the answer from the query. Nothing here touches the internet.
Kept out of a conftest.py so that several directories can import it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from papertide.ingest.http import PoliteClient, Politeness
from tests.corpus import shared_data

USER_AGENT = "papertide-tests/1.0 (mailto:tests@example.org)"
FAST = Politeness(user_agent=USER_AGENT, spacing_s=0, timeout_s=2.0, retries=2, backoff_s=0, max_wait_s=60)


def fixture_path(name: str) -> Path:
    """A recorded response of ../shared/data/fixtures."""
    return shared_data("fixtures", name)


def fixture_bytes(name: str) -> bytes:
    return fixture_path(name).read_bytes()


@dataclass
class Answer:
    """One scripted HTTP answer."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = "application/xml; charset=utf-8"


@dataclass
class Request:
    """What the server received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


Script = list[Answer] | Callable[[dict[str, str]], Answer]


class FeedServer:
    """Scripted answers per path, and the list of requests received."""

    def __init__(self) -> None:
        self.routes: dict[str, Script] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                answer = server.answer(Request(parts.path, query, {k.lower(): v for k, v in self.headers.items()}))
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            script = self.routes.get(request.path)
            if script is None:
                return Answer(b"not found", status=404, content_type="text/plain")
            if callable(script):
                return script(request.query)
            return script.pop(0) if len(script) > 1 else script[0]

    def route(self, path: str, *answers: Answer | Callable[[dict[str, str]], Answer]) -> str:
        """Script a path; returns its full URL."""
        if len(answers) == 1 and callable(answers[0]):
            self.routes[path] = answers[0]
        else:
            self.routes[path] = [answer for answer in answers if isinstance(answer, Answer)]
        return self.url + path


@contextmanager
def running_server() -> Iterator[FeedServer]:
    """A local HTTP server on a free port, stopped on exit."""
    server = FeedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class Sleeps:
    """Records the waits a client asks for instead of waiting, and moves a fake clock."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def polite_client(source: str, sleeps: Sleeps | None = None, politeness: Politeness = FAST) -> PoliteClient:
    """A client with test politeness; with ``sleeps``, waits are recorded and not slept."""
    if sleeps is None:
        return PoliteClient(source, politeness)
    return PoliteClient(source, politeness, sleep=sleeps.sleep, monotonic=sleeps.monotonic)


def split_atom(text: str) -> tuple[str, list[str], str]:
    """The recorded Atom feed cut into head, entries and tail, each kept byte for byte."""
    head, _, rest = text.partition("  <entry>")
    body, _, tail = rest.rpartition("</entry>")
    entries = ["  <entry>" + chunk for chunk in body.split("  <entry>")]
    entries = [entry if entry.rstrip().endswith("</entry>") else entry + "</entry>" for entry in entries]
    return head, entries, tail


def atom_page(start: int, size: int, *, total: int | None = None, entries: list[str] | None = None) -> bytes:
    """A page of the recorded arXiv API response, as the API would page it."""
    head, recorded, tail = split_atom(fixture_path("arxiv_api_atom.xml").read_text(encoding="utf-8"))
    chosen = recorded if entries is None else entries
    count = len(chosen) if total is None else total
    head = re.sub(r">120839<", f">{count}<", head)
    head = re.sub(r"(startIndex[^>]*>)0<", rf"\g<1>{start}<", head)
    return (head + "\n".join(chosen[start : start + size]) + "\n" + tail).encode("utf-8")


def recorded_entries() -> list[str]:
    """The ten <entry> elements of the recorded arXiv API response."""
    return split_atom(fixture_path("arxiv_api_atom.xml").read_text(encoding="utf-8"))[1]


def recorded_oai_records() -> list[str]:
    """The two <record> elements of the recorded OAI-PMH response, byte for byte."""
    text = fixture_path("arxiv_oai_listrecords.xml").read_text(encoding="utf-8")
    return re.findall(r"<record>.*?</record>", text, flags=re.DOTALL)


def oai_page(records: list[str] | None = None, *, token: str | None = None, complete: int | None = None) -> bytes:
    """The recorded ListRecords response with chosen records and, when given, a resumption token."""
    text = fixture_path("arxiv_oai_listrecords.xml").read_text(encoding="utf-8")
    head = text[: text.index("<record>")]
    tail = text[text.index("</ListRecords>") :]
    chosen = recorded_oai_records() if records is None else records
    resumption = ""
    if token is not None:
        size = f' completeListSize="{complete}"' if complete is not None else ""
        resumption = f'<resumptionToken cursor="0"{size}>{token}</resumptionToken>\n'
    return (head + "\n".join(chosen) + "\n" + resumption + tail).encode("utf-8")
