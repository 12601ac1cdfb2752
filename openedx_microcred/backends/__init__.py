"""
Badge platform backends: Credly, Accredible, Open Badge Factory, Canvas Credentials (Badgr).

Each implements the small interface in ``base.py``. Which account (platform, base URL, secrets) a
name stands for comes from the ``MICROCRED_PLATFORM_ACCOUNTS`` setting; ``get_backend`` builds the
backend for one.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

BACKENDS = {
    "credly": "openedx_microcred.backends.credly.CredlyBackend",
    "accredible": "openedx_microcred.backends.accredible.AccredibleBackend",
    "obf": "openedx_microcred.backends.obf.OpenBadgeFactoryBackend",
    "badgr": "openedx_microcred.backends.badgr.BadgrBackend",
}


def account_config(account_name) -> dict:
    accounts = getattr(settings, "MICROCRED_PLATFORM_ACCOUNTS", None) or {}
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
