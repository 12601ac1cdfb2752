"""Settings every deployment gets; an operator's own value always wins."""

from pathlib import Path

# The plugin's own catalogs (docs/translations.md). Django looks for an app's translations in
# <app>/locale only; Open edX plugins keep them in <app>/conf/locale and add that to LOCALE_PATHS.
LOCALE_DIR = str(Path(__file__).resolve().parent.parent / "conf" / "locale")

DEFAULTS = {
    # Where platform facts (course names, roles, completable blocks, user details) come from.
    "MICROCRED_PLATFORM_ADAPTER": "openedx_microcred.platform.edx_platform.EdxPlatformAdapter",
    # Celery queue for evaluation; None means the LMS default queue.
    "MICROCRED_CELERY_QUEUE": None,
    # Public base URL of the LMS, used in credential ids and the did:web; None means LMS_ROOT_URL.
    "MICROCRED_LMS_ROOT_URL": None,
    # The awarding body as the credentials name it: name, url, email, country (ISO 3166 alpha-2),
    # description, image. Missing values fall back to PLATFORM_NAME and the LMS URL.
    "MICROCRED_ISSUER": {},
    # "key" (zero-config did:key) or "web" (did:web on the LMS host, DID document at /microcred/did.json).
    "MICROCRED_DID_METHOD": "key",
    # Fernet keys that encrypt stored signing keys (first encrypts, all decrypt); empty: derived from SECRET_KEY.
    "MICROCRED_KEY_ENCRYPTION_KEYS": [],
    # Base64 of a 32-byte Ed25519 private key, for operators who keep the signing key out of the database.
    "MICROCRED_SIGNING_KEY": "",
    # Badge platform accounts: {"name": {"backend": "credly"|"accredible"|"obf"|"badgr", "base_url": ..., secrets,
    # "organizations": ["MyOrgX", ...] (the organizations whose credentials may use it; ["*"]: every one)}}.
    "MICROCRED_PLATFORM_ACCOUNTS": {},
    # Organizations are isolated: {"B": ["A"]} lets credentials of organization B require courses and
    # credentials of A (one way only). Empty: each organization's criteria stay inside it (docs/security.md).
    "MICROCRED_ORGANIZATION_PAIRINGS": {},
    # Delivery policy overrides: max_attempts, backoff_base, backoff_cap, rate_per_second, stale_sending.
    "MICROCRED_DELIVERY": {},
    # Seconds a changed fact may wait for its learner's evaluation before the sweep queues it again.
    "MICROCRED_PENDING_EVALUATION_AFTER": 600,
    # Pending facts one evaluation task takes: its own learner's, and with them the learners of the
    # facts that waited longest (1 to evaluation.MAX_EVALUATION_BATCH; system check E003).
    "MICROCRED_EVALUATION_BATCH": 200,
    # Seconds an event's time may be ahead of this server's clock; a later one is rejected (kept as a
    # rejected event), not applied: it would hold its fact against every real event until that time.
    # Five minutes covers hosts whose clocks drift (NTP keeps them within a second).
    "MICROCRED_MAX_EVENT_CLOCK_SKEW": 300,
    # Event bus topics (without EVENT_BUS_TOPIC_PREFIX) that microcred's consumers read
    # (consume_events -t TOPIC -g microcred). An event this process produces to one of them is
    # recorded by the consumer, not here. Empty: every event is recorded where it is sent.
    "MICROCRED_EVENT_BUS_TOPICS": [],
    # Uptake reports: the fewest learners a published figure may describe; smaller ones (and any figure
    # that would let one be worked out) are suppressed (docs/reports.md, ADR 0006).
    "MICROCRED_REPORT_MIN_COHORT": 10,
    # External Open Badges 3.0 credentials (docs/decisions/0012): the origins ("https://host[:port]")
    # credentials, status lists and did:web documents may be fetched from. Empty: nothing is fetched,
    # so only uploaded credentials without a status list can be added.
    "MICROCRED_EXTERNAL_FETCH_ORIGINS": [],
    # Fetch from private, loopback and link-local addresses too (a campus network; tests).
    "MICROCRED_EXTERNAL_FETCH_ALLOW_PRIVATE": False,
    # (connect, read) seconds for each fetch; the whole fetch ends after connect + 2 x read.
    "MICROCRED_EXTERNAL_FETCH_TIMEOUT": (3.0, 5.0),
    # Hours between two readings of an external credential's status list.
    "MICROCRED_EXTERNAL_RECHECK_HOURS": 24,
}


# Celery beat: evaluations and deliveries whose task was lost are picked up again.
BEAT_SCHEDULE = {
    "openedx_microcred.sweep_evaluations": {"task": "openedx_microcred.sweep_evaluations", "schedule": 300.0},
    "openedx_microcred.sweep_deliveries": {"task": "openedx_microcred.sweep_deliveries", "schedule": 300.0},
    # External credentials' status lists: each is read once every MICROCRED_EXTERNAL_RECHECK_HOURS.
    "openedx_microcred.recheck_external_credentials": {"task": "openedx_microcred.recheck_external_credentials",
                                                       "schedule": 3600.0},
}


def plugin_settings(settings):
    """
    Every MICROCRED_ default the deployment has not set, the plugin's catalogs after the platform's,
    and the sweeps in Celery beat's schedule (the operator's own entries kept).
    """
    for name, value in DEFAULTS.items():
        if not hasattr(settings, name):
            setattr(settings, name, value)
    _add_locale_dir(settings)
    # edx-platform's Celery app reads CELERYBEAT_SCHEDULE, which the platform itself does not define:
    # create it, or the sweeps are never scheduled. Newer Celery names it CELERY_BEAT_SCHEDULE.
    if not isinstance(getattr(settings, "CELERYBEAT_SCHEDULE", None), dict):
        settings.CELERYBEAT_SCHEDULE = {}
    for name in ("CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE"):
        schedule = getattr(settings, name, None)
        if isinstance(schedule, dict):
            for entry, value in BEAT_SCHEDULE.items():
                schedule.setdefault(entry, value)


def _add_locale_dir(settings):
    """
    Append the plugin's catalogs to LOCALE_PATHS: the platform's own paths (and the translations
    pulled from openedx-translations into them) come first and win.
    """
    paths = getattr(settings, "LOCALE_PATHS", [])
    calculate = getattr(paths, "calculate_value", None)
    if callable(calculate):  # edx-platform's Derived setting, computed once every setting is final
        settings.LOCALE_PATHS = type(paths)(lambda final: _with_locale_dir(calculate(final)))
    else:
        settings.LOCALE_PATHS = _with_locale_dir(paths)


def _with_locale_dir(paths):
    if LOCALE_DIR in map(str, paths):
        return paths
    return type(paths)([*paths, LOCALE_DIR]) if isinstance(paths, (list, tuple)) else [*paths, LOCALE_DIR]
