"""report.html in real headless Chromium: it renders, shows the key figures, escapes hostile
drill text, and fetches nothing.

One Chromium launch renders the report of a real run whose drill text is hostile HTML,
taking a screenshot and the DOM Chromium built. Chromium goes through a local proxy that
records every request, so "fetches nothing" is observed, not assumed; a second launch on
a page with an external image shows the proxy does see such requests. Chromium's own
background calls to its vendor's services are not the page's and are set aside.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from drillkit.evidence import report_text as words
from drillkit.evidence.render_html import CSP
from drillkit.evidence.report import Report, build_report
from drillkit.evidence.reports import write_reports
from tests.support.report_runs import HOSTILE, finished_run

WIDTH, HEIGHT = 1280, 2600
BROWSER_SERVICES = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")
FETCHING = {"script", "img", "link", "iframe", "object", "embed", "video", "audio", "source"}


@dataclass
class Page:
    """What Chromium made of one HTML file."""

    dom: str
    png: bytes
    requests: list[str]


@dataclass
class Rendered:
    report: Report
    page: Page
    document: Document


class Document(HTMLParser):
    """The dumped DOM, reduced to what the tests look at."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.by_id: dict[str, str] = {}
        self.elements: list[dict[str, str]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._open: list[tuple[str | None, list[str]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        self.attributes.extend(values.items())
        self.elements.append({"tag": tag, **values})
        if tag not in ("meta", "br", "hr", "input", "img", "link"):
            self._open.append((values.get("id"), []))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            ident, parts = self._open.pop()
            text = "".join(parts)
            if ident:
                self.by_id[ident] = text.strip()
            if self._open:
                self._open[-1][1].append(text)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open:
            self._open[-1][1].append(data)
        if self.tags and self.tags[-1] == "style":
            self.styles.append(data)


@dataclass
class RecordingProxy:
    """An HTTP proxy on loopback that answers nothing and records each request's first line."""

    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    first = connection.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"?"
                self.requests.append(first.decode("latin-1"))

    @contextmanager
    def running(self) -> Iterator[RecordingProxy]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.close()


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: `bash scripts/test` installs it (APT_PACKAGES)")
    return found


def render(page: Path, folder: Path) -> Page:
    """One headless Chromium launch: screenshot and DOM of ``page``, requests recorded."""
    screenshot = folder / "screenshot.png"
    with RecordingProxy().running() as proxy:
        result = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                f"--user-data-dir={folder / 'profile'}",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--proxy-server=http://127.0.0.1:{proxy.port}",
                "--proxy-bypass-list=<-loopback>",
                f"--screenshot={screenshot}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return Page(result.stdout, screenshot.read_bytes(), list(proxy.requests))


def page_requests(page: Page) -> list[str]:
    """The requests the page caused: everything but the browser's own service calls."""
    return [
        line
        for line in page.requests
        if not any(f"{service}" in line.split(" ")[1] for service in BROWSER_SERVICES)
    ]


def png_facts(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, width, height, idat = 8, 0, 0, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    chromium()
    run = finished_run("hostile", tmp_path_factory)
    folder = tmp_path_factory.mktemp("chromium")
    html = next(p for p in write_reports(run.run_dir, folder) if p.name == "report.html")
    page = render(html, folder)
    return Rendered(build_report(run.run_dir), page, Document(page.dom))


def test_the_screenshot_is_a_full_size_page_with_content(rendered: Rendered) -> None:
    width, height, pixels = png_facts(rendered.page.png)

    assert (width, height) == (WIDTH, HEIGHT)
    assert len(set(pixels)) > 64, "the screenshot is blank"


def test_the_verdict_rto_and_key_figures_are_on_the_page(rendered: Rendered) -> None:
    report, document = rendered.report, rendered.document
    rto = report.measurements.rto
    assert rto is not None and rto.seconds is not None

    assert document.by_id["verdict"] == "PASSED"
    assert document.by_id["figure-rto"] == f"{rto.seconds:.2f}s" == words.rto_figure(report)
    assert document.by_id["figure-rpo"] == words.rpo_figure(report)
    assert document.by_id["figure-certificates"] == words.certificate_figure(report)


def test_objective_badges_and_the_proof_list_show_each_status(rendered: Rendered) -> None:
    report, document = rendered.report, rendered.document
    badges = [e for e in document.elements if "badge" in e.get("class", "").split()]
    proofs = {e["data-proof"]: e["data-status"] for e in document.elements if "data-proof" in e}

    for objective in report.objectives:
        assert any(b.get("data-status") == objective.status for b in badges), objective.name
    assert sum(1 for b in badges if b.get("data-status") == "met") >= 5
    assert proofs == {item.id: item.status for item in report.proofs}
    assert set(proofs.values()) == {"proven"}


def test_hostile_drill_text_is_shown_as_text_and_nothing_of_it_runs(rendered: Rendered) -> None:
    document = rendered.document

    assert FETCHING.isdisjoint(document.tags)
    assert "".join(document.text).count(HOSTILE) >= 3  # description, owner, step description
    assert not any(name.startswith("on") for name, _ in document.attributes)


def test_the_page_can_fetch_nothing_and_asks_for_nothing(rendered: Rendered) -> None:
    document = rendered.document
    policies = [
        e.get("content")
        for e in document.elements
        if e.get("http-equiv") == "Content-Security-Policy"
    ]

    assert policies == [CSP] == ["default-src 'none'; style-src 'unsafe-inline'"]
    assert [value for _, value in document.attributes if "://" in value] == []
    assert not any("url(" in css or "@import" in css for css in document.styles)
    assert page_requests(rendered.page) == []


def test_the_request_recorder_does_see_a_page_that_fetches(tmp_path: Path) -> None:
    page = tmp_path / "fetches.html"
    page.write_text('<!doctype html><img src="http://203.0.113.9/pixel.png">')

    requests = page_requests(render(page, tmp_path))

    assert any("203.0.113.9" in line for line in requests)


def test_the_page_is_styled_for_paper(rendered: Rendered) -> None:
    css = "".join(rendered.document.styles)

    assert "@media print" in css and "@page" in css
    assert "print-color-adjust:exact" in css
