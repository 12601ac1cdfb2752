"""
The Tutor plugin's own tests (tutor/tests), run from the main suite so that `make test` covers them.

They run in a pytest of their own (the plugin is a separate package with its own pytest settings,
and Tutor runs in a virtualenv of its own, cached in tutor/.venv-test/): this process only starts
that run and reports its output. The first run installs Tutor from PyPI (about a minute); later runs
reuse the virtualenv. Nothing may be skipped: the init task's test needs this suite's Django.
"""

import os
import subprocess
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "tutor"


def test_tutor_plugin():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests"],
        cwd=PLUGIN_DIR, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )
    output = f"{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
    assert result.returncode == 0, output
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "deselected" not in summary, output
