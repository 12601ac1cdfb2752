"""
The Python API other apps (and the rest of this plugin's issues: REST, pages, issuance) call.

Everything returned is a plain dataclass from ``data.py``; no model instance leaves this module.
"""

from . import evaluation, issuance
from .data import AwardData, CredentialProgress, EvaluationResult, RequirementStatus
from .models import Award, Credential, Progress


def _user_id(user):
    return user if isinstance(user, int) else user.pk


def evaluate_learner(user_id, course_key=None) -> EvaluationResult:
    """
    Re-evaluate one learner now: the credentials that depend on ``course_key`` (every course the
    learner has facts in when it is None), awarding, revoking and storing progress.
    """
    return evaluation.evaluate_learner(user_id, str(course_key) if course_key else None)


def verify_credential(document, now=None) -> issuance.VerificationResult:
    """
    Check an Open Badges 3.0 credential we issued: its signature (eddsa-rdfc-2022, offline), its
    revocation bit in our signed status list, and its validity period. The result says which
    check failed and why.
    """
    return issuance.verify_credential(document, now=now)


def get_credential_document(award_uuid) -> dict:
    """The signed Open Badges 3.0 credential of an award (issued now if it was not yet)."""
    award = Award.objects.get(uuid=award_uuid)
    return award.document or issuance.issue_award(award.pk)


def get_learner_awards(user, include_revoked=False) -> list[AwardData]:
    awards = Award.objects.filter(user_id=_user_id(user)).select_related("credential")
    if not include_revoked:
        awards = awards.filter(status=Award.Status.ACTIVE)
    return [
        AwardData(
            uuid=a.uuid, credential_slug=a.credential.slug, title=a.credential.title, user_id=a.user_id,
            status=a.status, issued_at=a.issued_at, expires_at=a.expires_at, revoked_at=a.revoked_at,
            evidence=a.evidence,
        )
        for a in awards
    ]


def get_learner_progress(user, course_key=None) -> list[CredentialProgress]:
    """
    Every credential the learner has progress on (only those depending on ``course_key`` if
    given): earned or not, the fraction, met and missing requirements, and for a stack the same for
    each credential in it.
    """
    user_id = _user_id(user)
    rows = Progress.objects.filter(user_id=user_id).select_related("credential")
    if course_key is not None:
        rows = rows.filter(credential__course_dependencies__course_key=str(course_key)).distinct()
    rows = list(rows)
    all_rows = {p.credential.slug: p for p in Progress.objects.filter(user_id=user_id).select_related("credential")}
    held = set(
        Award.objects.filter(user_id=user_id, current=True).values_list("credential__slug", flat=True)
    )
    titles = {}
    wanted = {r["requirement"]["credential"] for p in all_rows.values() for r in p.requirements
              if r["requirement"]["type"] == "credential"} - set(all_rows)
    if wanted:
        titles = dict(Credential.objects.filter(slug__in=wanted).values_list("slug", "title"))

    def build(slug, title, seen):
        row = all_rows.get(slug)
        if row is None or slug in seen:
            return CredentialProgress(slug, title, slug in held, 1.0 if slug in held else 0.0, [], [])
        statuses = [_status(r) for r in row.requirements]
        children = [
            build(s.credential_slug, titles.get(s.credential_slug, s.credential_slug), seen | {slug})
            for s in statuses if s.kind == "credential"
        ]
        return CredentialProgress(
            credential_slug=slug, title=row.credential.title, earned=slug in held,
            fraction=1.0 if slug in held else row.fraction,
            met=[s for s in statuses if s.met], missing=[s for s in statuses if not s.met],
            is_stack=bool(children), children=children,
        )

    return [build(p.credential.slug, p.credential.title, frozenset()) for p in rows]


def _status(entry):
    requirement = entry["requirement"]
    return RequirementStatus(
        path=entry["path"], kind=requirement["type"], met=entry["met"], fraction=entry["fraction"],
        course_key=requirement.get("course"), credential_slug=requirement.get("credential"),
        min_percent=requirement.get("min_percent"), mode=requirement.get("mode"),
    )
