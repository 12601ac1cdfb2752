"""
Browser tests: the demo host's LMS and Studio run as real servers (``runserver`` subprocesses on
one SQLite file, as the LMS and Studio share one database), and Debian's Chromium, driven by
Playwright, uses them the way people do. Screenshots go to ``test-artifacts/screenshots/``.

The course team guide's pictures (docs/course-team-guide.md) are taken here too, with
``docs_screenshot``: with ``MICROCRED_DOCS_SCREENSHOTS=<directory>`` (``make docs-screenshots``
sets it to ``docs/images/course-team``) they are also copied there, so the guide shows the real
pages and can be brought up to date with one command.

Chromium comes from the system (``/usr/bin/chromium``; ``.ci/run`` installs it). Where it is
missing these tests are skipped, unless ``MICROCRED_REQUIRE_BROWSER=1`` (set by CI) makes that a
failure.
"""

import importlib.util
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MICROCRED_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def _browser_missing():
    """Why the browser tests cannot run here (no Chromium, no playwright), or None."""
    if Path(CHROMIUM).exists():
        if importlib.util.find_spec("playwright") is not None:
            return None
        return "the playwright package is not installed"
    return f"Chromium is not installed at {CHROMIUM}"


def pytest_collection_modifyitems(config, items):
    """Skip the browser tests where they cannot run, or fail where they are required (MICROCRED_REQUIRE_BROWSER)."""
    reason = _browser_missing()
    if reason is None:
        return
    if os.environ.get("MICROCRED_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"Browser tests are required here but {reason}.")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=reason))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Site:
    """The demo LMS and Studio on one database, with a way to run their management commands."""

    lms: str
    cms: str
    env: dict
    processes: list

    def manage(self, *args, settings="sandbox.settings"):
        """Run sandbox/manage.py with ``args`` under ``settings``; its output (the command must succeed)."""
        env = dict(self.env, DJANGO_SETTINGS_MODULE=settings)
        result = subprocess.run([sys.executable, "sandbox/manage.py", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def serve(self, settings, port, log):
        """Serve the host with ``settings`` on ``port`` (its output to ``log``); returns its URL once it answers."""
        env = dict(self.env, DJANGO_SETTINGS_MODULE=settings)
        process = subprocess.Popen(  # pylint: disable=consider-using-with  (stopped with the site)
            [sys.executable, "sandbox/manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{settings} server exited with {process.returncode}; see {log.name}")
            try:
                requests.get(url + "/login/", timeout=2)
                return url
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"{settings} server did not start; see {log.name}")


@pytest.fixture(scope="module")
def site_env():
    """Settings of the module's LMS and Studio, as SANDBOX_* variables; a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def site(tmp_path_factory, site_env):
    """A fresh LMS and Studio for each test module: users, courses and course teams, no catalog."""
    root = tmp_path_factory.mktemp("site")
    lms_port, cms_port = free_port(), free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        SANDBOX_SQLITE=str(root / "db.sqlite3"),
        SANDBOX_MEDIA_ROOT=str(root / "media"),
        SANDBOX_CACHE_DIR=str(root / "cache"),
        SANDBOX_LMS_ROOT_URL=f"http://127.0.0.1:{lms_port}",
        SANDBOX_CMS_ROOT_URL=f"http://127.0.0.1:{cms_port}",
        **site_env,
    )
    site = Site(lms="", cms="", env=env, processes=[])
    site.manage("migrate", "--no-input")
    site.manage("demo_setup")
    logs = [open(root / name, "w", encoding="utf-8")  # pylint: disable=consider-using-with  (closed below)
            for name in ("lms.log", "cms.log")]
    try:
        site.lms = site.serve("sandbox.settings", lms_port, logs[0])
        site.cms = site.serve("sandbox.cms_settings", cms_port, logs[1])
        yield site
    finally:
        for process in site.processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, one for the whole run."""
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel  (optional, see above)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """A page in a fresh context (its own cookies), failing the test on any JavaScript error."""
    contexts, errors = [], []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def docs_screenshot(target, name):
    """
    A picture of the course team guide: ``target`` is a page (its viewport, 1280x900) or a locator
    (that element only), so that each PNG stays small. Written to ``test-artifacts/screenshots/``,
    and also to the directory ``MICROCRED_DOCS_SCREENSHOTS`` names (relative to the repository),
    when set. tests/test_docs.py checks that the guide uses every one and that the names are
    produced here.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if hasattr(target, "goto"):  # a Page
        target.screenshot(path=str(path), full_page=False, animations="disabled", caret="hide")
    else:  # a Locator: the element alone, scrolled to the top of the viewport
        # (Not Locator.screenshot(): in Chromium a form's submit button could then miss its next click.)
        page = target.page
        viewport = page.viewport_size
        height = math.ceil(target.bounding_box()["height"])
        if height > viewport["height"]:  # a taller viewport for a moment
            page.set_viewport_size({"width": viewport["width"], "height": height})
        try:
            target.evaluate("element => element.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(path), clip=target.bounding_box(), animations="disabled", caret="hide")
        finally:
            page.set_viewport_size(viewport)
    docs = os.environ.get("MICROCRED_DOCS_SCREENSHOTS")
    if docs:
        directory = ROOT / docs  # an absolute path stays as it is
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, directory / path.name)
    return path


def sign_in(page, base_url, username, password=None):
    """Sign in at the host's /login/ as ``username`` (password: the username unless given)."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or username)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def accessibility_violations(page, impacts=("serious", "critical")):
    """axe-core's violations of the given impacts on the page as it is now (rule id → help text)."""
    from axe_playwright_python.sync_playwright import \
        Axe  # pylint: disable=import-outside-toplevel  (browser tests only)

    results = Axe().run(page)
    return {v["id"]: f'{v["help"]} ({len(v["nodes"])} nodes: {v["nodes"][0]["target"]})'
            for v in results.response["violations"] if v.get("impact") in impacts}


PHONE = {"width": 390, "height": 844}


def no_horizontal_scroll(page):
    """Whether the page fits its viewport's width (nothing to scroll sideways to)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
