"""
Test fixtures: a virtualenv with Tutor and this plugin, and throwaway Tutor project roots.

Tutor runs only as a command (``tutor ...`` in a subprocess), the way operators run it, so these
tests work from any Python that has pytest. The virtualenv is made once and cached in
``tutor/.venv-test/<key>/`` (git-ignored); the key changes with the Tutor version asked for and with
pyproject.toml, so a change to either makes a fresh one.

- ``MICROCRED_TUTOR_SPEC``: the Tutor requirement to test against (default: the current release
  line, Verawood), e.g. ``MICROCRED_TUTOR_SPEC="tutor>=19,<20"`` for Sumac.
- ``MICROCRED_TUTOR_VENV``: use this virtualenv instead (it must already have Tutor and the plugin).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent.parent
REPO = PLUGIN_DIR.parent
DEFAULT_TUTOR_SPEC = "tutor>=22.0.0,<23.0.0"
TUTOR_TIMEOUT = 300


def _venv_key(spec: str) -> str:
    digest = hashlib.sha256(spec.encode() + (PLUGIN_DIR / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:12]


def _bin(venv_dir: Path, name: str) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin") / name


def _make_venv(spec: str) -> Path:
    base = PLUGIN_DIR / ".venv-test"
    base.mkdir(exist_ok=True)
    venv_dir = base / _venv_key(spec)
    stamp = venv_dir / "microcred-ready.json"
    with open(base / ".lock", "w") as lock:  # pytest-xdist workers: one of them builds it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv_dir
        shutil.rmtree(venv_dir, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
        installed = subprocess.run(
            [str(_bin(venv_dir, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             spec, "-e", str(PLUGIN_DIR)],
            capture_output=True, text=True, timeout=900, check=False,
        )
        if installed.returncode != 0:
            raise RuntimeError(f"could not install {spec} and the plugin into {venv_dir} "
                               f"(PyPI is needed once):\n{installed.stdout[-5000:]}\n{installed.stderr[-5000:]}")
        stamp.write_text(json.dumps({"spec": spec}))
        for other in base.glob("*/microcred-ready.json"):  # older ones for this spec (pyproject.toml changed)
            if other != stamp and json.loads(other.read_text()).get("spec") == spec:
                shutil.rmtree(other.parent, ignore_errors=True)
    return venv_dir


class Tutor:
    """Runs the ``tutor`` command of the test virtualenv in a project root of its own."""

    def __init__(self, executable: Path, plugins_root: Path):
        self.executable = executable
        self.plugins_root = plugins_root

    def env(self, root: Path, path_prefix: Path | None = None) -> dict:
        # TUTOR_<SETTING> variables override config values: none of the caller's may leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
        env.update(TUTOR_ROOT=str(root), TUTOR_PLUGINS_ROOT=str(self.plugins_root))
        if path_prefix:
            env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
        return env

    def __call__(self, root: Path, *args: str, path_prefix: Path | None = None, check: bool = True):
        result = subprocess.run(
            [str(self.executable), *args], env=self.env(root, path_prefix), capture_output=True, text=True,
            timeout=TUTOR_TIMEOUT, cwd=root.parent,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tutor {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def printvalue(self, root: Path, name: str) -> str:
        return self(root, "config", "printvalue", name).stdout.strip()


@pytest.fixture(scope="session")
def tutor(tmp_path_factory) -> Tutor:
    configured = os.environ.get("MICROCRED_TUTOR_VENV")
    spec = os.environ.get("MICROCRED_TUTOR_SPEC", DEFAULT_TUTOR_SPEC)
    venv_dir = Path(configured) if configured else _make_venv(spec)
    executable = _bin(venv_dir, "tutor")
    assert executable.exists(), f"no tutor command in {venv_dir}"
    return Tutor(executable, tmp_path_factory.mktemp("tutor-plugins"))


@pytest.fixture(scope="session")
def fake_docker(tmp_path_factory):
    """
    A ``docker`` command that records its arguments instead of running anything, so that
    ``tutor local do init`` renders its init tasks (and hands them to "docker compose run") here.
    Returns (bin directory to put first on PATH, log file).
    """
    bin_dir = tmp_path_factory.mktemp("fake-docker-bin")
    log = bin_dir / "calls.jsonl"
    script = bin_dir / "docker"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if 'ls' in sys.argv[1:]:\n"
        "    print('[]')  # docker compose ls --format json: no project is running\n"
    )
    script.chmod(0o755)
    return bin_dir, log

