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
BIG_MAP = Path(__file__).resolve().parent / "fixtures" / "explorer_20k.ipynb"
SCREENSHOTS = ["clip_player.png", "cluster_explorer.png", "diva_stepper.png", "jupyterlab.png", "threshold_tuner.png"]
# what plotly holds for a graph inside a widget: the data it draws (text labels, selected points, point count)
TRACE = "(el, key) => { const gd = el.querySelector('.js-plotly-plot'); const t = gd._fullData[0]; return key === 'text' ? " \
        "Array.from(t.text || []).filter(x => x) : key === 'selected' ? (t.selectedpoints ? Array.from(t.selectedpoints).length : -1) : " \
        "key === 'n' ? t.x.length : gd._fullLayout.title.text; }"

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
    shutil.copy(BIG_MAP, root / BIG_MAP.name)
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


def _open_and_run(page, url: str, token: str, name: str) -> None:
    """Open a notebook in JupyterLab, wait for an idle kernel, run every cell."""
    page.goto(f"{url}/lab/tree/{name}?token={token}")
    page.wait_for_function("(name) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                           " return w && w.sessionContext && w.context && w.context.path.endsWith(name); }", arg=name, timeout=120_000)
    page.wait_for_function("() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
                           " return s.session && s.session.kernel && s.session.kernel.status === 'idle'; }", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def test_tour_widgets_render_and_respond_in_jupyterlab(jupyterlab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, token = jupyterlab
    shots = Path(os.environ.get("LABKIT_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        phase = ["opening the tour"]  # named in each console error
        page.on("console", lambda m: console_errors.append(f"{phase[0]}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(f"{phase[0]}: {e}"))
        try:
            _open_and_run(page, url, token, NOTEBOOK.name)
            stepper = page.locator(".labkit-diva-stepper")
            stepper.wait_for(state="visible", timeout=420_000)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] .jp-RenderedText:has-text('Error')")
            assert errors.count() == 0, errors.first.inner_text()
            assert page.locator(".jp-OutputArea-output:has-text('it/s]')").count() == 0  # no stray progress bars

            phase[0] = "cluster explorer"
            # ---- cluster explorer: names on the map, a picked cluster highlighted, legend isolates, search lists the nearest
            explorer = page.locator(".labkit-cluster-explorer").first
            expect(explorer.locator(".js-plotly-plot")).to_be_visible(timeout=60_000)
            explorer.scroll_into_view_if_needed()
            n_tags = explorer.evaluate(TRACE, "n")
            assert len(explorer.evaluate(TRACE, "text")) == n_tags > 5  # a small map: every tag named
            assert explorer.evaluate(TRACE, "selected") == -1  # nothing selected: every point at full strength
            explorer.locator(".widget-dropdown:has(label:text-is('cluster')) select").select_option(index=1)
            expect(explorer.locator(".labkit-members")).to_contain_text("selected tags (cluster 0)", timeout=30_000)
            listed = int(explorer.locator(".labkit-members b").first.inner_text().split()[0])
            page.wait_for_function("(n) => { const gd = document.querySelector('.labkit-cluster-explorer .js-plotly-plot');"
                                   " return gd._fullData[0].selectedpoints && gd._fullData[0].selectedpoints.length === n; }", arg=listed,
                                   timeout=30_000)  # the map highlights exactly the listed tags
            explorer.locator(".widget-dropdown:has(label:text-is('map')) select").select_option("umap")  # re-project: the selection stays
            expect(explorer).to_contain_text("map: umap; clusters and selection kept", timeout=240_000)  # UMAP fitted (numba compiles once)
            expect(explorer.locator(".labkit-members")).to_contain_text(f"{listed} selected tags")
            page.wait_for_function("(n) => { const gd = document.querySelector('.labkit-cluster-explorer .js-plotly-plot');"
                                   " return gd._fullData[0].selectedpoints && gd._fullData[0].selectedpoints.length === n; }", arg=listed,
                                   timeout=30_000)
            explorer.locator(".labkit-legend-entry").nth(1).click()  # isolate cluster 1
            page.wait_for_function("() => document.querySelector('.labkit-cluster-explorer .js-plotly-plot')._fullLayout.title.text"
                                   ".includes('cluster 1 only')", timeout=30_000)
            assert explorer.evaluate(TRACE, "n") < n_tags
            explorer.get_by_role("button", name="show all clusters").click()
            page.wait_for_function(f"() => document.querySelector('.labkit-cluster-explorer .js-plotly-plot')._fullData[0].x.length === {n_tags}",
                                   timeout=30_000)
            find = explorer.locator(".widget-text:has(label:text-is('find')) input")
            find.fill(explorer.evaluate(TRACE, "text")[0][:4])
            find.press("Enter")
            expect(explorer.locator(".labkit-members")).to_contain_text("nearest tags", timeout=30_000)
            expect(explorer.locator(".labkit-members")).to_contain_text("cos ", timeout=30_000)
            explorer.screenshot(path=str(shots / "cluster_explorer.png"))

            phase[0] = "threshold tuner"
            # ---- threshold tuner: titled histograms, named thresholds, changed items first, flat factors flagged
            tuner = page.locator(".labkit-threshold-tuner")
            expect(tuner.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
            expect(tuner.locator(".js-plotly-plot")).to_have_count(2)  # the histograms, and coverage / precision curves
            tuner.scroll_into_view_if_needed()
            expect(tuner.locator(".js-plotly-plot .xtitle").first).to_have_text("log10 SI")
            expect(tuner.locator(".js-plotly-plot").nth(1).locator(".legendtext").first).to_have_text("coverage")
            expect(tuner.locator(".js-plotly-plot .legendtext").first).to_contain_text("τ = ")
            item_select = tuner.locator(".widget-dropdown:has(label:text-is('item')) select")
            assert "pass)" in item_select.locator("option").first.inner_text()
            tuner.locator("label:has-text('SN') input[type=checkbox]").click()  # switch SN off: the view recomputes
            expect(tuner).to_contain_text("the last change changed", timeout=30_000)
            changed = tuner.locator(".widget-html:has-text('the last change changed')").inner_text()
            if not changed.split("changed ")[-1].startswith("0"):
                expect(item_select.locator("option").first).to_contain_text("●", timeout=30_000)
            expect(tuner).to_contain_text("is 1 for every candidate here", timeout=30_000)  # DA on the bundled data
            tuner.screenshot(path=str(shots / "threshold_tuner.png"))

            phase[0] = "clip player"
            # ---- clip player: listens to the tag map, the playhead moves while playing, predictions marked
            player = page.locator(".labkit-clip-player")
            expect(player.locator("audio")).to_have_count(1, timeout=60_000)
            expect(player).to_contain_text("1 of 12")
            player.scroll_into_view_if_needed()
            player.get_by_role("button", name="next ▶").click()
            expect(player).to_contain_text("clip-01.wav (2 of 12", timeout=30_000)
            clip_map = page.locator(".labkit-cluster-explorer").nth(1)
            clip_map.locator(".widget-dropdown:has(label:text-is('cluster')) select").select_option(index=1)
            expect(player).to_contain_text("clips with", timeout=30_000)
            page.wait_for_function("() => { const a = document.querySelector('.labkit-clip-player audio'); return a && a.currentTime > 0.3; }",
                                   timeout=30_000)  # listening: the first clip carrying those tags plays
            head = player.locator(".labkit-playhead")
            left = float(head.evaluate("h => parseFloat(h.style.left)"))
            page.wait_for_timeout(700)
            assert float(head.evaluate("h => parseFloat(h.style.left)")) > left > 0  # the playhead moves with the audio
            player.screenshot(path=str(shots / "clip_player.png"))
            player.locator("audio").evaluate("a => a.pause()")

            phase[0] = "DiVa stepper"
            # ---- DiVa stepper: only meaningful buttons, evidence with the phrase marked, keys, a log that follows
            stepper.scroll_into_view_if_needed()
            expect(stepper.get_by_role("button", name="infer")).to_be_disabled()
            expect(stepper.get_by_role("button", name="redo round")).to_be_disabled()
            expect(stepper).to_contain_text("The history chart appears once a round has been trained")
            stepper.get_by_role("button", name="train").click()
            expect(stepper).to_contain_text("validation PSP@5", timeout=180_000)
            expect(stepper).to_contain_text("last step: train", timeout=30_000)
            expect(stepper.get_by_role("button", name="redo round")).to_be_enabled()
            stepper.get_by_role("button", name="infer").click()
            expect(stepper.get_by_role("button", name="joint score")).to_be_enabled(timeout=120_000)
            stepper.get_by_role("button", name="joint score").click()
            expect(stepper.get_by_role("button", name="select")).to_be_enabled(timeout=120_000)
            evidence = stepper.locator(".labkit-evidence")
            expect(evidence).to_contain_text("classifier probability", timeout=30_000)
            expect(evidence.locator("mark")).to_have_count(1)  # the comment, with the phrase marked
            first = stepper.locator("select option").first
            keys = stepper.locator(".labkit-keys input")
            keys.click()
            keys.press("r")  # reject by key
            expect(first).to_contain_text("✗", timeout=30_000)
            expect(stepper).to_contain_text("1 rejected")
            log = stepper.locator(".labkit-log div[style*='column-reverse']")
            box = log.bounding_box()
            newest = stepper.locator(".labkit-log div[style*='column-reverse'] > div > div").last
            line = newest.bounding_box()
            assert box["y"] - 1 <= line["y"] and line["y"] + line["height"] <= box["y"] + box["height"] + 1  # the newest line in view
            stepper.screenshot(path=str(shots / "diva_stepper.png"))
            stepper.get_by_role("button", name="select").click()
            expect(stepper).to_contain_text("rejected 1", timeout=120_000)
            ticks = stepper.locator(".js-plotly-plot .ytick text, .js-plotly-plot .y2tick text").all_text_contents()
            assert ticks and not any(t in ("nan", "NaN") or t.startswith("−") for t in ticks)  # no placeholders
            page.screenshot(path=str(shots / "jupyterlab.png"))

        finally:
            browser.close()
    assert sorted(p.name for p in shots.glob("*.png")) == SCREENSHOTS
    assert not console_errors, console_errors


def test_a_20000_tag_map_renders_and_selects_in_jupyterlab(jupyterlab, tmp_path):
    """The explorer at folksonomy scale, in its own JupyterLab: 20,000 points, the 40 most frequent named."""
    from playwright.sync_api import expect, sync_playwright

    url, token = jupyterlab
    shots = Path(os.environ.get("LABKIT_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        try:
            _open_and_run(page, url, token, BIG_MAP.name)
            # ---- 20,000 tags on one map
            big = page.locator(".labkit-big-map")
            expect(big.locator(".js-plotly-plot")).to_be_visible(timeout=300_000)
            page.wait_for_function("() => { const gd = document.querySelector('.labkit-big-map .js-plotly-plot');"
                                   " return gd && gd._fullData && gd._fullData[0].x.length === 20000; }", timeout=120_000)
            assert len(big.evaluate(TRACE, "text")) == 40  # the 40 most frequent named
            big.locator(".widget-dropdown:has(label:text-is('cluster')) select").select_option(index=3)
            expect(big.locator(".labkit-members")).to_contain_text("selected tags (cluster 2)", timeout=60_000)
            page.wait_for_function("() => document.querySelector('.labkit-big-map .js-plotly-plot')._fullData[0].selectedpoints",
                                   timeout=60_000)
            big.screenshot(path=str(shots / "explorer_20k.png"))
        finally:
            browser.close()
    assert (shots / "explorer_20k.png").exists()
    assert not console_errors, console_errors
