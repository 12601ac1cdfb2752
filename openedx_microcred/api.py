"""
The Python API other apps call, and this plugin's own edges (REST API, pages, tasks, commands).

Everything returned is a plain dataclass from ``data.py`` (or JSON: a signed credential, counts);
no model instance leaves this module. Only the names in ``__all__`` are the API; nothing below
the edges imports this module (.importlinter).
"""

from django.utils.translation import gettext as _

from . import evaluation, external, issuance, learners
from .data import (
    AwardData,
    CredentialProgress,
    EvaluationResult,
    ExternalCredentialAdded,
    ExternalCredentialData,
    LearnerDashboard,
    SharingChoices,
    VerificationResult,
)
from .models import Award, ExternalCredential

__all__ = [
    "ExternalCredentialRefused",
    "add_external_credential",
    "evaluate_learner",
    "get_credential_document",
    "get_external_credentials",
    "get_learner_awards",
    "get_learner_dashboard",
    "get_learner_progress",
    "get_sharing",
    "linkedin_url",
    "recheck_external_credentials",
    "remove_external_credential",
    "set_sharing",
    "verify_credential",
]


def _user_id(user):
    return learners.user_id_of(user)


def evaluate_learner(user_id, course_key=None) -> EvaluationResult:
    """
    Re-evaluate one learner now: the credentials that depend on ``course_key`` (every course the
    learner has facts in when it is None), awarding, revoking and storing progress.
    """
    return evaluation.evaluate_learner(user_id, str(course_key) if course_key else None)


def verify_credential(document, now=None) -> VerificationResult:
    """
    Check an Open Badges 3.0 credential we issued: its signature (eddsa-rdfc-2022, offline), its
    revocation bit in our signed status list, and its validity period. The result says which
    check failed and why.
    """
    return issuance.verify_credential(document, now=now)


# --- External Open Badges 3.0 credentials (external.py, docs/decisions/0012) ---------------------

ExternalCredentialRefused = external.ExternalCredentialRefused


def _external_data(row) -> ExternalCredentialData:
    return ExternalCredentialData(
        id=row.pk, issuer=row.issuer, issuer_name=row.issuer_name, achievement_id=row.achievement_id,
        achievement_name=row.achievement_name, achievement_types=list(row.achievement_types or ()),
        result=row.result, status=row.status, subject_match=row.subject_match, valid_from=row.valid_from,
        valid_until=row.valid_until, verified_at=row.verified_at, checked_at=row.checked_at,
        source_url=row.source_url)


def get_external_credentials(user) -> list[ExternalCredentialData]:
    """The external credentials the learner added, newest first."""
    return [_external_data(row) for row in ExternalCredential.objects.filter(user_id=_user_id(user)).defer("document")]


def add_external_credential(user, *, upload=None, credential=None, url=None) -> ExternalCredentialAdded:
    """
    Verify and record an external credential the learner holds, then re-evaluate the credentials
    that depend on its issuer. Exactly one of ``upload`` (the file's bytes or text), ``credential``
    (its parsed JSON) or ``url`` (fetched if its host is allowed). ExternalCredentialRefused says
    which check failed and why; nothing is recorded then.
    """
    given = [value for value in (upload, credential, url) if value not in (None, "", b"")]
    if len(given) != 1:
        raise external.ExternalCredentialRefused(
            "input", _("Give the credential: upload its file, or paste the URL it is published at (one of the two)."))
    source_url = ""
    if upload not in (None, "", b""):
        credential = external.read_upload(upload)
    elif url:
        credential = external.fetch_credential(url)
        source_url = url
    row = external.add_credential(user, credential, source_url=source_url)
    result = evaluation.evaluate_learner_for_issuers(row.user_id, [row.issuer])
    return ExternalCredentialAdded(_external_data(row), result.awarded, result.revoked)


def remove_external_credential(user, credential_id) -> EvaluationResult:
    """Delete one of the learner's external credentials (DoesNotExist if not theirs), then re-evaluate."""
    issuer = external.remove_credential(user, credential_id)
    return evaluation.evaluate_learner_for_issuers(_user_id(user), [issuer])


def recheck_external_credentials(now=None) -> dict:
    """Read the status lists of external credentials due a check; evaluate the learners whose credentials changed."""
    changed = external.recheck(now=now)
    by_user = {}
    for user_id, issuer in changed:
        by_user.setdefault(user_id, set()).add(issuer)
    revoked = []
    for user_id, issuers in by_user.items():
        revoked += evaluation.evaluate_learner_for_issuers(user_id, issuers).revoked
    return {"changed": len(changed), "revoked": revoked}


def get_credential_document(award_uuid) -> dict:
    """The signed Open Badges 3.0 credential of an award (issued now if it was not yet)."""
    award = Award.objects.get(uuid=award_uuid)
    return award.document or issuance.issue_award(award.pk)


# --- The learner's own view (learners.py): "My credentials", the learner REST API, the MFE widget ---


def get_learner_awards(user, include_revoked=False) -> list[AwardData]:
    """The learner's awards: the active ones, or every one with ``include_revoked``."""
    return learners.learner_awards(user, include_revoked)


def get_learner_progress(user, course_key=None) -> list[CredentialProgress]:
    """
    Every credential the learner has progress on (only those depending on ``course_key`` if
    given): earned or not, the fraction, met and missing requirements, and for a stack the same for
    each credential in it.
    """
    return learners.learner_progress(user, course_key)


def get_learner_dashboard(user) -> LearnerDashboard:
    """
    Everything a learner sees of their credentials: the badges they hold, with share links, and
    every credential and stack they are on with its progress, what is still missing (with the
    courses to take) and, for stacks, its levels and parts.
    """
    return learners.learner_dashboard(user)


def linkedin_url(*, award_uuid, name, issued_at, expires_at=None, issuer_name=None) -> str:
    """The LinkedIn "Add to profile" link for one award (its public page is the certification URL)."""
    return learners.linkedin_url(award_uuid=award_uuid, name=name, issued_at=issued_at, expires_at=expires_at,
                                 issuer_name=issuer_name)


def get_sharing(user) -> SharingChoices:
    """What the learner shows on their credentials' public pages (both off until they choose)."""
    return learners.sharing_choices(user)


def set_sharing(user, show_name=None, show_grade=None) -> SharingChoices:
    """Change the learner's sharing choices (None: leave as it is); returns them as they now are."""
    return learners.set_sharing_choices(user, show_name=show_name, show_grade=show_grade)
