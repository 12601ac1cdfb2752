"""
Tutor plugin for openedx-microcred (``tutor plugins enable microcred``).

What it adds to a Tutor environment, and through which hook:

- config defaults (``CONFIG_DEFAULTS``) and a generated Fernet key that encrypts the stored signing
  keys (``CONFIG_UNIQUE``: generated once by ``tutor config save``, then kept in config.yml);
- the pip requirement, as an ``openedx-dockerfile-post-python-requirements`` patch: the package is
  in the image once ``tutor images build openedx`` has run (``tutor local launch`` builds it:
  ``IMAGES_BUILD_REQUIRED``), and the operator's own ``OPENEDX_EXTRA_PIP_REQUIREMENTS`` stay
  theirs (see README.md for why not that list);
- the Django settings, as ``openedx-{lms,cms}-common-settings`` and ``openedx-{lms,cms}-production-settings``
  patches: they are rendered into env/apps/openedx/settings, which Tutor mounts (docker compose) or
  puts in a ConfigMap (Kubernetes) at run time, so no secret is baked into the image;
- the Celery beat schedule (in the LMS settings) and a one-replica ``lms-microcred-beat`` service,
  because Tutor's lms-worker runs ``celery worker`` without ``--beat``;
- an ``lms-microcred-worker`` service when ``MICROCRED_CELERY_QUEUE`` names a queue Tutor's own
  lms-worker does not consume (``MICROCRED_RUN_WORKER``);
- ``MOUNTED_DIRECTORIES``: ``tutor mounts add .../openedx-microcred`` installs a checkout;
- an init task (``CLI_DO_INIT_TASKS``) that checks the LMS settings hold the saved key-encryption
  key, migrates the app and creates the signing key if there is none
  (``microcred_keys generate --if-missing``), so ``tutor local do init`` can run again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import typing as t
from glob import glob

from tutor import hooks

from .__about__ import __version__

HERE = os.path.abspath(os.path.dirname(__file__))

# The queues Tutor's own lms-worker consumes (tutor/plugins/openedx.py, LMS_WORKER_COMMAND).
LMS_WORKER_QUEUES = ("edx.lms.core.default", "edx.lms.core.high", "edx.lms.core.high_mem")

########################################
# CONFIGURATION
########################################

hooks.Filters.CONFIG_DEFAULTS.add_items(
    [
        ("MICROCRED_VERSION", __version__),
        # What the image build installs; "" leaves it to the operator (OPENEDX_EXTRA_PIP_REQUIREMENTS,
        # a mounted checkout, a private index...).
        ("MICROCRED_PIP_REQUIREMENT", "openedx-microcred=={{ MICROCRED_VERSION }}"),
        # Public base URL of the LMS in credential ids, status lists and the did:web.
        ("MICROCRED_LMS_ROOT_URL", "{% if ENABLE_HTTPS %}https{% else %}http{% endif %}://{{ LMS_HOST }}"),
        # did:web needs HTTPS for verifiers to resolve it; without HTTPS, did:key (self-contained).
        ("MICROCRED_DID_METHOD", "{% if ENABLE_HTTPS %}web{% else %}key{% endif %}"),
        # The awarding body; empty values fall back to PLATFORM_NAME and the LMS URL in the app.
        ("MICROCRED_ISSUER_NAME", "{{ PLATFORM_NAME }}"),
        ("MICROCRED_ISSUER_URL", ""),
        ("MICROCRED_ISSUER_EMAIL", ""),
        ("MICROCRED_ISSUER_COUNTRY", ""),
        ("MICROCRED_ISSUER_DESCRIPTION", ""),
        ("MICROCRED_ISSUER_IMAGE", ""),
        # The issuer's address and institution code (EU microcredentials; the country is required for them).
        ("MICROCRED_ISSUER_COUNTRY_NAME", ""),
        ("MICROCRED_ISSUER_REGION", ""),
        ("MICROCRED_ISSUER_LOCALITY", ""),
        ("MICROCRED_ISSUER_STREET_ADDRESS", ""),
        ("MICROCRED_ISSUER_POSTAL_CODE", ""),
        ("MICROCRED_ISSUER_INSTITUTION_CODE", ""),
        ("MICROCRED_ISSUER_INSTITUTION_CODE_TYPE", ""),
        # Badge platform accounts, secrets included: {"name": {"backend": "credly", ...}}.
        ("MICROCRED_PLATFORM_ACCOUNTS", {}),
        # Delivery policy overrides: max_attempts, backoff_base, backoff_cap, rate_per_second, stale_sending.
        ("MICROCRED_DELIVERY", {}),
        # Celery queue for the app's tasks; "" is the LMS default queue (edx.lms.core.default).
        ("MICROCRED_CELERY_QUEUE", ""),
        # Run the one-replica celery beat service that sends the periodic sweeps.
        ("MICROCRED_RUN_BEAT", True),
        # Run a worker for MICROCRED_CELERY_QUEUE when Tutor's lms-worker does not consume that queue.
        ("MICROCRED_RUN_WORKER", True),
        # Any other setting of the app, by name: {"MICROCRED_REPORT_MIN_COHORT": 20, ...} (MICROCRED_* only).
        ("MICROCRED_EXTRA_SETTINGS", {}),
        # Older key-encryption keys that still decrypt (rotation: see README.md).
        ("MICROCRED_KEY_ENCRYPTION_KEYS_OLD", []),
        # Base64 of a 32-byte Ed25519 private key, to keep the signing key out of the database.
        ("MICROCRED_SIGNING_KEY", ""),
    ]
)

hooks.Filters.CONFIG_UNIQUE.add_items(
    [
        # Encrypts the signing keys stored in the database (MICROCRED_KEY_ENCRYPTION_KEYS).
        ("MICROCRED_KEY_ENCRYPTION_KEY", "{{ 32|microcred_fernet_key }}"),
    ]
)


########################################
# TEMPLATE FILTERS
########################################


def fernet_key(size: int = 32) -> str:
    """A new Fernet key: the URL-safe base64 of 32 random bytes (what Fernet.generate_key() returns)."""
    if int(size) != 32:
        raise ValueError("a Fernet key is made of 32 random bytes")
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def python_literal(value: t.Any, drop_empty: bool = False) -> str:
    """
    A config value as a Python literal for the settings files: repr() of what YAML gave (str, int,
    float, bool, None, list, dict), so quotes, backslashes and newlines in secrets stay data.
    """
    if drop_empty and isinstance(value, dict):
        value = {k: v for k, v in value.items() if v not in ("", None, [], {})}
    return repr(_plain(value))


def _plain(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def extra_settings(value: t.Any) -> str:
    """MICROCRED_EXTRA_SETTINGS as a Python literal, refusing names that are not the app's settings."""
    if not isinstance(value, dict):
        raise ValueError("MICROCRED_EXTRA_SETTINGS must be a mapping of setting names to values")
    others = sorted(str(name) for name in value if not str(name).startswith("MICROCRED_"))
    if others:
        raise ValueError(f"MICROCRED_EXTRA_SETTINGS only sets MICROCRED_* settings, not {', '.join(others)}")
    return python_literal(value)


def fingerprint(value: str) -> str:
    """A short SHA-256 of a secret: enough to compare two copies of it without showing either."""
    return hashlib.sha256(str(value).encode()).hexdigest()[:16]


def dedicated_queue(queue: str) -> bool:
    """Whether MICROCRED_CELERY_QUEUE needs a worker of its own (Tutor's lms-worker does not consume it)."""
    return bool(queue) and queue not in LMS_WORKER_QUEUES


hooks.Filters.ENV_TEMPLATE_FILTERS.add_items(
    [
        ("microcred_fernet_key", fernet_key),
        ("microcred_py", python_literal),
        ("microcred_dedicated_queue", dedicated_queue),
        ("microcred_fingerprint", fingerprint),
        ("microcred_extra_settings", extra_settings),
    ]
)


########################################
# IMAGES
########################################


@hooks.Filters.IMAGES_BUILD_REQUIRED.add()
def _build_openedx_on_launch(image_names: list[str], context_name: str) -> list[str]:
    """`tutor local launch` builds the openedx image, which must now contain openedx-microcred."""
    if context_name == "local" and "openedx" not in image_names:
        image_names.append("openedx")
    return image_names


# `tutor mounts add /path/to/openedx-microcred`: a checkout is installed in the image and
# bind-mounted into the containers (newer Tutor releases match every openedx-* directory already).
hooks.Filters.MOUNTED_DIRECTORIES.add_item(("openedx", "openedx-microcred$"))


########################################
# INITIALIZATION TASK
########################################

with open(os.path.join(HERE, "templates", "microcred", "tasks", "lms", "init.sh"), encoding="utf-8") as _f:
    # After the core LMS init (migrations) whatever the plugin order: low priority.
    hooks.Filters.CLI_DO_INIT_TASKS.add_item(("lms", _f.read()), priority=hooks.priorities.LOW)


########################################
# PATCHES
########################################

# Each file in patches/ is the patch of the same name.
for _path in sorted(glob(os.path.join(HERE, "patches", "*"))):
    with open(_path, encoding="utf-8") as _patch_file:
        hooks.Filters.ENV_PATCHES.add_item((os.path.basename(_path), _patch_file.read()))
