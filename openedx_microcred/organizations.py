"""
Organizations are isolated: what a credential requires (courses, other credentials) and the badge
platform accounts its awards go to stay inside its own organization, unless an operator allows a
pairing explicitly (docs/security.md).

Pure functions over settings and requirement trees, below the models: ``Credential.clean`` (and the
catalog loader, which validates a whole file at once) ask here, and so does the delivery at send time.
"""

from collections.abc import Mapping

from django.utils.translation import gettext as _
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import rules
from .app_settings import microcred_settings

PAIRINGS_SETTING = "MICROCRED_ORGANIZATION_PAIRINGS"
# In a platform account's "organizations": the account serves every organization (a one-organization LMS).
EVERY_ORGANIZATION = "*"


def course_org(course_key):
    """The organization of a course key (a CourseKey or its string), or None if it is not one."""
    try:
        key = course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
    except InvalidKeyError:
        return None
    return key.org


def pairings() -> Mapping:
    """The operator's pairings: org → the organizations whose courses and credentials its credentials may require."""
    value = microcred_settings.ORGANIZATION_PAIRINGS or {}
    return value if isinstance(value, Mapping) else {}


def may_require(org, other_org) -> bool:
    """Whether a credential of ``org`` may require a course or credential of ``other_org``."""
    if other_org == org:
        return True
    allowed = pairings().get(org)
    return isinstance(allowed, (list, tuple)) and other_org in allowed


def referenced_organizations(tree, credential_orgs: Mapping):
    """
    (leaf, organization) for every leaf of a requirement tree: a course leaf's course organization,
    a credential leaf's credential's (``credential_orgs``: slug → org; None for an unknown slug,
    which the reference check reports).
    """
    for leaf in tree.leaves():
        if isinstance(leaf, rules.CourseLeaf):
            yield leaf, course_org(leaf.course)
        elif isinstance(leaf, rules.CredentialEarned):
            yield leaf, credential_orgs.get(leaf.credential)


def criteria_problems(org, tree, credential_orgs: Mapping) -> list:
    """One message per leaf that reaches into an organization ``org`` is not paired with; each starts with its path."""
    problems = []
    for leaf, other in referenced_organizations(tree, credential_orgs):
        if other is None or may_require(org, other):
            continue
        if isinstance(leaf, rules.CredentialEarned):
            what = _("credential '%(slug)s'") % {"slug": leaf.credential}
        else:
            what = _("course %(course)s") % {"course": leaf.course}
        problems.append(_(
            "%(path)s: %(what)s belongs to organization '%(other)s'; a credential of '%(org)s' may require only "
            "its own organization's courses and credentials, unless an operator pairs the two organizations "
            "(%(setting)s)."
        ) % {"path": leaf.path, "what": what, "other": other, "org": org, "setting": PAIRINGS_SETTING})
    return problems


def external_issuer_problems(org, tree, trusted) -> list:
    """
    One message per external-credential leaf whose issuer ``org`` does not trust (``trusted``: the
    issuers an operator listed for ``org`` or for every organization, models.TrustedIssuer).
    """
    return [_("%(path)s: issuer %(issuer)s is not on the list of issuers organization '%(org)s' trusts "
              "(an operator adds it in the admin: Trusted issuers).") % {"path": leaf.path, "issuer": leaf.issuer,
                                                                         "org": org}
            for leaf in tree.leaves() if isinstance(leaf, rules.ExternalCredentialHeld) and leaf.issuer not in trusted]


def accounts() -> Mapping:
    """The badge platform accounts MICROCRED_PLATFORM_ACCOUNTS configures, by name."""
    return microcred_settings.PLATFORM_ACCOUNTS or {}


def account_serves(config, org) -> bool:
    """Whether a platform account's configuration lists ``org`` (or "*") in its "organizations"."""
    served = config.get("organizations") if isinstance(config, Mapping) else None
    if not isinstance(served, (list, tuple)):
        return False  # no list: it serves nobody (the system check tells the operator what to add)
    return EVERY_ORGANIZATION in served or org in served


def account_problem(account, org):
    """Why a credential of ``org`` may not send awards to ``account`` (a message naming it, never a secret), or None."""
    config = accounts().get(account)
    if config is None:
        return _("account '%(account)s' is not a configured badge platform account "
                 "(MICROCRED_PLATFORM_ACCOUNTS).") % {"account": account}
    if not account_serves(config, org):
        return _("account '%(account)s' does not serve organization '%(org)s' "
                 "(its \"organizations\" in MICROCRED_PLATFORM_ACCOUNTS).") % {"account": account, "org": org}
    return None


def platform_target_problems(org, targets) -> list:
    """One message per target whose account is unknown or does not serve ``org`` (targets of a valid shape)."""
    problems = []
    for index, target in enumerate(targets or ()):
        problem = account_problem(target["account"], org)
        if problem:
            problems.append(_("platform_targets[%(i)d]: %(problem)s") % {"i": index, "problem": problem})
    return problems


def pairing_problems(value) -> list:
    """What is wrong with the shape of MICROCRED_ORGANIZATION_PAIRINGS ({"B": ["A", ...]})."""
    if value in (None, {}):
        return []
    if not isinstance(value, Mapping):
        return [f"{PAIRINGS_SETTING} must be a dict of organization → list of organizations, "
                f"not {type(value).__name__}."]
    problems = []
    for org, others in value.items():
        if not isinstance(org, str) or not org:
            problems.append(f"{PAIRINGS_SETTING}: {org!r} is not an organization name (a non-empty string).")
        elif not isinstance(others, (list, tuple)) or not all(isinstance(o, str) and o for o in others):
            problems.append(f"{PAIRINGS_SETTING}[{org!r}] must be a list of organization names, not {others!r}.")
        elif EVERY_ORGANIZATION in others:
            problems.append(f"{PAIRINGS_SETTING}[{org!r}]: \"*\" is not allowed here; name each organization.")
    return problems


def account_organization_problems(value) -> list:
    """(account, message) for each platform account whose "organizations" is missing or malformed."""
    problems = []
    for name, config in (value or {}).items() if isinstance(value, Mapping) else ():
        served = config.get("organizations") if isinstance(config, Mapping) else None
        if served is None:
            problems.append((name, f"MICROCRED_PLATFORM_ACCOUNTS[{name!r}] has no \"organizations\": it serves no "
                                   f"credential, so nothing is delivered through it. Add the organizations it "
                                   f"serves, e.g. \"organizations\": [\"MyOrgX\"], or [\"*\"] for every "
                                   f"organization of a one-organization LMS."))
        elif not isinstance(served, (list, tuple)) or not all(isinstance(o, str) and o for o in served):
            problems.append((name, f"MICROCRED_PLATFORM_ACCOUNTS[{name!r}][\"organizations\"] must be a list of "
                                   f"organization names (or [\"*\"]), not {served!r}."))
    return problems
