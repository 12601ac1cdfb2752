"""Settings every deployment gets; an operator's own value always wins."""

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
    # Badge platform accounts: {"name": {"backend": "credly"|"accredible"|"obf"|"badgr", "base_url": ..., secrets}}.
    "MICROCRED_PLATFORM_ACCOUNTS": {},
    # Delivery policy overrides: max_attempts, backoff_base, backoff_cap, rate_per_second, stale_sending.
    "MICROCRED_DELIVERY": {},
}


# Celery beat: deliveries whose task was lost are picked up again.
BEAT_SCHEDULE = {
    "openedx_microcred.sweep_deliveries": {"task": "openedx_microcred.sweep_deliveries", "schedule": 300.0},
}


def plugin_settings(settings):
    for name, value in DEFAULTS.items():
        if not hasattr(settings, name):
            setattr(settings, name, value)
    # edx-platform reads CELERYBEAT_SCHEDULE (newer Celery names: CELERY_BEAT_SCHEDULE).
    for name in ("CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE"):
        schedule = getattr(settings, name, None)
        if isinstance(schedule, dict):
            for entry, value in BEAT_SCHEDULE.items():
                schedule.setdefault(entry, value)
