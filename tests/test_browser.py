"""A real browser: JupyterLab in headless Chromium runs the tour notebook, and each of the four
widgets must render and respond to an interaction. Screenshots go to ``$LABKIT_SCREENSHOTS``
(default: the test's temporary folder).

Needs Debian's ``chromium`` and the ``playwright`` package (no browser download); skipped with a
message where either is missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "00_tour.ipynb"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on a free port serving a copy of the tour; yields (url, token)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: install Debian's chromium package (apt-get install chromium)")
    pytest.importorskip("playwright", reason="the playwright package is not installed")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    labconfig = tmp_path / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text('{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True", "--allow-root", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_tour_widgets_render_and_respond_in_jupyterlab(jupyterlab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, token = jupyterlab
    shots = Path(os.environ.get("LABKIT_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}?token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=120_000)
            page.wait_for_function("() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
                                   " return s.session && s.session.kernel && s.session.kernel.status === 'idle'; }", timeout=120_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            stepper = page.locator(".labkit-diva-stepper")
            stepper.wait_for(state="visible", timeout=420_000)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] .jp-RenderedText:has-text('Error')")
            assert errors.count() == 0, errors.first.inner_text()

            explorer = page.locator(".labkit-cluster-explorer")
            expect(explorer.locator(".js-plotly-plot")).to_be_visible(timeout=60_000)
            explorer.scroll_into_view_if_needed()
            explorer.locator(".widget-dropdown:has(label:text-is('cluster')) select").select_option(index=1)
            expect(explorer).to_contain_text("selected tags", timeout=30_000)
            explorer.screenshot(path=str(shots / "cluster_explorer.png"))

            tuner = page.locator(".labkit-threshold-tuner")
            expect(tuner.locator(".js-plotly-plot")).to_be_visible(timeout=60_000)
            tuner.scroll_into_view_if_needed()
            item_select = tuner.locator(".widget-dropdown:has(label:text-is('item')) select")
            before = item_select.input_value()
            item_select.select_option(index=2)
            expect(tuner).to_contain_text("pseudo-labels", timeout=30_000)
            assert item_select.input_value() != before
            tuner.locator("label:has-text('SN') input[type=checkbox]").click()  # switch SN off: the view recomputes
            expect(tuner).to_contain_text("classifier pseudo-labels", timeout=30_000)
            tuner.screenshot(path=str(shots / "threshold_tuner.png"))

            player = page.locator(".labkit-clip-player")
            expect(player.locator("audio")).to_have_count(1, timeout=60_000)
            expect(player).to_contain_text("1 of 12")
            player.scroll_into_view_if_needed()
            player.get_by_role("button", name="next ▶").click()
            expect(player).to_contain_text("clip-01.wav (2 of 12", timeout=30_000)
            player.screenshot(path=str(shots / "clip_player.png"))

            stepper.scroll_into_view_if_needed()
            expect(stepper.get_by_role("button", name="infer")).to_be_disabled()
            stepper.get_by_role("button", name="train").click()
            expect(stepper).to_contain_text("validation PSP@5", timeout=180_000)
            expect(stepper.get_by_role("button", name="infer")).to_be_enabled(timeout=30_000)
            stepper.screenshot(path=str(shots / "diva_stepper.png"))
            page.screenshot(path=str(shots / "jupyterlab.png"))
        finally:
            browser.close()
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "clip_player.png", "cluster_explorer.png", "diva_stepper.png", "jupyterlab.png", "threshold_tuner.png"]
