"""``equalize report`` end to end: the real CLI writes the HTML of a real solve of korea-17,
headless Chromium (Debian's ``chromium``; ``make test`` installs it) opens it with the network
unreachable, and the tests read the DOM, a screenshot and the printed PDF as a person would."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from optimizer.cli import main
from optimizer.core.metrics import gini
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from optimizer.report.html import ReportInput, render_report
from optimizer.report.labels_ko import money_ko
from tests.conftest import INSTANCES, ROOT

EQUALIZE = Path(sys.executable).with_name("equalize")
KOREA = INSTANCES / "korea-17"
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")
CHARTS = ("chart-levels", "chart-lorenz", "chart-compare-levels", "chart-frontier")


def equalize(*args) -> subprocess.CompletedProcess:
    """The installed command, as an analyst runs it (the report records this command line)."""
    return subprocess.run([str(EQUALIZE), *map(str, args)], capture_output=True, text=True, timeout=300)


def invoke(*args):
    """The same command in-process (click's runner): quicker for the error cases."""
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "korea.html"
    r = equalize("report", KOREA, "--objectives", "all", "--sweep", "0.8x:1.5x:6", "--output", out)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and f"wrote {out}" in r.stdout
    return out


def chromium(*args, timeout: int = 120) -> subprocess.CompletedProcess:
    """Headless Chromium with every network request sent to a proxy that does not exist."""
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
    return subprocess.run([*base, *map(str, args)], capture_output=True, timeout=timeout)


class Attributes(HTMLParser):
    """Every (tag, attribute, value) of a document, and the text of <style> elements."""

    def __init__(self):
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]


def parsed(html: str) -> Attributes:
    p = Attributes()
    p.feed(html)
    return p


# ---- the file itself ---------------------------------------------------------------------

def test_nothing_would_be_fetched(report):
    """No src/href/srcset/poster/data attribute points outside the file; no script or external
    stylesheet; no url()/@import in the CSS. The sources' URLs stay text."""
    html = report.read_text(encoding="utf-8")
    p = parsed(html)
    fetched = [(t, k, v) for t, k, v in p.attrs
               if k in ("src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction")
               and not v.startswith("#")]
    assert fetched == []
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert "@import" not in html and not re.search(r"url\((?!#)", html)
    assert re.search(r"https?://", html)        # the sources of korea-17 name their URLs ...
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)   # ... as text only


def test_headline_and_tables_hold_the_solve(report):
    html = report.read_text(encoding="utf-8")
    s = solve(load_instance(KOREA), SolveOptions()).summary
    assert f"{s['budget']:,.1f} KRW billion" in html and "59,844.0 KRW billion" in html
    assert f"{s['required_budget']:,.1f} KRW billion" in html and "56,237.2" in html
    assert f"maxmin: {s['objective_value']:.6g} (level)" in html
    assert f"{s['metrics_after']['min_level']:.4f} (Gwangju)" in html
    assert "0 / 17 (threshold 0.92)" in html
    assert s["instance"]["sha256"] in html
    assert 'data-column="change"' in html and 'data-column="change_pct"' in html   # korea-17 has prior_transfer
    c = s["change_vs_prior"]
    assert f"{c['winners']} up · {c['losers']} down · {c['unchanged']} unchanged" in html
    assert "equalize report" in html and "--sweep 0.8x:1.5x:6" in html           # the command line
    assert "ESTIMATE: fiscal_need" in html and "Estimates and choices" in html


def test_new_allocation_columns_render_without_a_change(tmp_path):
    """Columns other engineers add (reason, threshold_dual) appear as they come."""
    inst = load_instance(INSTANCES / "toy-3")
    result = solve(inst, SolveOptions())
    result.allocation["reason"] = [f"lifted to the floor <{i}>" for i in range(inst.n)]
    result.summary["budget_shadow_price_text"] = "+1% budget (0.6 KRW billion) raises the minimum level by 0.004"
    html = render_report(ReportInput(inst, result))
    assert 'data-column="reason"' in html and 'data-column="threshold_dual"' in html
    assert "lifted to the floor &lt;2&gt;" in html          # data, escaped, never markup
    assert "the budget&#39;s price:</strong> +1% budget (0.6 KRW billion) raises" in html


def test_korean_report(tmp_path):
    out = tmp_path / "ko.html"
    r = invoke("report", KOREA, "--lang", "ko", "--output", out)
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    for heading in ("재정 균등화 보고서", "핵심 요약", "배분 결과", "교부 전후 재정 수준", "불평등 지표"):
        assert heading in html
    assert "<td>서울</td>" in html and "<td>Seoul</td>" not in html     # name_ko in the name column
    assert "5조 9,844억" in html or "59조 8,440억" in html
    assert "59조 8,440억" in html                                       # budget 59,843.956 KRW billion
    assert 'lang="ko"' in html


def test_money_in_eok_and_jo():
    assert money_ko(59843.956, "KRW billion") == "59조 8,440억"
    assert money_ko(1000, "KRW billion") == "1조"
    assert money_ko(577.265, "KRW billion") == "5,773억"
    assert money_ko(-1234.5, "KRW billion") == "-1조 2,345억"
    assert money_ko(0.03, "KRW billion") == "0.3억"
    assert money_ko(5e11, "KRW") == "5,000억"
    assert money_ko(12.5, "USD million") == "12.5 USD million"


def test_bad_usage_writes_nothing(tmp_path):
    r = invoke("report", KOREA, "--output", tmp_path / "k.pdf")
    assert r.exit_code == 2 and r.output.count("\n") == 1 and ".html" in r.output
    r = invoke("report", KOREA, "--sweep", "1x:2x", "--output", tmp_path / "k.html")
    assert r.exit_code == 2 and "--sweep" in r.output
    r = invoke("report", KOREA, "--objectives", "maxmin,nope", "--output", tmp_path / "k.html")
    assert r.exit_code == 2 and "nope" in r.output
    r = invoke("report", tmp_path / "missing", "--output", tmp_path / "k.html")
    assert r.exit_code == 2 and "missing" in r.output
    r = invoke("report", KOREA, "--budget", "0.5x", "--output", tmp_path / "k.html")
    assert r.exit_code == 1 and r.output.startswith("infeasible") and "missing" in r.output
    assert list(tmp_path.iterdir()) == []


def test_templates_ship_with_the_package():
    """An installed package finds its templates: they are declared package data."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = ROOT / "optimizer" / "report" / "templates"
    shipped = {p.name for pattern in data["optimizer.report"] for p in folder.glob(pattern.split("/", 1)[1])}
    assert shipped == {p.name for p in folder.iterdir()} >= {"report.html.j2", "report.css", "chart.html.j2"}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("jinja2") for d in deps)


# ---- in the browser ----------------------------------------------------------------------

PROBE = """<script>
const out = {
  rows: document.querySelectorAll('#allocation-table tbody tr').length,
  cells: [...document.querySelectorAll('#allocation-table tbody tr')].map(r => r.children.length),
  headers: document.querySelectorAll('#allocation-table thead th').length,
  charts: Object.fromEntries([...document.querySelectorAll('figure.chart')].map(f => {
    const s = f.querySelector('svg'); const b = s ? s.getBoundingClientRect() : {width: 0, height: 0};
    return [f.id, [Math.round(b.width), Math.round(b.height)]]; })),
  resources: performance.getEntriesByType('resource').map(e => e.name),
  pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
};
document.body.setAttribute('data-probe', JSON.stringify(out));
</script></body>"""


def probe(report: Path, tmp_path: Path, width: int) -> dict:
    """The page as Chromium lays it out at ``width`` CSS pixels: a copy with a measuring script
    at the end of <body> (the report itself has no script), dumped with --dump-dom."""
    copy = tmp_path / f"probe-{width}.html"
    copy.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    r = chromium(f"--window-size={width},900", "--dump-dom", copy.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(rb'data-probe="([^"]*)"', r.stdout)
    assert m, r.stdout[:500]
    return json.loads(m.group(1).decode().replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.slow
@needs_chromium
def test_chromium_dom_rows_charts_and_screenshot(report, tmp_path):
    got = probe(report, tmp_path, 1280)
    assert got["rows"] == 17                                   # one row per region
    assert set(got["cells"]) == {got["headers"]}
    assert set(got["charts"]) == set(CHARTS)                   # every chart is there, drawn with a size
    assert all(w > 500 and h > 200 for w, h in got["charts"].values()), got["charts"]
    assert got["resources"] == []                              # nothing was fetched
    shot = tmp_path / "report.png"
    r = chromium("--window-size=1280,2400", "--hide-scrollbars", f"--screenshot={shot}", report.as_uri())
    assert r.returncode == 0 and shot.exists()
    im = Image.open(shot).convert("RGB")
    assert im.size == (1280, 2400)
    pixels = np.asarray(im).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 200                # text and charts, not a blank page
    assert (np.abs(pixels.astype(int) - [0, 114, 178]).sum(axis=1) < 6).sum() > 2000   # the blue bars


@pytest.mark.slow
@needs_chromium
def test_phone_width_has_no_sideways_page(report, tmp_path):
    """At phone width the page itself never scrolls sideways: wide tables and charts scroll in
    their own box, the charts keep a readable width (720 px) instead of shrinking to the screen.
    (Headless Chromium lays out at least 500 px however narrow the window: still a phone width for
    the CSS, whose phone rules start below 640 px. Without the scrolling boxes the page is 2,125 px.)"""
    got = probe(report, tmp_path, 390)
    assert got["viewport"] <= 640
    assert got["pageWidth"] <= got["viewport"] + 1, got
    assert all(w >= 720 for w, _ in got["charts"].values()), got["charts"]
    assert got["rows"] == 17


@pytest.mark.slow
@needs_chromium
def test_print_to_pdf_a4_pages_and_every_column_on_the_page(report, tmp_path):
    import pypdfium2 as pdfium

    pdf_path = tmp_path / "report.pdf"
    r = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf_path}", report.as_uri())
    assert r.returncode == 0 and pdf_path.exists()
    data = pdf_path.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert 3 <= pages <= 10, pages
    pdf = pdfium.PdfDocument(pdf_path)
    assert len(pdf) == pages
    sizes = [tuple(round(v) for v in pdf[i].get_size()) for i in range(pages)]
    assert set(sizes) <= {(595, 842), (842, 595)} and (842, 595) in sizes    # A4; the table landscape
    texts = []
    for i in range(pages):
        page = pdf[i]
        width, height = page.get_size()
        tp = page.get_textpage()
        texts.append(tp.get_text_range())
        for k in range(tp.count_rects()):                  # nothing printed off the paper
            left, bottom, right, top = tp.get_rect(k)
            assert -1 <= left and right <= width + 1 and -1 <= bottom and top <= height + 1, (i, tp.get_rect(k))
    text = "\n".join(texts)
    first = next(i for i, t in enumerate(texts) if "Allocation" in t)
    table_page = " ".join(texts[first].split())   # headers wrap
    for header in ("region id", "transfer", "change", "level after", "binding", "area", "km2"):
        assert header in table_page, header
    # the table may run on over the following landscape pages (long reasons wrap); every row prints
    run_on = [first] + list(itertools.takewhile(lambda i: sizes[i] == (842, 595), range(first + 1, pages)))
    table_text = " ".join(" ".join(texts[i].split()) for i in run_on)
    for rid in ("seoul", "sejong", "jeju"):
        assert rid in table_text
    assert "How it was computed" in text and "Lorenz" in text


def test_gini_in_report_matches_the_metric(report):
    """The Lorenz legend's Gini is the metric of the levels (a reader cross-checks the table)."""
    html = report.read_text(encoding="utf-8")
    inst = load_instance(KOREA)
    r = solve(inst, SolveOptions(objective="max-mean", price_of_fairness=False))
    w = inst.regions.population.to_numpy(dtype=float)
    g = gini(r.allocation.level_after.to_numpy(dtype=float), w)
    assert f"max-mean (Gini {g:.4f})" in html
    assert "sejong (max-mean) 5.25 (axis clipped)" in html.lower()


def test_policy_flags_hold_on_the_frontier(tmp_path, report):
    """--hold-harmless reaches the sweep too: its points are solved with the policy (rebuild
    mode), not on the bare core (the fast path the plain report's frontier uses)."""
    out = tmp_path / "hh.html"
    r = invoke("report", KOREA, "--hold-harmless", "0.5", "--sweep", "0.9x:1.1x:2", "--output", out)
    assert r.exit_code == 0, r.output
    assert "maxmin frontier against the budget (mode: rebuild)" in out.read_text(encoding="utf-8")
    assert "maxmin frontier against the budget (mode: fast-path)" in report.read_text(encoding="utf-8")


def test_services_table_is_reported(tmp_path):
    """A services round: the per-service table follows the allocation, one row per region and service."""
    out = tmp_path / "svc.html"
    r = invoke("report", INSTANCES / "korea-17-services", "--output", out)
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    body = html.split('<section id="table-services">', 1)[1].split("</section>", 1)[0]
    services = (INSTANCES / "korea-17-services" / "services.csv").read_text().strip().splitlines()[1:]
    assert body.count("<tr>") == 1 + len(services) == 1 + 17 * 6
    assert "child_welfare" in body
