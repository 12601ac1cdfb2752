"""
Badge platform backends: Credly, Accredible, Open Badge Factory, Canvas Credentials (Badgr).

Each implements the small interface in ``base.py``. Which account (platform, base URL, secrets) a
name stands for comes from the ``MICROCRED_PLATFORM_ACCOUNTS`` setting; ``get_backend`` builds the
backend for one.
"""

import hashlib
from urllib.parse import quote, urlsplit

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..app_settings import microcred_settings
from .base import DeliveryError

# How long a platform's list of templates is kept (seconds): Studio pages ask for it on every show.
TEMPLATES_CACHE_SECONDS = 300

BACKENDS = {
    "credly": "openedx_microcred.backends.credly.CredlyBackend",
    "accredible": "openedx_microcred.backends.accredible.AccredibleBackend",
    "obf": "openedx_microcred.backends.obf.OpenBadgeFactoryBackend",
    "badgr": "openedx_microcred.backends.badgr.BadgrBackend",
}


def account_config(account_name) -> dict:
    """The configuration of the badge platform account ``account_name``; ImproperlyConfigured when there is none."""
    accounts = microcred_settings.PLATFORM_ACCOUNTS or {}
    if account_name not in accounts:
        raise ImproperlyConfigured(f"no platform account named {account_name!r} in MICROCRED_PLATFORM_ACCOUNTS")
    return accounts[account_name]


def get_backend(account_name):
    """The backend object for a configured account (one shared HTTP session per account)."""
    config = account_config(account_name)
    kind = config.get("backend")
    if kind not in BACKENDS:
        raise ImproperlyConfigured(f"account {account_name!r}: unknown backend {kind!r}; one of {sorted(BACKENDS)}")
    return import_string(BACKENDS[kind])(account_name, config)


def backend_class(account_name):
    """The backend class of a configured account, or None (unknown account or backend)."""
    accounts = microcred_settings.PLATFORM_ACCOUNTS or {}
    kind = (accounts.get(account_name) or {}).get("backend") if isinstance(accounts.get(account_name), dict) else None
    return import_string(BACKENDS[kind]) if kind in BACKENDS else None


def account_templates(account_name):
    """
    (target key, [(id, name), ...] or None, error message or "") for a configured account: what its
    platform lists for a target to name, or None where the platform has no list. A list is kept
    TEMPLATES_CACHE_SECONDS per account and configuration; a failure is not kept, and its message
    (redacted by the backend) says why.
    """
    try:
        backend = get_backend(account_name)
    except ImproperlyConfigured as exc:
        return "", None, str(exc)
    fingerprint = hashlib.sha256(repr(sorted((k, str(v)) for k, v in backend.config.items())).encode()).hexdigest()
    key = f"microcred:templates:{account_name}:{fingerprint[:16]}"
    cached = cache.get(key)
    if cached is not None:
        return backend.target_key, cached["templates"], ""
    try:
        templates = backend.list_templates()
    except DeliveryError as exc:
        return backend.target_key, None, str(exc)
    cache.set(key, {"templates": templates}, TEMPLATES_CACHE_SECONDS)
    return backend.target_key, templates, ""


# --- Where a delivered badge is shown ------------------------------------------------------------

# The badge platforms' display names, by backend (MICROCRED_PLATFORM_ACCOUNTS "backend").
PLATFORM_LABELS = {
    "credly": "Credly",
    "accredible": "Accredible",
    "obf": "Open Badge Factory",
    "badgr": "Canvas Credentials (Badgr)",
}


def platform_badge_url(platform, config, external_id) -> str | None:
    """
    The page of a delivered badge on its platform, or None when we do not know how it is addressed.
    An account may name it with a "badge_url" template, e.g. "https://example.org/badges/{external_id}".
    """
    if not external_id:
        return None
    ident = quote(str(external_id), safe="")
    template = config.get("badge_url")
    if template:
        return template.format(external_id=ident)
    base = config.get("base_url") or ""
    host = urlsplit(base).hostname or ""
    if platform == "credly":  # api.credly.com → www.credly.com, sandbox-api.credly.com → sandbox.credly.com
        return f"https://{'sandbox.credly.com' if host.startswith('sandbox') else 'www.credly.com'}/badges/{ident}"
    if platform == "accredible" and "sandbox" not in host:
        return f"https://www.credential.net/{ident}"
    if platform == "badgr":  # an assertion's openBadgeId
        return f"{(base or 'https://api.badgr.io').rstrip('/')}/public/assertions/{ident}"
    return None
