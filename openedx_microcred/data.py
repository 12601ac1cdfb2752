"""Plain data returned by ``api.py``: what other apps and outside code see of this plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class RequirementStatus:
    """One leaf of a credential's criteria and where the learner stands on it."""

    path: str
    kind: str  # course_passed, course_grade, course_completion, certificate, enrolled, credential
    met: bool
    fraction: float
    course_key: str | None = None
    credential_slug: str | None = None
    min_percent: float | None = None
    mode: str | None = None


@dataclass(frozen=True)
class CredentialProgress:
    """How far a learner is along one credential; for a stack, also along each credential in it."""

    credential_slug: str
    title: str
    earned: bool
    fraction: float
    met: list[RequirementStatus]
    missing: list[RequirementStatus]
    is_stack: bool = False
    children: list[CredentialProgress] = field(default_factory=list)


@dataclass(frozen=True)
class AwardData:
    """An issued credential."""

    uuid: UUID
    credential_slug: str
    title: str
    user_id: int
    status: str
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    evidence: list


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation of one learner did."""

    user_id: int
    evaluated: list[str]
    awarded: list[str]
    revoked: list[str]
