"""Django system checks: a catalog that cannot be evaluated is reported at start-up, not at award time."""

import json

from django.core import checks
from django.db import DatabaseError


@checks.register(checks.Tags.database)
def check_catalog(app_configs=None, **kwargs):  # pylint: disable=unused-argument
    from . import rules  # pylint: disable=import-outside-toplevel
    from .models import Credential  # pylint: disable=import-outside-toplevel

    errors, trees = [], {}
    try:
        credentials = list(Credential.objects.only("slug", "criteria"))
    except DatabaseError:
        return []  # not migrated yet
    for credential in credentials:
        try:
            trees[credential.slug] = credential.requirement()
        except rules.InvalidCriteria as exc:
            errors.append(checks.Error(f"Credential '{credential.slug}': {'; '.join(exc.messages)}",
                                       id="openedx_microcred.E001"))
    try:
        rules.validate_catalog(trees)
    except rules.ValidationError as exc:
        for slug, messages in exc.message_dict.items():
            errors.extend(checks.Error(f"Credential '{slug}': {m}", id="openedx_microcred.E002") for m in messages)
    return errors


@checks.register(checks.Tags.security)
def check_jwt_keys(app_configs=None, **kwargs):  # pylint: disable=unused-argument
    """
    The REST API authenticates JWTs with edx-drf-extensions, which does not check the signature
    of an asymmetrically signed token when no public key set is configured.
    """
    from django.conf import settings  # pylint: disable=import-outside-toplevel

    jwt_auth = getattr(settings, "JWT_AUTH", None)
    if isinstance(jwt_auth, dict) and jwt_auth.get("JWT_ISSUERS") and not jwt_auth.get("JWT_PUBLIC_SIGNING_JWK_SET"):
        return [checks.Warning(
            "JWT_AUTH['JWT_PUBLIC_SIGNING_JWK_SET'] is empty: the REST API could accept JWTs whose signature "
            "is not checked. Set it to the LMS's public signing key set.",
            id="openedx_microcred.W001",
        )]
    return []


@checks.register(checks.Tags.database)
def check_shared_platform_targets(app_configs=None, **kwargs):  # pylint: disable=unused-argument
    """
    Two active credentials sent to the same badge upstream (same account, same template, group,
    badge or badge class): a learner who earns both gets one badge there (the platform refuses the
    second, and the delivery records the first), and revoking either takes it away for both.
    """
    from .models import Credential  # pylint: disable=import-outside-toplevel

    try:
        credentials = list(Credential.objects.filter(state=Credential.State.ACTIVE)
                           .only("slug", "platform_targets").order_by("slug"))
    except DatabaseError:
        return []  # not migrated yet
    by_target = {}
    for credential in credentials:
        for target in credential.platform_targets or []:
            if isinstance(target, dict) and len(target) > 1:
                by_target.setdefault(json.dumps(target, sort_keys=True), []).append(credential.slug)
    return [
        checks.Warning(
            f"Credentials {', '.join(repr(s) for s in slugs)} are all delivered to the same badge upstream "
            f"({target}): a learner who earns more than one gets a single badge there, and revoking one "
            "revokes it for all. Give each credential its own badge template.",
            id="openedx_microcred.W002",
        )
        for target, slugs in by_target.items() if len(slugs) > 1
    ]
