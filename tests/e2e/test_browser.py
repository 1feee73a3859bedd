"""JupyterLab in a real browser (headless Chromium), as a workshop attendee uses it.

``make lab`` serves the working copies with the project kernel: a copy runs all
its cells and saves, a reset is refused while it is open; the threshold
explorer's figure follows its slider. (The rendered reports are opened in the
browser in ``test_reports.py``; the browser itself is ``conftest.py``'s.)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest


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


EXPLORER_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "explorer",
            "metadata": {},
            "outputs": [],
            "source": (
                "import numpy as np\n"
                "from fairaudit.reporting import threshold_explorer\n"
                "rng = np.random.default_rng(0)\n"
                "y = rng.integers(0, 2, 2000)\n"
                "scores = np.clip(0.3 * y + 0.7 * rng.random(2000), 0, 1)\n"
                'groups = rng.choice(["graduate school", "high school"], 2000)\n'
                "threshold_explorer(y, scores, groups)"
            ),
        }
    ],
    "metadata": {
        "kernelspec": {"name": "fairaudit", "display_name": "fairaudit", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """``make lab`` on a private working-copy folder, as an attendee starts it."""
    import threading
    import urllib.request

    from selenium.webdriver.support.ui import WebDriverWait

    from fairaudit._io import project_root

    root = project_root()
    tmp_path = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), "workshop-test"
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "explorer.ipynb").write_text(json.dumps(EXPLORER_NOTEBOOK))
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
            f"LAB_ARGS=--no-browser --IdentityProvider.token={token} --ServerApp.ip=127.0.0.1"
            " --LabApp.expose_app_in_browser=True",  # window.jupyterapp: the notebook's model
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
        yield url, token, workspace, specs, env
    finally:
        import signal

        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _api(url: str, token: str, path: str, method: str = "GET"):
    import urllib.request

    request = urllib.request.Request(f"{url}{path}?token={token}", method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def _click_menu(browser, wait, label: str, item: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    menu = f"//div[contains(@class,'lm-MenuBar-itemLabel') and text()='{label}']"
    wait.until(ec.element_to_be_clickable((By.XPATH, menu))).click()
    entry = f"//div[contains(@class,'lm-Menu-itemLabel') and text()='{item}']"
    wait.until(ec.element_to_be_clickable((By.XPATH, entry))).click()


def test_jupyterlab_runs_a_working_copy_with_the_project_kernel(browser, lab_server):
    """Open a working copy through ``make lab``, Run All Cells, save: no errors, checks answer.

    Then, with the notebook open, ``make reset`` is refused and nothing changes; once its
    tab's session is shut down, the reset goes through.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from fairaudit._io import project_root

    url, token, workspace, specs, env = lab_server
    before = _git_state(project_root())
    kernel_name = "fairaudit (Python {}.{})".format(*__import__("sys").version_info[:2])
    assert specs["default"] == "fairaudit"
    assert specs["kernelspecs"]["fairaudit"]["spec"]["display_name"] == kernel_name
    assert not (workspace / "04_audit_at_scale.ipynb").exists()  # not a workshop notebook

    name = "03_fairness_monitoring.ipynb"
    copy = workspace / name
    # A quick run, its values set as papermill sets them (an injected cell after the parameters
    # cell): what is checked here is Lab's, not the size of the run (the default run is nbval's).
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    small = {"sample_fraction": 0.2, "days": 4, "drift_day": 2}
    nbformat.write(parameterize_notebook(load_notebook_node(str(copy)), small), copy)
    unchanged = copy.read_text()
    browser.get(f"{url}/lab/tree/{name}?token={token}")
    wait = WebDriverWait(browser, 300)  # a bound for a loaded machine, not a pause
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    status = (By.CSS_SELECTOR, ".jp-Toolbar-kernelName")
    wait.until(lambda d: kernel_name in d.find_element(*status).text)

    _click_menu(browser, wait, "Run", "Run All Cells")
    # a cell whose input is collapsed (the prose cells that render computed values) shows a
    # placeholder with an empty prompt of its own: only the input areas' prompts count here,
    # and the saved notebook below shows every code cell, collapsed or not, ran
    prompts = (By.CSS_SELECTOR, ".jp-CodeCell .jp-InputArea .jp-InputPrompt")

    def prompt_texts(driver) -> list[str]:
        return [e.get_attribute("textContent").strip() for e in driver.find_elements(*prompts)]

    def all_cells_ran(driver) -> bool:
        # Read from the notebook's model, not the page: a prose cell whose input is collapsed
        # shows no prompt at all. Every code cell holds an execution count (a queued or running
        # cell holds none) and the kernel is idle.
        return driver.execute_script(
            """
            const panel = window.jupyterapp.shell.currentWidget;
            const cells = Array.from(panel.content.model.cells);
            const kernel = panel.sessionContext.session?.kernel;
            return cells.filter(c => c.type === 'code').every(c => c.executionCount !== null)
              && kernel?.status === 'idle';
            """
        )

    from selenium.common.exceptions import TimeoutException

    try:
        WebDriverWait(browser, 900).until(all_cells_ran)
    except TimeoutException:  # say where it stopped: the prompts, and any error saved
        texts = prompt_texts(browser)
        _click_menu(browser, wait, "File", "Save Notebook")
        wait.until(lambda _: copy.read_text() != unchanged)
        outputs = [o for c in nbformat.read(copy, as_version=4).cells for o in c.get("outputs", [])]
        errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
        pytest.fail(f"Run All Cells did not finish: prompts {texts}, errors {errors}")
    _click_menu(browser, wait, "File", "Save Notebook")
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

    # No news pop-up: the setting make lab writes is in force, and no toast asks.
    settings = _api(url, token, "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert settings["schema"]["properties"]["fetchNews"]["default"] == "false"
    assert settings["settings"].get("fetchNews", "false") == "false"
    toasts = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".Toastify__toast"))
    assert "news" not in toasts.casefold()

    # Reset while the notebook is open in Lab: refused, naming the fix; nothing moves.
    saved_text = copy.read_text()
    reset = ["make", "--no-print-directory", "reset", "NOTEBOOK=03", f"WORKSPACE={workspace}"]
    refused = subprocess.run(reset, cwd=project_root(), env=env, capture_output=True, text=True)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "is open in JupyterLab" in refused.stderr
    assert "Close its tab and shut down its kernel" in refused.stderr
    assert copy.read_text() == saved_text and not (workspace / "backups").exists()
    for session in _api(url, token, "/api/sessions"):
        if session["path"] == name:
            _api(url, token, f"/api/sessions/{session['id']}", method="DELETE")
    done = subprocess.run(reset, cwd=project_root(), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [p.read_text() for p in (workspace / "backups").iterdir()] == [saved_text]


def test_the_explorer_figure_follows_its_slider_and_reads_at_1366_px(browser, lab_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, token, _, _, _ = lab_server
    browser.set_window_size(1366, 768)
    try:
        # a Lab workspace of its own: the default one still shows the other test's tab
        browser.get(f"{url}/lab/workspaces/explorer/tree/explorer.ipynb?token={token}")
        wait = WebDriverWait(browser, 120)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
        kernel = (By.CSS_SELECTOR, ".jp-Toolbar-kernelName")
        wait.until(lambda d: "fairaudit" in d.find_element(*kernel).text)
        _click_menu(browser, wait, "Run", "Run All Cells")
        image = (By.CSS_SELECTOR, ".jp-OutputArea .widget-image")
        first = wait.until(ec.presence_of_element_located(image))
        wait.until(lambda _: first.get_attribute("src") and first.size["width"] > 0)
        before = first.get_attribute("src")
        table = browser.find_element(By.CSS_SELECTOR, ".fairaudit-explorer")
        text_before = table.text

        # The first slider (graduate school) up by ten steps, to 0.60: the figure and the
        # table then show the rates of those thresholds (computed here the same way).
        import numpy as np

        from fairaudit.reporting import threshold_rates

        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 2000)
        scores = np.clip(0.3 * y + 0.7 * rng.random(2000), 0, 1)
        groups = rng.choice(["graduate school", "high school"], 2000)
        thresholds = {"graduate school": 0.6, "high school": 0.5}
        _, summary = threshold_rates(y, scores, groups, thresholds)
        expected = f"disparate impact {summary['disparate_impact']:.3f}"

        handle = browser.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")[0]
        handle.click()
        for _ in range(10):
            handle.send_keys(Keys.ARROW_RIGHT)
        wait.until(lambda d: expected in d.find_element(By.CSS_SELECTOR, ".widget-html").text)
        wait.until(lambda d: d.find_element(*image).get_attribute("src") != before)
        assert text_before != browser.find_element(By.CSS_SELECTOR, ".fairaudit-explorer").text

        # Readable at 1366 px: the figure fits its cell and the window, the header cells do
        # not overlap (read in one script, so a redraw cannot come between the reads).
        layout = browser.execute_script(
            """
            const img = document.querySelector('.jp-OutputArea .widget-image');
            const area = img.closest('.jp-OutputArea-output').getBoundingClientRect();
            const heads = Array.from(document.querySelectorAll('.fairaudit-explorer thead th'))
              .filter(t => t.textContent.trim())
              .map(t => { const r = t.getBoundingClientRect(); return [r.left, r.right]; });
            const box = img.getBoundingClientRect();
            return {img: [box.left, box.right], area: [area.left, area.right],
                    width: document.documentElement.clientWidth, heads: heads};
            """
        )
        left, right = layout["img"]
        assert 0 < right - left and layout["area"][0] - 1 <= left and right <= layout["area"][1] + 1
        assert right <= layout["width"]
        boxes = sorted(layout["heads"])
        assert len(boxes) >= 5
        assert all(
            end <= start + 1 for (_, end), (start, _) in zip(boxes, boxes[1:], strict=False)
        ), boxes
    finally:
        browser.set_window_size(1280, 1600)
