"""
The Tutor plugin, tested the way an operator uses it: ``tutor plugins enable microcred`` and
``tutor config save`` in a fresh project root, then read what Tutor rendered (config.yml, the
settings files, the Dockerfile, docker compose and Kubernetes manifests, the init task).

The settings blocks the plugin adds are executed, not just grepped: what Django would see is what
is checked. Docker is not needed: ``tutor local do init`` runs against a stand-in ``docker`` that
records the init scripts, and the plugin's script is then run for real against the demo host.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

PACKAGE_VERSION = re.search(r'__version__ = "([^"]+)"', (REPO / "openedx_microcred" / "__init__.py").read_text())[1]
SETTINGS_BLOCK = re.compile(r"^# openedx-microcred: begin.*?^# openedx-microcred: end$", re.M | re.S)
OUR_TASKS = {"openedx_microcred.sweep_evaluations", "openedx_microcred.sweep_deliveries",
             "openedx_microcred.recheck_external_credentials"}

OLD_KEK = base64.urlsafe_b64encode(b"o" * 32).decode()
SIGNING_KEY = base64.b64encode(b"s" * 32).decode()
TRICKY_SECRET = 'it\'s a "secret" \\ with {braces}, #hash and\na newline'
ACCOUNTS = {
    "credly": {"backend": "credly", "organization_id": "org-1", "api_key": TRICKY_SECRET, "organizations": ["DemoX"]},
    "obf": {"backend": "obf", "base_url": "https://openbadgefactory.com", "client_id": "c-1",
            "client_secret": "obf-client-secret-value", "organizations": ["*"]},
}
GIT_REQUIREMENT = "openedx-microcred @ git+https://github.com/example/openedx-microcred@v" + PACKAGE_VERSION
CUSTOM_CONFIG = {
    "PLUGINS": [],
    "LMS_HOST": "learn.example.org",
    "ENABLE_HTTPS": True,
    "PLATFORM_NAME": "Example University",
    "MICROCRED_ISSUER_COUNTRY": "NL",
    "MICROCRED_ISSUER_INSTITUTION_CODE": "30GB",
    "MICROCRED_ISSUER_INSTITUTION_CODE_TYPE": "ext:BRIN",
    "MICROCRED_ISSUER_EMAIL": "badges@example.org",
    "MICROCRED_PLATFORM_ACCOUNTS": ACCOUNTS,
    "MICROCRED_DELIVERY": {"max_attempts": 8},
    "MICROCRED_CELERY_QUEUE": "microcred",
    "MICROCRED_RUN_BEAT": False,
    "MICROCRED_KEY_ENCRYPTION_KEYS_OLD": [OLD_KEK],
    "MICROCRED_PIP_REQUIREMENT": GIT_REQUIREMENT,
    "MICROCRED_SIGNING_KEY": SIGNING_KEY,
    "MICROCRED_EXTRA_SETTINGS": {"MICROCRED_REPORT_MIN_COHORT": 20, "MICROCRED_PENDING_EVALUATION_AFTER": 900},
}


def read_config(root: Path) -> dict:
    return yaml.safe_load((root / "config.yml").read_text())


def settings_path(root: Path, service: str, flavour: str) -> Path:
    return root / "env" / "apps" / "openedx" / "settings" / service / f"{flavour}.py"


def plugin_settings(root: Path, service: str, flavour: str, **before) -> tuple[list[str], dict]:
    """
    The plugin's blocks of a rendered settings file, executed after ``before`` (what edx-platform
    and Tutor defined earlier). Returns (blocks, the upper-case names they leave).
    """
    path = settings_path(root, service, flavour)
    source = path.read_text()
    compile(source, str(path), "exec")  # the whole rendered file is valid Python
    blocks = SETTINGS_BLOCK.findall(source)
    namespace = dict(before)
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)  # pylint: disable=exec-used
    return blocks, {k: v for k, v in namespace.items() if k.isupper()}


def assert_fernet_key(key: str):
    """What cryptography's Fernet accepts: URL-safe base64 of exactly 32 bytes (checked canonically)."""
    assert isinstance(key, str) and len(key) == 44, key
    try:
        raw = base64.b64decode(key, altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise AssertionError(f"not URL-safe base64: {key!r}") from exc
    assert len(raw) == 32 and base64.urlsafe_b64encode(raw).decode() == key
    try:
        from cryptography.fernet import Fernet  # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"


def compose_services(root: Path, name: str) -> dict:
    return yaml.safe_load((root / "env" / "local" / name).read_text())["services"]


def k8s_deployments(root: Path) -> dict:
    docs = yaml.safe_load_all((root / "env" / "k8s" / "deployments.yml").read_text())
    return {doc["metadata"]["name"]: doc for doc in docs if doc and doc.get("kind") == "Deployment"}


def init_scripts(tutor, root: Path, fake_docker, *args: str) -> list[tuple[str, str]]:
    """(service, script) of every init task ``tutor local do init`` hands to docker compose run."""
    bin_dir, log = fake_docker
    log.write_text("")
    tutor(root, "local", "do", "init", *args, path_prefix=bin_dir)
    scripts = []
    for line in log.read_text().splitlines():
        argv = json.loads(line)
        if "run" in argv and argv[-3:-1] == ["-e", "-c"]:
            scripts.append((argv[-5].removesuffix("-job"), argv[-1]))
    return scripts


@pytest.fixture(scope="module")
def default_root(tutor, tmp_path_factory):
    """Tutor's defaults, the plugin enabled, then ``tutor config save``."""
    root = tmp_path_factory.mktemp("default") / "root"
    tutor(root, "plugins", "enable", "microcred")
    tutor(root, "config", "save")
    return root


@pytest.fixture(scope="module")
def default_lms_url(tutor, default_root):
    """Tutor's default LMS URL (its LMS_HOST differs between releases)."""
    return f"http://{tutor.printvalue(default_root, 'LMS_HOST')}"


@pytest.fixture(scope="module")
def custom_root(tutor, tmp_path_factory):
    """An operator's config.yml with every plugin setting changed, then the plugin enabled."""
    root = tmp_path_factory.mktemp("custom") / "root"
    root.mkdir()
    (root / "config.yml").write_text(yaml.safe_dump(CUSTOM_CONFIG))
    tutor(root, "plugins", "enable", "microcred")
    tutor(root, "config", "save")
    return root


# --- Config -------------------------------------------------------------------------------------


def test_the_version_pins_the_package_released_with_the_plugin(tutor, default_root):
    assert tutor.printvalue(default_root, "MICROCRED_VERSION") == PACKAGE_VERSION
    assert tutor.printvalue(default_root, "MICROCRED_PIP_REQUIREMENT") == f"openedx-microcred=={PACKAGE_VERSION}"


def test_defaults_follow_the_platform(tutor, default_root, default_lms_url, custom_root):
    # Tutor's default: http (on local.openedx.io), where a did:web could not be resolved by verifiers.
    assert tutor.printvalue(default_root, "MICROCRED_LMS_ROOT_URL") == default_lms_url
    assert tutor.printvalue(default_root, "MICROCRED_DID_METHOD") == "key"
    assert tutor.printvalue(custom_root, "MICROCRED_LMS_ROOT_URL") == "https://learn.example.org"
    assert tutor.printvalue(custom_root, "MICROCRED_DID_METHOD") == "web"


def test_the_key_encryption_key_is_generated_once_per_platform(tutor, default_root, custom_root):
    key = read_config(default_root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    assert_fernet_key(key)
    tutor(default_root, "config", "save")
    assert read_config(default_root)["MICROCRED_KEY_ENCRYPTION_KEY"] == key  # saving again keeps it
    other = read_config(custom_root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    assert_fernet_key(other)
    assert other != key


def test_disabling_removes_the_patches_and_re_enabling_keeps_the_key(tutor, tmp_path):
    root = tmp_path / "root"
    tutor(root, "plugins", "enable", "microcred")
    tutor(root, "config", "save")
    key = read_config(root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    tutor(root, "plugins", "disable", "microcred")
    tutor(root, "config", "save")
    rendered = [p for p in (root / "env").rglob("*") if p.is_file()]
    assert rendered and not [p for p in rendered if "microcred" in p.read_text(errors="replace").lower()]
    # The key stays in config.yml: the signing keys it encrypted must still decrypt after a re-enable.
    tutor(root, "plugins", "enable", "microcred")
    assert read_config(root)["MICROCRED_KEY_ENCRYPTION_KEY"] == key


# --- Settings -----------------------------------------------------------------------------------


def test_lms_settings(default_root, default_lms_url):
    key = read_config(default_root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    blocks, production = plugin_settings(default_root, "lms", "production")
    assert len(blocks) == 2  # common settings, production settings
    assert production["MICROCRED_KEY_ENCRYPTION_KEYS"] == [key]
    assert production["MICROCRED_ISSUER"] == {"name": "My Open edX"}  # empty values: the app's fallbacks
    assert production["MICROCRED_PLATFORM_ACCOUNTS"] == {}
    assert production["MICROCRED_SIGNING_KEY"] == ""
    assert production["MICROCRED_CELERY_QUEUE"] is None  # the LMS default queue
    assert production["MICROCRED_LMS_ROOT_URL"] == default_lms_url
    assert production["MICROCRED_DID_METHOD"] == "key"
    for name in ("CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE"):
        schedule = production[name]
        assert set(schedule) == OUR_TASKS and {entry["task"] for entry in schedule.values()} == OUR_TASKS
        assert all("options" not in entry for entry in schedule.values())

    # Development (tutor dev): LMS_ROOT_URL is Tutor's :8000 one and did:key, so neither is set here.
    blocks, development = plugin_settings(default_root, "lms", "development")
    assert len(blocks) == 1
    assert development["MICROCRED_KEY_ENCRYPTION_KEYS"] == [key]
    assert "MICROCRED_LMS_ROOT_URL" not in development and "MICROCRED_DID_METHOD" not in development


def test_cms_settings(default_root, default_lms_url):
    key = read_config(default_root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    for flavour, count in (("production", 2), ("development", 1)):
        blocks, cms = plugin_settings(default_root, "cms", flavour)
        assert len(blocks) == count
        assert cms["MICROCRED_KEY_ENCRYPTION_KEYS"] == [key]  # Studio reads the same stored keys
        assert cms["MICROCRED_CELERY_QUEUE"] == "edx.lms.core.default"  # Studio's tasks run in the LMS worker
        assert "CELERYBEAT_SCHEDULE" not in cms
    _, production = plugin_settings(default_root, "cms", "production")
    assert production["MICROCRED_LMS_ROOT_URL"] == default_lms_url


def test_the_operators_values_reach_the_settings_intact(custom_root):
    key = read_config(custom_root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    _, lms = plugin_settings(custom_root, "lms", "production")
    assert lms["MICROCRED_PLATFORM_ACCOUNTS"] == ACCOUNTS  # quotes, backslash, braces, newline: all data
    assert lms["MICROCRED_ISSUER"] == {"name": "Example University", "email": "badges@example.org", "country": "NL",
                                       "institution_code": "30GB", "institution_code_type": "ext:BRIN"}
    assert lms["MICROCRED_KEY_ENCRYPTION_KEYS"] == [key, OLD_KEK]  # the new key encrypts, both decrypt
    assert lms["MICROCRED_SIGNING_KEY"] == SIGNING_KEY
    assert lms["MICROCRED_DELIVERY"] == {"max_attempts": 8}
    assert lms["MICROCRED_CELERY_QUEUE"] == "microcred"
    assert lms["MICROCRED_LMS_ROOT_URL"] == "https://learn.example.org"
    assert lms["MICROCRED_DID_METHOD"] == "web"
    # The sweeps go to the app's queue too.
    assert {entry["options"]["queue"] for entry in lms["CELERYBEAT_SCHEDULE"].values()} == {"microcred"}
    _, cms = plugin_settings(custom_root, "cms", "production")
    assert cms["MICROCRED_PLATFORM_ACCOUNTS"] == ACCOUNTS and cms["MICROCRED_CELERY_QUEUE"] == "microcred"
    for settings in (lms, cms):
        assert settings["MICROCRED_REPORT_MIN_COHORT"] == 20 and settings["MICROCRED_PENDING_EVALUATION_AFTER"] == 900


def test_extra_settings_are_the_apps_only(tutor, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "config.yml").write_text(yaml.safe_dump({"PLUGINS": [], "MICROCRED_EXTRA_SETTINGS": {
        "MICROCRED_REPORT_MIN_COHORT": 5, "SECRET_KEY": "not-through-this-plugin"}}))
    result = tutor(root, "plugins", "enable", "microcred", check=False)
    assert result.returncode != 0
    assert "only sets MICROCRED_* settings, not SECRET_KEY" in result.stdout + result.stderr


def test_an_existing_beat_schedule_is_extended_not_replaced(default_root):
    theirs = {"task": "theirs", "schedule": 60.0}
    mine_overridden = {"task": "openedx_microcred.sweep_deliveries", "schedule": 30.0}
    _, lms = plugin_settings(default_root, "lms", "production", CELERYBEAT_SCHEDULE={
        "someone.else": theirs, "openedx_microcred.sweep_deliveries": mine_overridden})
    assert lms["CELERYBEAT_SCHEDULE"]["someone.else"] == theirs
    assert lms["CELERYBEAT_SCHEDULE"]["openedx_microcred.sweep_deliveries"] == mine_overridden
    assert lms["CELERYBEAT_SCHEDULE"]["openedx_microcred.sweep_evaluations"]["schedule"] == 300.0


def test_the_lms_still_starts_on_an_image_built_without_the_package(default_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "openedx_microcred.settings.common", None)  # import fails
    _, lms = plugin_settings(default_root, "lms", "production")
    assert lms["CELERYBEAT_SCHEDULE"] == {}


# --- The image ----------------------------------------------------------------------------------


def test_the_image_installs_the_package_and_holds_no_secret(default_root, custom_root):
    dockerfile = (default_root / "env" / "build" / "openedx" / "Dockerfile").read_text()
    install = f"install 'openedx-microcred=={PACKAGE_VERSION}'"
    assert dockerfile.count(install) == 1
    # In the stage that installs edx-platform's requirements, before the operator's own extras.
    position = dockerfile.index(install)
    stage_end = dockerfile.index("FROM python AS nodejs-requirements")
    assert dockerfile.index("requirements/edx/base.txt") < position < stage_end

    custom = (custom_root / "env" / "build" / "openedx" / "Dockerfile").read_text()
    assert f"install '{GIT_REQUIREMENT}'" in custom and install not in custom

    # Secrets live in the settings mounted at run time, never in the image's build context.
    for root, secrets in ((default_root, [read_config(default_root)["MICROCRED_KEY_ENCRYPTION_KEY"]]),
                          (custom_root, [read_config(custom_root)["MICROCRED_KEY_ENCRYPTION_KEY"], SIGNING_KEY,
                                         "obf-client-secret-value"])):
        build_files = [p for p in (root / "env" / "build").rglob("*") if p.is_file()]
        assert build_files
        for path in build_files:
            text = path.read_text(errors="replace")
            assert not [s for s in secrets if s in text], path


def test_the_package_can_be_left_to_the_operator(tutor, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    checkout = tmp_path / "src" / "openedx-microcred"
    checkout.mkdir(parents=True)
    (root / "config.yml").write_text(yaml.safe_dump({
        "PLUGINS": [], "MICROCRED_PIP_REQUIREMENT": "", "MOUNTS": [str(checkout)],
        # A queue whose workers something else runs (another plugin, another host):
        "MICROCRED_CELERY_QUEUE": "microcred", "MICROCRED_RUN_WORKER": False,
        "OPENEDX_EXTRA_PIP_REQUIREMENTS": ["openedx-microcred==9.9.9"]}))
    tutor(root, "plugins", "enable", "microcred")
    dockerfile = (root / "env" / "build" / "openedx" / "Dockerfile").read_text()
    assert "tutor-microcred" not in dockerfile
    assert "install 'openedx-microcred==9.9.9'" in dockerfile  # through OPENEDX_EXTRA_PIP_REQUIREMENTS
    # A checkout mounted with `tutor mounts add` is installed in the image and mounted in the LMS.
    assert 'install -e "/mnt/openedx-microcred"' in dockerfile
    lms = compose_services(root, "docker-compose.yml")["lms"]
    assert any(volume.startswith(f"{checkout}:/mnt/openedx-microcred") for volume in lms["volumes"])
    assert "lms-microcred-worker" not in compose_services(root, "docker-compose.prod.yml")
    assert "lms-microcred-worker" not in k8s_deployments(root)


# --- Services -----------------------------------------------------------------------------------


def test_a_single_beat_sends_the_sweeps(default_root):
    services = compose_services(default_root, "docker-compose.prod.yml")
    beat, worker = services["lms-microcred-beat"], services["lms-worker"]
    assert beat["command"][:3] == ["celery", "--app=lms.celery", "beat"]
    assert "--beat" not in worker["command"]  # why the plugin runs one: Tutor's worker has no beat
    assert beat["image"] == worker["image"]
    assert beat["environment"] == worker["environment"]  # the LMS production settings, with the schedule
    def mounts(service):  # host:container, whatever the options (Tutor 22 adds SELinux's "z")
        return {":".join(volume.split(":")[:2]) for volume in service["volumes"]}
    settings_mounts = {m for m in mounts(worker) if "/envs/tutor" in m or m.startswith("../apps/openedx/config")}
    assert len(settings_mounts) == 3 and settings_mounts <= mounts(beat)
    assert "lms-microcred-worker" not in services  # the default queue is the lms-worker's
    assert not [s for s in compose_services(default_root, "docker-compose.yml") if "microcred" in s]
    dev = yaml.safe_load((default_root / "env" / "dev" / "docker-compose.yml").read_text())
    assert not [s for s in dev["services"] if "microcred" in s]  # tutor dev runs tasks eagerly

    deployments = k8s_deployments(default_root)
    beat = deployments["lms-microcred-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}  # never two at once
    container = beat["template"]["spec"]["containers"][0]
    lms_worker = deployments["lms-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:3] == ["celery", "--app=lms.celery", "beat"]
    assert container["image"] == lms_worker["image"] and container["env"] == lms_worker["env"]
    assert container["volumeMounts"] == lms_worker["volumeMounts"]
    assert "lms-microcred-worker" not in deployments


def test_a_queue_of_its_own_gets_a_worker_and_beat_can_be_left_out(custom_root):
    services = compose_services(custom_root, "docker-compose.prod.yml")
    assert "lms-microcred-beat" not in services  # MICROCRED_RUN_BEAT: false
    command = services["lms-microcred-worker"]["command"]
    assert command[:3] == ["celery", "--app=lms.celery", "worker"] and "--queues=microcred" in command
    deployments = k8s_deployments(custom_root)
    assert "lms-microcred-beat" not in deployments
    args = deployments["lms-microcred-worker"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--queues=microcred" in args


# --- The init task ------------------------------------------------------------------------------


def test_launch_builds_the_image_and_runs_the_init_task_after_the_migrations(tutor, fake_docker, tmp_path):
    root = tmp_path / "root"
    tutor(root, "plugins", "enable", "microcred")
    bin_dir, log = fake_docker
    log.write_text("")
    tutor(root, "local", "launch", "--non-interactive", path_prefix=bin_dir)
    calls = [json.loads(line) for line in log.read_text().splitlines()]

    # The openedx image is built (it must contain the package), from the context the plugin patched.
    image = tutor.printvalue(root, "DOCKER_IMAGE_OPENEDX")
    builds = [argv for argv in calls if argv[:2] == ["buildx", "build"]]
    assert [argv[-1] for argv in builds if f"--tag={image}" in argv] == [str(root / "env" / "build" / "openedx")]
    assert any("up" in argv and "-d" in argv for argv in calls)

    scripts = [(argv[-5].removesuffix("-job"), argv[-1])
               for argv in calls if "run" in argv and argv[-3:-1] == ["-e", "-c"]]
    ours = [i for i, (_, script) in enumerate(scripts) if "microcred_keys" in script]
    core_migrations = [i for i, (service, script) in enumerate(scripts)
                       if service == "lms" and "./manage.py lms migrate\n" in script]
    assert len(ours) == 1 and len(core_migrations) == 1 and ours[0] > core_migrations[0]
    service, script = scripts[ours[0]]
    assert service == "lms"
    assert "./manage.py lms microcred_keys generate --if-missing" in script
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0

    # launch saved the configuration before the init task: the key it checks for is the settings' one.
    key = read_config(root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    assert plugin_settings(root, "lms", "production")[1]["MICROCRED_KEY_ENCRYPTION_KEYS"] == [key]
    assert hashlib.sha256(key.encode()).hexdigest()[:16] in script


def test_the_init_task_runs_alone_with_limit(tutor, default_root, fake_docker):
    [(service, script)] = init_scripts(tutor, default_root, fake_docker, "--limit", "microcred")
    assert service == "lms" and "./manage.py lms microcred_keys generate --if-missing" in script


def test_no_key_is_stored_when_the_operator_gives_one(tutor, custom_root, fake_docker):
    [(service, script)] = init_scripts(tutor, custom_root, fake_docker, "--limit", "microcred")
    assert service == "lms" and "microcred_keys generate" not in script
    assert "./manage.py lms migrate openedx_microcred" in script


def _lms_with_rendered_settings(tmp_path: Path, root: Path, name: str, replace: tuple[str, str] | None = None):
    """
    A settings module for the demo host that ends the way Tutor's lms/production.py does: with the
    plugin's rendered blocks (optionally with a ``replace`` applied, to stand for a stale env).
    """
    blocks = "\n".join(SETTINGS_BLOCK.findall(settings_path(root, "lms", "production").read_text()))
    if replace:
        assert replace[0] in blocks
        blocks = blocks.replace(*replace)
    (tmp_path / f"{name}.py").write_text(f"from sandbox.settings import *  # noqa\n\n{blocks}\n")
    return name


def _run_init_script(script: str, tmp_path: Path, settings_module: str, python: str = sys.executable):
    """
    Run the init script as Tutor's lms-job container does (sh -e -c, in edx-platform's directory,
    with ./manage.py lms ...), against the demo host and a SQLite database of its own.
    """
    workdir, bin_dir = tmp_path / "edx-platform", tmp_path / "bin"
    for directory in (workdir, bin_dir):
        directory.mkdir(exist_ok=True)
    manage = workdir / "manage.py"  # ./manage.py lms <command> -> the demo host's manage.py <command>
    manage.write_text(f'#!/bin/sh\n[ "$1" = lms ] || exit 64\nshift\nexec "{sys.executable}" '
                      f'"{REPO / "sandbox" / "manage.py"}" "$@"\n')
    manage.chmod(0o755)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {python} "$@"\n')
    (bin_dir / "python").chmod(0o755)
    return subprocess.run(["sh", "-e", "-c", script], cwd=workdir, env=_host_env(tmp_path, settings_module, bin_dir),
                          capture_output=True, text=True, timeout=300, check=False)


def _host_env(tmp_path: Path, settings_module: str, bin_dir: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env.update(DJANGO_SETTINGS_MODULE=settings_module, PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}",
               SANDBOX_DB="sqlite", SANDBOX_SQLITE=str(tmp_path / "db.sqlite3"))
    if bin_dir:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def _host(tmp_path: Path, settings_module: str, *args: str):
    return subprocess.run([sys.executable, str(REPO / "sandbox" / "manage.py"), *args],
                          env=_host_env(tmp_path, settings_module), capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_init_task_creates_the_signing_key_once(tutor, default_root, fake_docker, tmp_path):
    pytest.importorskip("django", reason="runs the task against the demo host: the project's test requirements")
    [(_, script)] = init_scripts(tutor, default_root, fake_docker, "--limit", "microcred")
    lms = _lms_with_rendered_settings(tmp_path, default_root, "tutor_lms")
    first = _run_init_script(script, tmp_path, lms)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Created signing key" in first.stdout
    second = _run_init_script(script, tmp_path, lms)  # `tutor local do init` again
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to do" in second.stdout and "Created signing key" not in second.stdout

    # One key, stored under the key-encryption key from config.yml: the LMS (these settings) signs with it.
    check = _host(tmp_path, lms, "shell", "-c", "from openedx_microcred import keys, models; "
                  "print(models.IssuerKey.objects.count(), keys.signing_key().key_id)")
    assert check.returncode == 0, check.stdout + check.stderr
    count, key_id = check.stdout.strip().splitlines()[-1].split()  # (Django 5.2's shell chats first)
    assert count == "1" and key_id.startswith("key-") and key_id in first.stdout


def test_the_init_task_refuses_an_environment_not_saved_with_the_key(tutor, default_root, fake_docker, tmp_path):
    pytest.importorskip("django", reason="runs the task against the demo host: the project's test requirements")
    [(_, script)] = init_scripts(tutor, default_root, fake_docker, "--limit", "microcred")
    key = read_config(default_root)["MICROCRED_KEY_ENCRYPTION_KEY"]
    # As after `tutor plugins enable` alone: the env holds a key that config.yml does not.
    stale = _lms_with_rendered_settings(tmp_path, default_root, "tutor_lms_stale",
                                        replace=(key, base64.urlsafe_b64encode(b"t" * 32).decode()))
    result = _run_init_script(script, tmp_path, stale)
    assert result.returncode != 0
    assert "run tutor config save" in result.stderr
    assert "Created signing key" not in result.stdout
    assert key not in result.stdout + result.stderr  # compared by fingerprint, never shown


def test_the_init_task_says_to_rebuild_an_image_without_the_package(tutor, default_root, fake_docker, tmp_path):
    [(_, script)] = init_scripts(tutor, default_root, fake_docker, "--limit", "microcred")
    # An interpreter that cannot import openedx_microcred (isolated, no site-packages).
    result = _run_init_script(script, tmp_path, "unused", python=f'"{sys.executable}" -I -S')
    assert result.returncode == 1
    assert "tutor images build openedx" in result.stderr
