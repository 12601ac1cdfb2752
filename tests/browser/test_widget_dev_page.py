"""
The learner-dashboard widget's dev page (``npm run dev`` in frontend/): the widget inside the
learner dashboard's layout with Paragon, on the demo's JSON, at 1280 and 390 px. Needs the
widget's packages (``npm ci`` in frontend/); skipped without them unless MICROCRED_REQUIRE_BROWSER=1.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from .conftest import ROOT, accessibility_violations, free_port, screenshot
from .layout import overflow, widest_elements

pytestmark = pytest.mark.browser

FRONTEND = ROOT / "frontend"
VITE = FRONTEND / "node_modules" / ".bin" / "vite"


@pytest.fixture(scope="module")
def dev_page(tmp_path_factory):
    """The widget's dev page (frontend/dev/) served by Vite's dev server for the module; its URL."""
    if not VITE.exists():
        if os.environ.get("MICROCRED_REQUIRE_BROWSER") == "1":
            pytest.fail("frontend/node_modules is missing: run npm ci in frontend/")
        pytest.skip("frontend/node_modules is missing (npm ci in frontend/)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("vite") / "vite.log"
    log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with  (closed at teardown)
    process = subprocess.Popen(  # pylint: disable=consider-using-with  (stopped at teardown)
        [str(VITE), "serve", "dev", "--config", "vite.config.js", "--port", str(port), "--strictPort"],
        cwd=FRONTEND, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the dev server did not start; see {log.name}") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()
    # A dependency found only while serving is bundled again under a new hash and the page reloads
    # with modules of both bundles (two Reacts): vite.config.js's optimizeDeps must list them all.
    served = Path(log.name).read_text(encoding="utf-8", errors="replace")
    assert "optimized dependencies changed" not in served, f"the dev server bundled its dependencies twice:\n{served}"


@pytest.mark.parametrize("learner", ["ada", "grace"])
def test_the_dev_page_shows_the_widget_on_the_demos_json(dev_page, new_page, learner):
    page = new_page()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{dev_page}?learner={learner}")
        widget = page.get_by_role("region", name="My credentials")
        widget.get_by_text("View all my credentials").wait_for()
        assert widget.locator(".microcred-widget-badges li.microcred-widget-badge").count() >= 1
        # Paragon is there: its card and progress bar styles apply.
        assert page.evaluate("getComputedStyle(document.querySelector('.microcred-widget')).borderRadius") != "0px"
        assert overflow(page) == 0, widest_elements(page)
        assert accessibility_violations(page) == {}
        screenshot(page, f"widget-dev-page-{learner}-{width}")
