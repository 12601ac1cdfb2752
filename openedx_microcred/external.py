"""
External Open Badges 3.0 credentials: a learner adds one that another issuer gave them, it is
verified here and kept as a learner fact (rules.EXTERNAL) that criteria can require, and its
status list is read again on a schedule (docs/decisions/0012-external-credentials.rst).

Verified, in this order, each failure an ExternalCredentialRefused saying which check failed:

1. bounded input: at most MAX_EXTERNAL_CREDENTIAL_BYTES of JSON, MAX_EXTERNAL_CREDENTIAL_DEPTH deep;
2. shape: a VerifiableCredential and an OpenBadgeCredential (or AchievementCredential) with an
   issuer and a credentialSubject holding an achievement;
3. the issuer is on the operator's list (TrustedIssuer) for some organization;
4. the signature: one ``eddsa-rdfc-2022`` proof (openbadges.proof) by a verification method of the
   issuer's own DID (did:key offline; did:web fetched within fetching.py's rules);
5. validity: validFrom passed, validUntil not;
6. the holder: the credential names the learner (``holder_match``);
7. status: every BitstringStatusListEntry read (fetched within fetching.py's rules), the list
   credential signed by the same issuer, and no revocation or suspension bit set. A credential
   whose status cannot be read is refused, not accepted unchecked.

This module is the fact layer for external credentials: it never evaluates. ``api.py`` evaluates
the learners whose external facts changed.
"""

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import NoReturn

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import fetching, limits
from .app_settings import microcred_settings
from .models import ExternalCredential, TrustedIssuer
from .openbadges import did
from .openbadges import document as ob_document
from .openbadges import proof, status_list

log = logging.getLogger(__name__)

CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"
STATUS_PURPOSES = {"revocation", "suspension"}
# How the holder was matched: the credentialSubject's IdentityObject of type emailAddress (hashed
# with its salt, or plain), or a credentialSubject id of mailto:<the learner's email>.
MATCH_EMAIL_HASH, MATCH_EMAIL, MATCH_MAILTO = "email_hash", "email", "mailto"
RECHECK_LIMIT = 1000


class ExternalCredentialRefused(ValueError):
    """A credential that was not added; ``check`` names what failed, the message says why, for the learner."""

    def __init__(self, check, message):
        super().__init__(message)
        self.check = check


@dataclass(frozen=True)
class VerifiedCredential:
    """What verification found: the fields of an ExternalCredential row."""

    fields: dict


def _refuse(check, message) -> NoReturn:
    raise ExternalCredentialRefused(check, message)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _parse_time(value, name):
    """The credential's date-time field ``name`` as an aware datetime, None when absent; refused otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        _refuse("shape", _("%(name)s is not a date and time") % {"name": name})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _refuse("shape", _("%(name)s is not a date and time: %(value)s") % {"name": name, "value": value[:40]})
    if parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    return parsed


def _short(value, length=255):
    return value[:length] if isinstance(value, str) else ""


def read_upload(data) -> dict:
    """An uploaded or pasted credential (bytes or str) as JSON within the limits, or ExternalCredentialRefused."""
    try:
        value = limits.loads_bounded(data, max_depth=limits.MAX_EXTERNAL_CREDENTIAL_DEPTH,
                                     max_bytes=limits.MAX_EXTERNAL_CREDENTIAL_BYTES)
    except ValueError as exc:
        _refuse("size", _("The file is not a credential this site can read: %(error)s") % {"error": str(exc)[:200]})
    return value


def fetch_credential(url) -> dict:
    """The credential at ``url`` (fetching.py's rules), or ExternalCredentialRefused."""
    try:
        return fetching.fetch_json(url, max_bytes=limits.MAX_EXTERNAL_CREDENTIAL_BYTES,
                                   max_depth=limits.MAX_EXTERNAL_CREDENTIAL_DEPTH)
    except fetching.FetchRefused as exc:
        _refuse("fetch", str(exc))


def _check_bounds(credential):
    """Refuse a credential that is not a JSON object, or too large or deep to check."""
    if not isinstance(credential, dict):
        _refuse("shape", _("A credential is a JSON object."))
    problem = limits.structure_exceeds(credential, limits.MAX_EXTERNAL_CREDENTIAL_DEPTH, 50_000,
                                       limits.MAX_EXTERNAL_CREDENTIAL_OBJECTS)
    if problem:
        _refuse("size", _("The credential is too large: %(problem)s.") % {"problem": problem})


def issuer_id(credential):
    """The id of the credential's issuer; refused when there is none or it is not a short text."""
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(value, str) or not value or len(value) > 500:
        _refuse("shape", _("The credential names no issuer."))
    return value


def _resolver(issuer):
    """Resolve verification methods of ``issuer``'s own DID only: another key cannot speak for it."""
    documents = {}

    def resolve(method):
        if not isinstance(method, str) or method.split("#", 1)[0] != issuer:
            raise LookupError(f"the proof is by {str(method)[:120]!r}, not by the issuer {issuer}")
        if issuer.startswith("did:web:") and issuer not in documents:
            try:
                documents[issuer] = fetching.fetch_json(did.did_web_document_url(issuer))
            except (fetching.FetchRefused, ValueError) as exc:
                raise LookupError(f"the issuer's DID document cannot be read: {exc}") from exc
        return did.resolve_verification_method(method, documents)

    return resolve


def _check_signature(signed, issuer, what):
    result = proof.verify_proof(signed, _resolver(issuer))
    if not result.valid:
        detail = f" ({result.detail[:200]})" if result.detail else ""
        _refuse("signature", _("The signature of %(what)s does not verify: %(reason)s%(detail)s")
                % {"what": what, "reason": result.reason, "detail": detail})


def _check_validity(credential, now, what):
    """Refuse a credential outside its validFrom–validUntil window at ``now``."""
    valid_from = _parse_time(credential.get("validFrom"), "validFrom")
    valid_until = _parse_time(credential.get("validUntil"), "validUntil")
    if valid_from and now < valid_from:
        _refuse("expiry", _("%(what)s is not valid before %(when)s") % {"what": what, "when": valid_from.isoformat()})
    if valid_until and now >= valid_until:
        _refuse("expiry", _("%(what)s expired on %(when)s") % {"what": what, "when": valid_until.isoformat()})
    return valid_from, valid_until


def holder_match(subject, email):
    """
    How ``subject`` (a credentialSubject) names the holder with ``email``, or None if it does not:
    an IdentityObject of identityType emailAddress whose hash (sha256$ of email + salt, as OB 3.0
    defines it) or plain value is the email, or an id ``mailto:<email>``. Emails compare as
    openbadges.document normalises them (trimmed, lower case).
    """
    if not email:
        return None
    normal = ob_document.normalize_email(email)
    for identity in _as_list(subject.get("identifier")):
        if not isinstance(identity, dict) or identity.get("identityType") != "emailAddress":
            continue
        value = identity.get("identityHash")
        if not isinstance(value, str):
            continue
        if identity.get("hashed"):
            salt = identity.get("salt") or ""
            if isinstance(salt, str) and value.lower() == ob_document.recipient_identity_hash(email, salt).lower():
                return MATCH_EMAIL_HASH
        elif ob_document.normalize_email(value) == normal:
            return MATCH_EMAIL
    subject_id = subject.get("id")
    if isinstance(subject_id, str) and subject_id.lower().startswith("mailto:") and \
            ob_document.normalize_email(subject_id[len("mailto:"):]) == normal:
        return MATCH_MAILTO
    return None


def _result(subject):
    """The highest numeric result value the credentialSubject states, or None."""
    best = None
    for result in _as_list(subject.get("result")):
        value = result.get("value") if isinstance(result, dict) else None
        try:
            number = float(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            best = number if best is None else max(best, number)
    return best


def _status_entries(credential):
    """The credential's status list entries; refused when one is of a kind this site cannot check."""
    entries = _as_list(credential.get("credentialStatus"))
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != STATUS_ENTRY_TYPE:
            _refuse("status", _("Its status is of a kind this site cannot check (only %(type)s).")
                    % {"type": STATUS_ENTRY_TYPE})
        if entry.get("statusPurpose") not in STATUS_PURPOSES:
            _refuse("status", _("Its status purpose %(purpose)s cannot be checked.")
                    % {"purpose": repr(entry.get("statusPurpose"))[:40]})
        url, index = entry.get("statusListCredential"), entry.get("statusListIndex")
        if not isinstance(url, str) or not isinstance(index, str) or not index.isdigit() or len(index) > 12:
            _refuse("status", _("Its status entry has no usable statusListCredential and statusListIndex."))
    return entries


def read_status(entry, issuer, now, lists=None):
    """
    Whether the credential of ``entry`` is revoked or suspended by its issuer: fetch the list
    (fetching.py's rules), check that the issuer signed it and that it is valid, read the bit.
    ExternalCredentialRefused (check "status") when it cannot be read. ``lists`` (a dict the caller
    keeps for one run) holds the lists already read, or why they could not be: many credentials
    share one list, which is then fetched and verified once.
    """
    key = (entry["statusListCredential"], issuer, entry["statusPurpose"])
    if lists is not None and key not in lists:
        try:
            lists[key] = _status_list(entry, issuer, now)
        except ExternalCredentialRefused as exc:
            lists[key] = exc
    encoded = lists[key] if lists is not None else _status_list(entry, issuer, now)
    if isinstance(encoded, ExternalCredentialRefused):
        raise encoded
    try:
        return status_list.is_set(encoded, int(entry["statusListIndex"]))
    except (ValueError, IndexError) as exc:
        _refuse("status", _("Its status list cannot be read: %(error)s") % {"error": str(exc)[:200]})


def _status_list(entry, issuer, now):
    """The verified ``encodedList`` of the status list ``entry`` points at."""
    url = entry["statusListCredential"]
    try:
        listed = fetching.fetch_json(url)
    except fetching.FetchRefused as exc:
        _refuse("status", _("Its status list cannot be read: %(error)s") % {"error": exc})
    if not isinstance(listed, dict):
        _refuse("status", _("Its status list is not a credential."))
    problem = limits.structure_exceeds(listed, limits.MAX_EXTERNAL_CREDENTIAL_DEPTH, 50_000,
                                       limits.MAX_EXTERNAL_CREDENTIAL_OBJECTS)
    if problem:
        _refuse("status", _("Its status list is too large to check: %(problem)s.") % {"problem": problem})
    try:
        list_issuer = issuer_id(listed)
    except ExternalCredentialRefused:
        _refuse("status", _("Its status list names no issuer."))
    if list_issuer != issuer:
        _refuse("status", _("Its status list is issued by %(other)s, not by its issuer.") % {"other": list_issuer})
    try:
        _check_signature(listed, issuer, _("its status list"))
        _check_validity(listed, now, _("Its status list"))
    except ExternalCredentialRefused as exc:
        _refuse("status", str(exc))
    subject = listed.get("credentialSubject")
    encoded = subject.get("encodedList") if isinstance(subject, dict) else None
    if not isinstance(subject, dict) or subject.get("statusPurpose") != entry["statusPurpose"]:
        _refuse("status", _("Its status list is not a list for %(purpose)s.") % {"purpose": entry["statusPurpose"]})
    return encoded


def verify(credential, email, now=None) -> VerifiedCredential:
    """Every check of the module docstring on ``credential`` for the learner with ``email``."""
    now = now or timezone.now()
    _check_bounds(credential)
    types = set(_as_list(credential.get("type")))
    if "VerifiableCredential" not in types or not types & CREDENTIAL_TYPES:
        _refuse("shape", _("This is not an Open Badges 3.0 credential (type OpenBadgeCredential)."))
    issuer = issuer_id(credential)
    subject = credential.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    if not isinstance(achievement, dict):
        _refuse("shape", _("The credential has no credentialSubject with an achievement."))
    if not TrustedIssuer.objects.filter(issuer=issuer).exists():
        _refuse("issuer", _("Its issuer, %(issuer)s, is not one this site trusts.") % {"issuer": issuer[:200]})
    _check_signature(credential, issuer, _("the credential"))
    valid_from, valid_until = _check_validity(credential, now, _("The credential"))
    match = holder_match(subject, email)
    if match is None:
        _refuse("holder", _("The credential does not name you: it must identify its holder by the email address "
                            "of your account."))
    status_url, status_index = "", None
    for entry in _status_entries(credential):
        if read_status(entry, issuer, now):
            _refuse("revoked", _("Its issuer has revoked or suspended it."))
        if entry["statusPurpose"] == "revocation":
            status_url, status_index = entry["statusListCredential"], int(entry["statusListIndex"])
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id or len(credential_id) > 500:
        # No id of its own (allowed by the data model): named by what was signed.
        unsigned = json.dumps({k: v for k, v in credential.items() if k != "proof"}, sort_keys=True)
        credential_id = "sha256:" + hashlib.sha256(unsigned.encode("utf-8", "surrogatepass")).hexdigest()
    issuer_value = credential.get("issuer")
    return VerifiedCredential({
        "credential_id": credential_id,
        "issuer": issuer,
        "issuer_name": _short(issuer_value.get("name")) if isinstance(issuer_value, dict) else "",
        "achievement_id": _short(achievement.get("id"), 500),
        "achievement_types": [t for t in _as_list(achievement.get("type")) if isinstance(t, str)][:20],
        "achievement_name": _short(achievement.get("name")),
        "result": _result(subject),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "subject_match": match,
        "status_list_url": status_url[:500],
        "status_index": status_index,
        "verified_at": now,
        "checked_at": now if status_url else None,
    })


def add_credential(user, credential, source_url="", now=None) -> ExternalCredential:
    """Verify ``credential`` for ``user`` and record it (again, if it was there); ExternalCredentialRefused if not."""
    verified = verify(credential, getattr(user, "email", ""), now)
    with transaction.atomic():
        existing = ExternalCredential.objects.select_for_update().filter(
            user_id=user.pk, credential_id=verified.fields["credential_id"]).first()
        if existing is None and ExternalCredential.objects.filter(user_id=user.pk).count() >= \
                limits.MAX_EXTERNAL_CREDENTIALS_PER_LEARNER:
            _refuse("size", _("You have added %(max)d credentials, the most this site keeps; remove one first.")
                    % {"max": limits.MAX_EXTERNAL_CREDENTIALS_PER_LEARNER})
        row = existing or ExternalCredential(user_id=user.pk)
        for name, value in verified.fields.items():
            setattr(row, name, value)
        row.document, row.source_url = credential, source_url[:500]
        row.status, row.last_check_error = ExternalCredential.Status.ACTIVE, ""
        row.save()
    log.info("openedx-microcred: learner %s added external credential %s from %s", user.pk, row.pk, row.issuer)
    return row


def remove_credential(user, pk) -> str:
    """Delete one of ``user``'s external credentials; its issuer (for the evaluation), or DoesNotExist."""
    row = ExternalCredential.objects.get(pk=pk, user_id=user.pk)
    issuer = row.issuer
    row.delete()
    return issuer


def recheck_hours():
    """How many hours an external credential's status stays fresh before ``recheck`` reads it again."""
    return float(microcred_settings.EXTERNAL_RECHECK_HOURS)


def recheck(now=None, limit=RECHECK_LIMIT, older_than_hours=None) -> list:
    """
    Read again the status of the active external credentials last checked longer ago than
    ``older_than_hours`` (MICROCRED_EXTERNAL_RECHECK_HOURS): a revoked or suspended one, an expired
    one and one whose issuer is no longer trusted stops counting. A status list that cannot be
    read now changes nothing (the error is kept on the row, and it is tried again next time): an
    issuer's server being down is not a revocation. Returns (user id, issuer) of every credential
    whose status changed, for the caller to evaluate.
    """
    now = now or timezone.now()
    hours = recheck_hours() if older_than_hours is None else older_than_hours
    due = (ExternalCredential.objects.filter(status=ExternalCredential.Status.ACTIVE)
           .filter(checked_at__isnull=True) | ExternalCredential.objects.filter(
               status=ExternalCredential.Status.ACTIVE, checked_at__lte=now - timedelta(hours=hours)))
    trusted = set(TrustedIssuer.objects.values_list("issuer", flat=True))
    changed, lists = [], {}
    for row in due.order_by("checked_at")[:limit]:
        status, error = ExternalCredential.Status.ACTIVE, ""
        if row.issuer not in trusted:
            status = ExternalCredential.Status.UNTRUSTED
        elif row.valid_until and now >= row.valid_until:
            status = ExternalCredential.Status.EXPIRED
        else:
            try:
                for entry in _status_entries(row.document):
                    if read_status(entry, row.issuer, now, lists):
                        status = ExternalCredential.Status.REVOKED
            except ExternalCredentialRefused as exc:
                error = str(exc)[:500]
        ExternalCredential.objects.filter(pk=row.pk).update(status=status, checked_at=now, last_check_error=error)
        if status != ExternalCredential.Status.ACTIVE:
            log.info("openedx-microcred: external credential %s of learner %s is now %s", row.pk, row.user_id, status)
            changed.append((row.user_id, row.issuer))
    return changed
