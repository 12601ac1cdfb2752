"""Run the independent JavaScript verifier (tests/js_verifier) from Python tests.

The verifier is Digital Bazaar's Verifiable Credentials stack (``@digitalbazaar/vc``
with the ``eddsa-rdfc-2022`` Data Integrity cryptosuite and
``@digitalbazaar/vc-bitstring-status-list``), pinned in
``tests/js_verifier/package-lock.json``. It never touches the network: JSON-LD
contexts come from the package's bundled ``openbadges/contexts`` directory,
DID / controller documents and status list credentials from ``documents``, and
``did:key`` identifiers resolve from the key itself.

Node.js is a hard requirement of the test suite: where ``node`` or ``npm`` is
missing, :func:`require_node` raises a RuntimeError instead of skipping, so a
CI machine without Node fails loudly rather than silently dropping the check.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
from importlib.resources import files
from pathlib import Path

JS_VERIFIER_DIR = Path(__file__).resolve().parent / "js_verifier"
VERIFY_SCRIPT = JS_VERIFIER_DIR / "verify.mjs"
NODE_MODULES = JS_VERIFIER_DIR / "node_modules"

NPM_CI_TIMEOUT = 600  # seconds
VERIFY_TIMEOUT = 120  # seconds

_install_lock = threading.Lock()
_installed = False


def contexts_dir() -> Path:
    """The JSON-LD contexts bundled with the package (read at run time)."""
    return Path(str(files("openedx_microcred") / "openbadges" / "contexts"))


def require_node() -> tuple[str, str]:
    """Return the paths of ``node`` and ``npm``; raise RuntimeError if either is missing."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if not path]
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not found on PATH. The test suite checks credentials with an "
            "independent JavaScript verifier (tests/js_verifier, Digital Bazaar's @digitalbazaar/vc); "
            "install Node.js 18 or newer with npm (CI must install it: these tests are never skipped)."
        )
    return node, npm


def _modules_current() -> bool:
    """Whether node_modules was installed from the committed lock file (npm writes its own copy, not older)."""
    # npm writes node_modules/.package-lock.json on install; it is older than the
    # committed lock file when the lock changed after the last install.
    hidden_lock = NODE_MODULES / ".package-lock.json"
    lock = JS_VERIFIER_DIR / "package-lock.json"
    return hidden_lock.is_file() and hidden_lock.stat().st_mtime >= lock.stat().st_mtime


def ensure_node_modules() -> None:
    """Install the pinned node modules (``npm ci``) once, when they are missing or stale."""
    global _installed
    _, npm = require_node()
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        # several pytest processes (tox, xdist) may start at once: serialize npm ci
        lock_path = Path(tempfile.gettempdir()) / "openedx-microcred-js-verifier.lock"
        with open(lock_path, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                if not _modules_current():
                    proc = subprocess.run(
                        [npm, "ci", "--no-audit", "--no-fund"],
                        cwd=JS_VERIFIER_DIR,
                        capture_output=True,
                        text=True,
                        timeout=NPM_CI_TIMEOUT,
                        check=False,
                    )
                    if proc.returncode != 0:
                        raise RuntimeError(
                            f"`npm ci` in {JS_VERIFIER_DIR} failed ({proc.returncode}):\n"
                            f"{proc.stdout}\n{proc.stderr}"
                        )
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        _installed = True


def js_verify(credential: dict, documents: dict | None = None, check_status: bool = False, now=None) -> dict:
    """Verify ``credential`` with the JavaScript verifier.

    ``documents`` maps URLs (DID documents for did:web, controller documents,
    status list credentials) to the JSON the verifier's document loader returns
    for them. ``now`` (ISO 8601 string or datetime) is the verification time for
    validFrom / validUntil. Returns ``{"verified": bool, "statusRevoked": bool |
    None, "errors": [str]}``; ``statusRevoked`` is only set when ``check_status``
    is true and the status list was loaded and verified.
    """
    node, _ = require_node()
    ensure_node_modules()
    request = {
        "credential": credential,
        "documents": documents or {},
        "contextsDir": str(contexts_dir()),
        "checkStatus": bool(check_status),
    }
    if now is not None:
        request["now"] = now if isinstance(now, str) else now.isoformat()
    fd, request_path = tempfile.mkstemp(prefix="jsverify-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(request, f)
        proc = subprocess.run(
            [node, str(VERIFY_SCRIPT), request_path],
            cwd=JS_VERIFIER_DIR,
            capture_output=True,
            text=True,
            timeout=VERIFY_TIMEOUT,
            check=False,
        )
    finally:
        os.unlink(request_path)
    if proc.returncode != 0:
        raise RuntimeError(f"verify.mjs exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError) as exc:
        raise RuntimeError(f"verify.mjs printed no JSON result:\n{proc.stdout}\n{proc.stderr}") from exc


SIGN_SCRIPT = JS_VERIFIER_DIR / "sign.mjs"


def js_sign(documents: list, seed: bytes) -> tuple[str, list]:
    """Sign ``documents`` with Digital Bazaar's stack (sign.mjs) as the did:key of the Ed25519 ``seed``.

    Returns (did, signed documents).
    """
    node, _ = require_node()
    ensure_node_modules()
    request = {"documents": documents, "seed": seed.hex(), "contextsDir": str(contexts_dir())}
    fd, request_path = tempfile.mkstemp(prefix="jssign-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(request, f)
        proc = subprocess.run([node, str(SIGN_SCRIPT), request_path], cwd=JS_VERIFIER_DIR, capture_output=True,
                              text=True, timeout=VERIFY_TIMEOUT, check=False)
    finally:
        os.unlink(request_path)
    if proc.returncode != 0:
        raise RuntimeError(f"sign.mjs exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["did"], result["signed"]
