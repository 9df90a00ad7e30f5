"""`snakemake --report report.html` on the built demo: every built figure is inside, byte for byte, with
its caption rendered from workflow/report/<fig>.rst."""

from __future__ import annotations

import base64
import json
import re

import pytest

from repo_copy import build_demo, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

TARGET = "figures/fig9.pdf"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    repo = build_demo(tmp_path_factory.mktemp("report") / "repo", TARGET)
    result = snakemake(repo, "--profile", "profiles/demo", "--report", "report.html", TARGET)
    assert result.returncode == 0, result.stdout[-4000:]
    return repo, (repo / "report.html").read_text()


def embedded(html: str, name: str) -> tuple[str, bytes]:
    """(caption html, file bytes) of result `name` in a Snakemake report."""
    entry = re.search(rf'"filename": "{re.escape(name)}".*?"caption": ("(?:[^"\\]|\\.)*")', html, re.S)
    data = re.search(rf"data:application/pdf;charset=utf8;filename={re.escape(name)};base64,([A-Za-z0-9+/=]+)", html)
    assert entry and data, f"{name} is not in the report"
    return json.loads(entry.group(1)), base64.b64decode(data.group(1))


def test_report_holds_each_built_figure_with_its_caption(report):
    repo, html = report
    built = sorted((repo / "figures").glob("*.pdf"))
    assert [p.name for p in built] == ["fig9.pdf"]
    for pdf in built:
        caption, data = embedded(html, pdf.name)
        assert data == pdf.read_bytes()
        assert caption.startswith("<p>Fig.") and "{{" not in caption


def test_caption_is_rendered_from_the_run_config(report):
    _, html = report
    caption, _ = embedded(html, "fig9.pdf")
    assert "random training images of synthetic" in caption  # demo dataset, from snakemake.config
    assert "<strong>bottom</strong>" in caption  # reStructuredText rendered to HTML
