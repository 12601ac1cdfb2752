"""Django system checks: a catalog that cannot be evaluated is reported at start-up, not at award time."""

import json

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from . import evaluation, issuer, organizations, rules
from .app_settings import microcred_settings
from .models import Credential


@checks.register(checks.Tags.database)
def check_catalog(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """
    Every stored credential's criteria parse, and the catalog holds together (the credentials they
    require exist, with no cycle); an unmigrated database is left to ``migrate``.
    """
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
def check_jwt_keys(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """
    The REST API authenticates JWTs with edx-drf-extensions, which does not check the signature
    of an asymmetrically signed token when no public key set is configured.
    """
    jwt_auth = getattr(settings, "JWT_AUTH", None)
    if isinstance(jwt_auth, dict) and jwt_auth.get("JWT_ISSUERS") and not jwt_auth.get("JWT_PUBLIC_SIGNING_JWK_SET"):
        return [checks.Warning(
            "JWT_AUTH['JWT_PUBLIC_SIGNING_JWK_SET'] is empty: the REST API could accept JWTs whose signature "
            "is not checked. Set it to the LMS's public signing key set.",
            id="openedx_microcred.W001",
        )]
    return []


@checks.register(checks.Tags.database)
def check_shared_platform_targets(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """
    Two active credentials sent to the same badge upstream (same account, same template, group,
    badge or badge class): a learner who earns both gets one badge there (the platform refuses the
    second, and the delivery records the first), and revoking either takes it away for both.
    """
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


@checks.register()
def check_evaluation_batch(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """MICROCRED_EVALUATION_BATCH is a whole number of facts from 1 to evaluation.MAX_EVALUATION_BATCH."""
    problem = evaluation.evaluation_batch_problem(microcred_settings.EVALUATION_BATCH)
    return [checks.Error(problem, id="openedx_microcred.E003")] if problem else []


@checks.register()
def check_organization_settings(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """
    MICROCRED_ORGANIZATION_PAIRINGS has the shape {"B": ["A", ...]}, and every badge platform
    account names the organizations it serves: an account without that list sends nothing.
    """
    errors = [checks.Error(message, id="openedx_microcred.E011") for message in
              organizations.pairing_problems(microcred_settings.ORGANIZATION_PAIRINGS)]
    errors.extend(
        checks.Error(message, id="openedx_microcred.E012") for _name, message in
        organizations.account_organization_problems(microcred_settings.PLATFORM_ACCOUNTS)
    )
    return errors


@checks.register(checks.Tags.database)
def check_organization_lines(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """
    Stored credentials that cross organization lines (saved before the rule existed, or before an
    operator removed a pairing or an account's organization): they cannot be saved or published
    again as they are, and an operator upgrading needs to see them (docs/security.md).
    """
    try:
        credentials = list(Credential.objects.only("slug", "org", "course_key", "state", "criteria",
                                                   "platform_targets").order_by("slug"))
    except DatabaseError:
        return []  # not migrated yet
    credential_orgs = {c.slug: c.org for c in credentials}
    warnings = []
    for credential in credentials:
        try:
            tree = credential.requirement()
        except rules.InvalidCriteria:
            continue  # E001 reports it
        crossing = organizations.criteria_problems(credential.org, tree, credential_orgs)
        if crossing:
            warnings.append(checks.Warning(
                f"Credential '{credential.slug}' ({credential.state}) of organization '{credential.org}' requires "
                f"another organization's courses or credentials without a pairing: {' '.join(crossing)}",
                hint="Remove those requirements, archive the credential, or allow the pairing in "
                     f"{organizations.PAIRINGS_SETTING} if the organizations agreed to it. Until then it cannot be "
                     "saved or published; an active one keeps being evaluated.",
                id="openedx_microcred.W011",
            ))
        targets = [t for t in credential.platform_targets or ()
                   if isinstance(t, dict) and isinstance(t.get("account"), str)]
        foreign = organizations.platform_target_problems(credential.org, targets)
        if foreign:
            warnings.append(checks.Warning(
                f"Credential '{credential.slug}' ({credential.state}) of organization '{credential.org}': "
                f"{' '.join(foreign)} Its awards are not sent there (each such delivery fails).",
                hint="Point the credential at an account of its organization, or add the organization to the "
                     "account's \"organizations\".",
                id="openedx_microcred.W012",
            ))
    return warnings


@checks.register(checks.Tags.database)
def check_eu_details(app_configs=None, **kwargs):  # pylint: disable=unused-argument  (Django's signature)
    """
    Active credentials with EU microcredential details while the issuer has no country (mandatory
    in the EU Recommendation: publishing such a credential is refused until it is set), and
    credentials still holding free text that matched no term when the choices came (migration 0012).
    """
    try:
        credentials = list(Credential.objects.only(
            "slug", "state", "eu_notes", "learning_outcomes", "workload_hours", "ects_credits", "eqf_level",
            "assessment_type", "participation_form", "supervision", "quality_assurance",
            "quality_assurance_framework", "quality_assurance_url").order_by("slug"))
    except DatabaseError:
        return []  # not migrated yet
    problems = []
    country = issuer.country_problem()
    active = [c.slug for c in credentials if c.state == Credential.State.ACTIVE and c.uses_eu_details()]
    if country and active:
        problems.append(checks.Warning(
            f"Active credentials with EU microcredential details name an issuer without a country: "
            f"{', '.join(active)}. {country}",
            hint="Their awards lack a mandatory element, and they cannot be saved again while active until it is set.",
            id="openedx_microcred.W013",
        ))
    noted = [c.slug for c in credentials if c.eu_notes]
    if noted:
        problems.append(checks.Warning(
            f"Credentials with free text that matched no EU vocabulary term: {', '.join(noted)}.",
            hint="In Studio or the admin, pick the assessment type and participation form the note describes, "
                 "then clear the note.",
            id="openedx_microcred.W014",
        ))
    return problems
