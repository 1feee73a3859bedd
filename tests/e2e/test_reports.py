"""The real case studies through the command, once per session, and their reports in a browser.

``fairaudit run`` runs every case study once, at small values (the session's
``rendered_reports``); every test that reads that run lives in this file, so
that the run is made once per test session even when two workers share the
files (each worker builds its own session fixtures).
"""

from __future__ import annotations

import json
import os
import re
from importlib import metadata
from unittest import mock

import nbformat
import pytest
from notebook_run import rendered_markdown
from report_pages import (
    image_widths,
    open_page,
    parameters_cell,
    parse_html,
    same_value,
    snapshot,
)

from fairaudit._io import OUTPUT_ROOT_ENV
from fairaudit.cli import STUDIES
from fairaudit.datasets import load_adult, load_credit_card


def test_every_case_study_runs_with_its_small_values(rendered_reports):
    assert rendered_reports.code == 0, rendered_reports.err
    for name, study in rendered_reports.registry.items():
        run_dir = rendered_reports.run_dirs[name]
        stem = study.notebook_path.stem
        for artefact in (f"{stem}.ipynb", f"{stem}.html", "run.json", study.main_json):
            assert (run_dir / artefact).is_file(), (name, artefact)
        headline = json.loads((run_dir / study.main_json).read_text())["headline"]
        assert isinstance(headline, dict) and 3 <= len(headline) <= 6, name
        record = json.loads((run_dir / "run.json").read_text())
        declared = parameters_cell(study.notebook_path)
        small = {
            "sample_fraction": 0.2,
            "n_boot": 100,
            "epsilons": [0.02],
            "eg_bounds": [0.02],
            "gs_grid_size": 3,
            "days": 4,
            "drift_day": 2,
            "rows": 100_000,
            "scaling": False,
        }
        small |= {"sensitive_features": "MARRIAGE"} if name == "credit-loan" else {}
        if study.name.startswith("tiny"):
            small = {"group": "south"}
        assert record["overrides"] == {k: v for k, v in small.items() if k in declared}
        assert record["versions"]["fairaudit"] == metadata.version("fairaudit")
        # the notebook's own record names the run folder, not the folder it was made in
        recorded = re.findall(r'"output_dir": "([^"]*)"', (run_dir / study.main_json).read_text())
        assert set(recorded) <= {str(run_dir)}, (name, recorded)
        if study.dataset and not study.name.startswith("tiny"):  # the data the notebook used
            loaded = {"credit_card": load_credit_card, "adult": load_adult}[study.dataset]
            assert record["data"]["content_sha256"] == loaded(cache=False).attrs["content_sha256"]
    page = parse_html(rendered_reports.reports / "index.html")
    for link in page.links + page.images:
        assert (rendered_reports.reports / link).exists(), link


def test_credit_study_rerun_with_marriage_reads_marriage(rendered_reports):
    assert rendered_reports.code == 0, rendered_reports.err
    run_dir = rendered_reports.run_dirs["credit-loan"]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["parameters"]["sensitive_features"] == "MARRIAGE"
    executed = nbformat.read(str(run_dir / "01_credit_loan.ipynb"), as_version=4)
    prose = rendered_markdown(executed)
    assert any("MARRIAGE" in text for text in prose)
    # No computed output (prose, tables, printed text) still speaks of the default
    # attribute: the committed run (sensitive_features="SEX") does, everywhere.
    default_attribute = re.compile(r"\bSEX\b|\b[Ff]emale\b|\b[Mm]ale\b")
    assert [text for text in computed_text(executed) if default_attribute.search(text)] == []
    committed = nbformat.read(str(STUDIES["credit-loan"].notebook_path), as_version=4)
    assert any(default_attribute.search(text) for text in computed_text(committed))
    headline = json.loads((run_dir / "summary.json").read_text())["headline"]
    assert "MARRIAGE" in json.dumps(headline)
    assert "MARRIAGE" in (run_dir / "01_credit_loan.html").read_text()


def computed_text(nb) -> list[str]:
    """Every text a notebook's code cells output (Markdown, HTML, plain text, streams)."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.output_type == "stream":
                texts.append(output.text)
            for mime in ("text/markdown", "text/html", "text/plain"):
                if mime in output.get("data", {}):
                    texts.append(output["data"][mime])
    return texts


def test_a_command_run_report_survives_a_plain_papermill_run(rendered_reports):
    """Lab, papermill and nbconvert runs write to reports/scratch/<study>/, never to a run's."""
    from notebook_run import execute_case_study

    study = rendered_reports.registry.get("audit-at-scale")
    if study is None:  # the fixture notebooks stand in for missing case studies
        pytest.skip("case study 4 is not in this checkout")
    run_dir = rendered_reports.run_dirs["audit-at-scale"]
    before = snapshot(run_dir)
    executed = rendered_reports.reports.parent / "papermill-run.ipynb"
    # the same project root as the command's run, so the default output_dir is beside it
    with mock.patch.dict(os.environ, {OUTPUT_ROOT_ENV: str(rendered_reports.reports.parent)}):
        execute_case_study(study.notebook_path.name, executed, {"rows": 50_000, "scaling": False})
    assert snapshot(run_dir) == before
    scratch = rendered_reports.reports / "scratch" / "audit_at_scale"
    assert (scratch / "scale_summary.json").is_file()


# --------------------------------------------------------------------------- in a browser


def test_index_shows_headline_numbers_and_figures_without_errors(browser, rendered_reports):
    from selenium.webdriver.common.by import By

    assert rendered_reports.code == 0, rendered_reports.err
    reports, registry = rendered_reports.reports, rendered_reports.registry
    index = reports / "index.html"
    errors = open_page(browser, index)
    assert errors == [], errors
    assert browser.title == "fairaudit: case-study runs"

    expected_figures = 0
    for study in registry.values():
        record_path = rendered_reports.run_dirs[study.name] / "run.json"
        run_dir = record_path.parent
        headline = json.loads((run_dir / study.main_json).read_text())["headline"]
        section = browser.find_element(By.ID, study.name)
        labels = [e.text for e in section.find_elements(By.CSS_SELECTOR, ".headline dt")]
        values = [e.text for e in section.find_elements(By.CSS_SELECTOR, ".headline dd")]
        assert labels == list(headline), study.name
        for label, shown in zip(labels, values, strict=True):
            assert same_value(shown, headline[label]), (study.name, label, shown, headline[label])
        expected_figures += len(list(run_dir.glob("*.png")))

    widths = image_widths(browser)
    assert len(widths) == expected_figures and expected_figures > 0
    assert all(w > 0 for w in widths), widths

    # The whole page, as `make screenshot` takes it for the README (here into the test session's
    # output folder, never the user's reports/).
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    metrics = {"width": 1280, "height": min(height, 8000), "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    screenshot = reports / "screenshot-index.png"
    try:
        assert browser.save_screenshot(str(screenshot))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert screenshot.stat().st_size > 10_000


def test_case_study_html_loads_with_its_figures(browser, rendered_reports):
    from selenium.webdriver.common.by import By

    assert rendered_reports.code == 0, rendered_reports.err
    study = rendered_reports.featured
    run_dir = rendered_reports.run_dirs[study.name]
    stem = study.notebook_path.stem
    errors = open_page(browser, run_dir / f"{stem}.html")
    assert errors == [], errors
    assert browser.title == stem

    executed = nbformat.read(str(run_dir / f"{stem}.ipynb"), as_version=4)
    pngs = sum(
        "image/png" in output.get("data", {})
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    widths = image_widths(browser)
    assert pngs > 0 and len(widths) >= pngs
    assert all(w > 0 for w in widths), widths
    text = browser.find_element(By.TAG_NAME, "body").text
    for value in rendered_reports.featured_values:
        assert value in text
