"""Plain data returned by ``api.py``: what other apps and outside code see of this plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True)
class RequirementStatus:
    """One leaf of a credential's criteria and where the learner stands on it."""

    path: str
    kind: str  # course_passed, course_grade, course_completion, certificate, enrolled, credential, external_credential
    met: bool
    fraction: float
    course_key: str | None = None
    credential_slug: str | None = None
    min_percent: float | None = None
    mode: str | None = None
    # An external_credential requirement's issuer and achievement (its id, else its type).
    issuer: str | None = None
    achievement: str | None = None


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


# --- The learner's own view (``api.get_learner_dashboard``): pages, REST and the MFE widget --------


@dataclass(frozen=True)
class PlatformLink:
    """An award's copy on a badge platform it was delivered to (Credly, Accredible, ...)."""

    account: str  # the MICROCRED_PLATFORM_ACCOUNTS name
    platform: str  # the backend: credly, accredible, obf, badgr
    label: str  # the platform's display name
    external_id: str
    url: str | None  # the badge's page on the platform, when we know how it is addressed


@dataclass(frozen=True)
class EarnedBadge:
    """One active award, with everything a learner needs to show it off."""

    uuid: UUID
    credential_slug: str
    title: str
    image_url: str | None  # absolute
    issued_at: datetime
    expires_at: datetime | None
    public_url: str  # the public credential page (absolute)
    json_url: str  # the signed Open Badges 3.0 credential, as a download (absolute)
    # LinkedIn's "Add to profile" form, filled in; None while the learner hides the credential
    # (its public page, the certification URL, would say "hidden by its holder").
    linkedin_url: str | None
    platform_links: list[PlatformLink] = field(default_factory=list)
    hidden: bool = False  # hidden by its holder from its public page: no share action is offered


@dataclass(frozen=True)
class MissingRequirement:
    """A requirement leaf the learner has not met yet, in words and with where to go to meet it."""

    path: str
    kind: str
    text: str  # e.g. "Reach a grade of at least 70 % in Data Analysis with Python" (translated)
    fraction: float  # how far along this one requirement is, 0..1
    percent: int  # the same in whole percent, rounded down
    # The course to take: the requirement's own, or, for a required credential, that credential's course.
    course_key: str | None = None
    course_name: str | None = None
    course_url: str | None = None
    credential_slug: str | None = None
    credential_title: str | None = None
    min_percent: float | None = None
    mode: str | None = None
    # Where the learner stands, in the requirement's own measure: the grade now (percent) for a
    # grade requirement; blocks completed and blocks needed (of total) for a completion requirement.
    current_percent: float | None = None
    blocks_done: int | None = None
    blocks_needed: int | None = None
    blocks_total: int | None = None
    # That, in words: "your grade 76 % — 80 % needed", "12 of 24 blocks done" (translated); None
    # when there is nothing to measure (pass a course, earn a certificate, ...).
    progress_text: str | None = None


@dataclass(frozen=True)
class NextStep:
    """
    Something still to do for a credential: either one requirement (``requirement`` set), or a
    choice of ``needed`` more among ``options`` (an any-of / at-least-N group, or an all-of group
    inside such a choice, whose options are then all needed).
    """

    text: str  # the requirement's text, or the choice's heading ("Any 1 of:", "2 more of:")
    needed: int
    requirement: MissingRequirement | None = None
    options: list[NextStep] = field(default_factory=list)


@dataclass(frozen=True)
class StackLevel:
    """One level of a vertical stack (bronze → silver → gold), lowest first."""

    credential_slug: str
    title: str
    earned: bool
    percent: int
    revoked: bool = False  # revoked by an operator: its progress means nothing until they allow it again


@dataclass(frozen=True)
class CredentialStatus:
    """Where the learner stands on one credential or stack, ready to show."""

    credential_slug: str
    title: str
    description: str
    image_url: str | None
    earned: bool
    fraction: float
    percent: int  # the fraction in whole percent, rounded down (99.9 % is not shown as 100 %)
    is_stack: bool
    stack_kind: str  # "", vertical, horizontal, value_added
    award_uuid: UUID | None  # the active award, when earned
    next_steps: list[NextStep] = field(default_factory=list)
    levels: list[StackLevel] = field(default_factory=list)
    children: list[CredentialStatus] = field(default_factory=list)
    # Revoked by an operator (and not earned again): shown as revoked, not as a percentage.
    revoked: bool = False


@dataclass(frozen=True)
class RevokedBadge:
    """A credential the learner held and that was revoked (and not earned again since)."""

    uuid: UUID
    credential_slug: str
    title: str
    image_url: str | None
    issued_at: datetime
    revoked_at: datetime | None
    reason: str  # why, for the learner (translated; an operator's own words when they gave some)
    can_earn_again: bool  # False after an operator's revocation, until an operator lifts it


@dataclass(frozen=True)
class SharingChoices:
    """What the learner shows on the public pages of their credentials (models.LearnerSharing)."""

    show_name: bool = False
    show_grade: bool = False


@dataclass(frozen=True)
class LearnerDashboard:
    """A learner's badges and every credential and stack they are on (stacks in progress first)."""

    user_id: int
    username: str
    badges_count: int
    badges: list[EarnedBadge]
    progress: list[CredentialStatus]
    my_credentials_url: str  # the "My credentials" page (absolute)
    revoked: list[RevokedBadge] = field(default_factory=list)
    sharing: SharingChoices = field(default_factory=SharingChoices)


# --- Uptake reports (``reports.get_uptake_report``): aggregates with a minimum cohort ----------------


@dataclass(frozen=True)
class ReportCell:
    """
    One figure of an uptake report. ``value`` is None when the figure is suppressed (``suppressed``:
    it describes too few learners, or would let such a figure be worked out) or does not apply
    (a median with no award, a rate over nobody). A suppressed figure's number is never kept.
    """

    value: int | float | None
    suppressed: bool = False


@dataclass(frozen=True)
class RequirementUptake:
    """A requirement leaf of a credential and how many of its progressing learners have not met it yet."""

    path: str
    label: str  # the requirement in words (translated)
    missing: ReportCell


@dataclass(frozen=True)
class PlatformUptake:
    """Holders of a credential whose award reached a badge platform, and of them how many accepted it there."""

    platform: str  # the backend: credly, accredible, obf, badgr
    label: str
    delivered: ReportCell
    accepted: ReportCell


@dataclass(frozen=True)
class CredentialUptake:
    """The uptake figures of one credential or stack (docs/reports.md defines each)."""

    credential_slug: str
    title: str
    org: str
    course_key: str | None
    state: str
    is_stack: bool
    stack_kind: str
    enrolled: ReportCell
    not_started: ReportCell
    progressing: ReportCell
    earned: ReportCell
    revoked: ReportCell
    median_days_to_earn: ReportCell
    stuck: list[RequirementUptake] = field(default_factory=list)  # most missed first, suppressed ones last
    deliveries: list[PlatformUptake] = field(default_factory=list)


@dataclass(frozen=True)
class LevelConversion:
    """Of the learners holding a credential, how many also hold a stack that requires it (level → next)."""

    from_slug: str
    from_title: str
    to_slug: str
    to_title: str
    vertical: bool  # a level of a vertical stack (bronze → silver), not any stack built on it
    earned_from: ReportCell  # holders of the lower credential (its "earned" figure)
    converted: ReportCell  # of them, holders of the stack
    rate: ReportCell  # converted / earned_from, in percent


@dataclass(frozen=True)
class ReportFilters:
    """What a report was narrowed to: an organization, a course, a period (days, both included)."""

    org: str | None = None
    course_key: str | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class UptakeReport:
    """Uptake of credentials and stacks: aggregates only, every figure under ``min_cohort`` learners suppressed."""

    min_cohort: int
    filters: ReportFilters
    generated_at: datetime
    credentials: list[CredentialUptake]
    conversions: list[LevelConversion]
    suppressed: int  # how many figures are suppressed


@dataclass(frozen=True)
class ExternalCredentialData:
    """An Open Badges 3.0 credential from another issuer that the learner added (external.py)."""

    id: int
    issuer: str
    issuer_name: str
    achievement_id: str
    achievement_name: str
    achievement_types: list[str]
    result: float | None
    status: str  # active, revoked, expired, untrusted
    subject_match: str  # how the credential names the learner: email_hash, email, mailto
    valid_from: datetime | None
    valid_until: datetime | None
    verified_at: datetime
    checked_at: datetime | None
    source_url: str


@dataclass(frozen=True)
class ExternalCredentialAdded:
    """A credential added, and what re-evaluating the learner then did."""

    credential: ExternalCredentialData
    awarded: list[str]
    revoked: list[str]


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of ``verify_credential``: valid, or which check failed and why."""

    valid: bool
    checks: dict = field(default_factory=dict)  # check name → "ok" or the reason it failed
    failed: str | None = None  # the first failing check: signature, revocation, expiry, not_yet_valid
    reason: str | None = None

    def __bool__(self):
        return self.valid
