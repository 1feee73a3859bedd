"""The rendered reports, opened in a real browser (headless Chromium).

Checks what a reader sees: ``reports/index.html`` and a case study's HTML load
without console errors, show the headline numbers from each study's main JSON,
and every figure decodes (``naturalWidth > 0``), and a full-page screenshot
can be taken. (The README's screenshot comes from a full ``make run`` through
``make screenshot``; tests never write into the user's ``reports/``.)

Chromium is Debian's ``chromium`` with its matching ``chromium-driver``; if
absent it is installed with apt-get (needs root and the Debian package
registry, as in CI). Selenium is pointed at ``/usr/bin/chromedriver`` so it
never downloads a driver.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
]


def _ensure_chromium() -> None:
    """Install Debian's chromium and its driver if absent.

    Skipped only where installing is impossible (not root, or no apt-get), and
    never in CI (``CI`` set); a failed installation where it should work fails.
    """
    if shutil.which("chromium") and Path(CHROMEDRIVER).exists():
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        reason = (
            "headless Chromium is not installed and cannot be installed here (needs root and "
            "apt-get); install it with: apt-get install -y chromium chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-800:]}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, path: Path) -> list[dict]:
    """Load a local page and return its console errors (severity SEVERE)."""
    driver.get_log("browser")  # drop messages from the previous page
    driver.get(path.resolve().as_uri())
    driver.execute_script(
        "return Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));"
    )
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def image_widths(driver) -> list[int]:
    return driver.execute_script(
        "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0);"
    )


def _same(shown: str, value) -> bool:
    """Whether the text shown for a headline value is that value (numbers up to rounding)."""
    if isinstance(value, bool):
        return shown == ("yes" if value else "no")
    if isinstance(value, int | float):
        try:
            number = float(shown.replace(",", ""))
        except ValueError:
            return False
        return math.isclose(number, value, rel_tol=1e-3, abs_tol=6e-4)
    if value is None:
        return shown == "n/a"
    if isinstance(value, list):
        return shown == ", ".join(str(v) for v in value)
    return shown == str(value)


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
            assert _same(shown, headline[label]), (study.name, label, shown, headline[label])
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git_state(root: Path) -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "notebooks", "reports"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    hashes = subprocess.run(
        ["git", "hash-object", *sorted(map(str, (root / "notebooks").glob("*.ipynb")))],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return done.stdout + hashes.stdout


@pytest.fixture
def lab_server(tmp_path):
    """``make lab`` on a private working-copy folder, as an attendee starts it."""
    import threading
    import urllib.request

    from selenium.webdriver.support.ui import WebDriverWait

    from fairaudit._io import project_root

    root = project_root()
    port, token = _free_port(), "workshop-test"
    workspace = tmp_path / "workspace"
    jupyter = tmp_path / "jupyter"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "settings"),
    }
    server = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "lab",
            f"WORKSPACE={workspace}",
            f"LAB_PORT={port}",
            f"LAB_ARGS=--no-browser --IdentityProvider.token={token} --ServerApp.ip=127.0.0.1",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Jupyter prints its address when it is about to listen: wait for that line (or for
        # the output to end, if make lab fails), then for the API to answer. The bounds are for
        # a hung server on a loaded machine, never a pause.
        output, settled = [], threading.Event()

        def read() -> None:
            for line in server.stdout:
                output.append(line)
                if f"{url}/" in line:
                    settled.set()
            settled.set()  # the output ended: make lab stopped

        threading.Thread(target=read, daemon=True).start()
        settled.wait(timeout=600)
        if not any(f"{url}/" in line for line in output):
            pytest.fail(f"make lab did not start: {''.join(output)[-2000:]}")

        def kernelspecs(_):
            with urllib.request.urlopen(f"{url}/api/kernelspecs?token={token}", timeout=60) as r:
                return json.load(r)

        # the port is bound on the server's first event-loop turn, just after the line above
        specs = WebDriverWait(None, 300, ignored_exceptions=(OSError,)).until(kernelspecs)
        yield url, token, workspace, specs
    finally:
        import signal

        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_jupyterlab_runs_a_working_copy_with_the_project_kernel(browser, lab_server):
    """Open a working copy through ``make lab``, Run All Cells, save: no errors, checks answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from fairaudit._io import project_root

    url, token, workspace, specs = lab_server
    before = _git_state(project_root())
    assert specs["default"] == "fairaudit"
    assert specs["kernelspecs"]["fairaudit"]["spec"]["display_name"] == "fairaudit (Python 3.11)"

    name = "03_fairness_monitoring.ipynb"
    copy = workspace / name
    unchanged = copy.read_text()
    browser.get(f"{url}/lab/tree/{name}?token={token}")
    wait = WebDriverWait(browser, 300)  # a bound for a loaded machine, not a pause
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    status = (By.CSS_SELECTOR, ".jp-Toolbar-kernelName")
    wait.until(lambda d: "fairaudit (Python 3.11)" in d.find_element(*status).text)

    def click_menu(label: str, item: str) -> None:
        menu = f"//div[contains(@class,'lm-MenuBar-itemLabel') and text()='{label}']"
        wait.until(ec.element_to_be_clickable((By.XPATH, menu))).click()
        entry = f"//div[contains(@class,'lm-Menu-itemLabel') and text()='{item}']"
        wait.until(ec.element_to_be_clickable((By.XPATH, entry))).click()

    click_menu("Run", "Run All Cells")
    prompts = (By.CSS_SELECTOR, ".jp-CodeCell .jp-InputPrompt")

    def all_cells_ran(driver) -> bool:  # nothing queued ([*]) or unrun ([ ]) is left
        texts = [e.text.strip() for e in driver.find_elements(*prompts)]
        return bool(texts) and all(t not in ("[*]:", "[ ]:", "[ ]", "") for t in texts)

    WebDriverWait(browser, 900).until(all_cells_ran, "Run All Cells did not finish")
    click_menu("File", "Save Notebook")
    wait.until(lambda _: copy.read_text() != unchanged)

    saved = nbformat.read(copy, as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    checks = [c for c in code if "check" in c.metadata.get("tags", [])]
    said = ["".join(o.get("text", "") for o in c.outputs) for c in checks]
    assert len(said) == 3 and all(s.startswith("Not yet: ") for s in said), said
    assert saved.metadata.kernelspec["name"] == "fairaudit"
    assert _git_state(project_root()) == before
