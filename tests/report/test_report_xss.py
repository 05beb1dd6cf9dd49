"""Hostile campaign names and unknown state texts cannot change a page's structure.

55 payloads go in as display names (a ``campaigns`` table in the warehouse, the path the API
exporter will feed) and as raw state texts (ingested from a CSV, kept verbatim as ``other``). Each
page must have exactly the structure of a render with harmless texts: the same elements with the
same attribute names, no script, no ``on*`` attribute, no ``javascript:`` URL. The CSVs beside
the pages neutralise cells that a spreadsheet would read as a formula.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from report_helpers import TZ, Node, parse_html

from pipeline.core.config import Config, IngestConfig
from pipeline.core.console import Console
from pipeline.report import render_reports
from pipeline.report.render import sort_js
from pipeline.store.ingest import ingest_files
from pipeline.store.snapshots import Store
from pipeline.warehouse.build import build

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=javascript:alert(1)></iframe>",
    "<body onload=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<meta http-equiv=refresh content=0;url=//evil.example>",
    "<base href=//evil.example/>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<isindex action=javascript:alert(1) type=image>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    '<div style="background:url(javascript:alert(1))">',
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "{{ 7*7 }}",
    "{% raw %}{{ config }}{% endraw %}",
    "${7*7}",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<x onclick=alert(1)>click",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<a href=data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==>x</a>",
    "\u202e<script>alert(1)</script>",
    '<img src="x" onerror="&#97;lert(1)">',
    "<table><td background=javascript:alert(1)>",
]
assert len(PAYLOADS) >= 50 and len(set(PAYLOADS)) == len(PAYLOADS)

N = len(PAYLOADS)


def export_file(path: Path, texts: list[str]) -> Path:
    """One export file for all campaigns (campaign and time columns): one campaign per text;
    each has a contact per text in an unknown state (the raw state texts) and a failed contact
    whose id is the campaign's text (contact ids reach the drill-down CSVs)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["campaign_id", "snapshot_time", "contact_id", "state"])
        for i, t in enumerate(texts):
            cid, when = f"c{i:02d}", "2026-11-27T06:00:00Z"
            w.writerow([cid, when, "r1", "WA_READ"])
            w.writerow([cid, when, "s1", "WA_SEND_FAILED"])
            w.writerow([cid, when, f"id-{t}" if i % 2 else t, "FAILING"])
            for j, u in enumerate(texts):
                w.writerow([cid, when, f"u{j:02d}", f"X-{u}"])
    return path


def render(tmp: Path, texts: list[str]) -> Path:
    data = tmp / "data"
    data.mkdir(parents=True)
    # Mostly unknown states on purpose (they are the payloads): let such a file load.
    cfg = Config(data_dir=data, timezone=TZ, ingest=IngestConfig(max_unknown_fraction=1.0))
    reports = ingest_files(
        [export_file(tmp / "export.csv", texts)],
        store=Store(data),
        config=cfg,
        console=Console.silent(),
    )
    assert all(r.ok for r in reports), [r.summary() for r in reports]
    # the names go the way the API's campaign names go: recorded in the store, loaded by the build
    with Store(data).writer("test") as writer:
        writer.record_campaigns({f"c{i:02d}": {"name": t} for i, t in enumerate(texts)})
    build(cfg, Console.silent())
    return render_reports(cfg, Console.silent()).out_dir


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    benign = [f"Campaign number {i}" for i in range(N)]
    return (
        render(tmp_path_factory.mktemp("benign"), benign),
        render(tmp_path_factory.mktemp("hostile"), PAYLOADS),
    )


def structure(doc: Node) -> list[tuple[str, tuple[str, ...]]]:
    return [(n.tag, tuple(sorted(n.attrs))) for n in doc.iter()]


URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster"}


def check_no_active_content(doc: Node) -> None:
    # the one script is our own sort script on the overview, byte for byte
    scripts = doc.find_all("script")
    assert all(s.text == sort_js() and not s.attrs for s in scripts)
    assert len(scripts) <= 1
    assert len(doc.find_all("style")) == 1
    for n in doc.iter():
        for name, value in n.attrs.items():
            assert not name.lower().startswith("on"), (n.tag, name)
            if name.lower() not in URL_ATTRS:
                continue
            v = "".join((value or "").split()).lower()
            assert not v.startswith(("javascript:", "data:text", "vbscript:")), (n.tag, name, value)
        assert n.tag not in {"iframe", "object", "embed", "img", "link", "base", "form", "input"}


def pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_pages_have_the_structure_of_a_benign_render(renders: tuple[Path, Path]) -> None:
    benign, hostile = renders
    names = [p.relative_to(benign) for p in pages(benign)]
    assert names == [p.relative_to(hostile) for p in pages(hostile)]
    # N campaign pages, the overview, the archive, and N campaigns' own indexes across days
    assert len(names) == 2 * N + 2
    for rel in names:
        good = parse_html((benign / rel).read_text("utf-8"))
        bad = parse_html((hostile / rel).read_text("utf-8"))
        check_no_active_content(bad)
        assert structure(bad) == structure(good), rel


def test_payloads_are_shown_as_text(renders: tuple[Path, Path]) -> None:
    _, hostile = renders
    day = next(p for p in hostile.iterdir() if p.is_dir())
    overview = parse_html((day / "index.html").read_text("utf-8"))
    names = {r.attrs["data-campaign"]: r.find("th").find("a").text
             for r in overview.by_id("campaigns").find("tbody").find_all("tr")}  # fmt: skip
    assert names == {f"c{i:02d}": t for i, t in enumerate(PAYLOADS)}
    page = parse_html((day / "campaign-c00.html").read_text("utf-8"))
    raw = {r.find("code").text for r in page.by_id("unknown-states").find("tbody").find_all("tr")}
    # pages print at most 40 characters of a raw value, then an ellipsis
    assert raw == {f"X-{t}" if len(f"X-{t}") <= 40 else f"X-{t}"[:40] + "…" for t in PAYLOADS}
    assert page.find("h1").text == PAYLOADS[0]


def test_csv_cells_cannot_start_a_formula(renders: tuple[Path, Path]) -> None:
    _, hostile = renders
    day = next(p for p in hostile.iterdir() if p.is_dir())
    seen: set[str] = set()
    for f in day.glob("*.csv"):
        for row in csv.reader(io.StringIO(f.read_text("utf-8"))):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (f.name, cell)
                if cell.startswith("-"):
                    float(cell)  # a negative number is fine; text starting with - is not
                seen.add(cell)
    assert '\'=HYPERLINK("http://evil.example","x")' in seen  # a contact id, neutralised
    assert "'+cmd|' /C calc'!A0" in seen


def test_json_keeps_the_text_verbatim(renders: tuple[Path, Path]) -> None:
    import json

    _, hostile = renders
    day = next(p for p in hostile.iterdir() if p.is_dir())
    data: dict[str, Any] = json.loads((day / "overview.json").read_text("utf-8"))
    assert {c["name"] for c in data["campaigns"]} == set(PAYLOADS)
