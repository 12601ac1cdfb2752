"""
Database models: credentials and their dependency index, learner facts, progress, awards and the
events that could not be processed.

The rules themselves live in ``rules.py`` (pure Python); these models only store what it reads and
decides.
"""

import json
import uuid

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connection, models
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from opaque_keys.edx.django.models import CourseKeyField

from . import issuer, limits, organizations, rules, vocabularies
from .images import UPLOAD_TO, validate_badge_image
from .openbadges.document import LANGUAGE_CODE

_EQF_RANGE = _("The EQF level is a number from 1 to 8.")

# What inLanguage accepts (the OB 3.0 schema's pattern): "en", "nl-NL", "zh-Hant-TW".
language_validator = RegexValidator(
    LANGUAGE_CODE,
    _("A language code such as 'en', 'nl-NL' or 'pt-BR' (BCP 47: lower-case language, upper-case country)."),
)


def platform_target_problems(targets):
    """What is wrong with a credential's platform targets (their shape; the platforms check the rest)."""
    if not isinstance(targets, list):
        return [_("Platform targets are a list of objects, each with an 'account'.")]
    if len(targets) > limits.MAX_PLATFORM_TARGETS:
        return [_("At most %(max)d platform targets, not %(count)d.")
                % {"max": limits.MAX_PLATFORM_TARGETS, "count": len(targets)}]
    problems, seen = [], set()
    for index, target in enumerate(targets):
        if _target_too_large(target):
            problems.append(_("platform_targets[%(i)d]: its settings are larger than %(max)d bytes of JSON.")
                            % {"i": index, "max": limits.MAX_PLATFORM_TARGET_BYTES})
        elif not isinstance(target, dict) or not isinstance(target.get("account"), str) or not target["account"]:
            problems.append(_("platform_targets[%(i)d]: an object with the name of a platform account "
                              "('account') is required.") % {"i": index})
        elif target["account"] in seen:
            problems.append(_("platform_targets[%(i)d]: account '%(a)s' is listed twice.")
                            % {"i": index, "a": target["account"]})
        else:
            seen.add(target["account"])
    return problems


def _target_too_large(target):
    """Whether a credential's settings for a badge platform account are too large (or too deep) to store."""
    # Measured without recursion first: json.dumps of deeply nested settings would exhaust the stack.
    if limits.structure_exceeds(target, limits.MAX_JSON_DEPTH, limits.MAX_PLATFORM_TARGET_BYTES):
        return True
    try:
        return len(json.dumps(target, ensure_ascii=False).encode()) > limits.MAX_PLATFORM_TARGET_BYTES
    except (TypeError, ValueError):
        return False  # not JSON data: the shape check or the JSONField says so


def validate_learning_outcomes(value):
    """At most MAX_LEARNING_OUTCOMES outcomes, each a string of at most MAX_LEARNING_OUTCOME_LENGTH."""
    if not isinstance(value, list):
        raise ValidationError(_("Learning outcomes are a list of texts."), code="invalid")
    if len(value) > limits.MAX_LEARNING_OUTCOMES:
        raise ValidationError(
            _("At most %(max)d learning outcomes, not %(count)d.")
            % {"max": limits.MAX_LEARNING_OUTCOMES, "count": len(value)}, code="max_outcomes")
    problems = []
    for index, outcome in enumerate(value):
        if not isinstance(outcome, str):
            problems.append(_("Learning outcome %(n)d is not a text.") % {"n": index + 1})
        elif len(outcome) > limits.MAX_LEARNING_OUTCOME_LENGTH:
            problems.append(_("Learning outcome %(n)d has %(length)d characters; at most %(max)d are allowed.")
                            % {"n": index + 1, "length": len(outcome), "max": limits.MAX_LEARNING_OUTCOME_LENGTH})
    if problems:
        raise ValidationError(problems, code="outcome_length")


class Credential(models.Model):
    """
    Something a learner can earn. A credential whose criteria require other credentials is a stack.

    .. no_pii: The definition of a credential: no learner data.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")

    class RevocationPolicy(models.TextChoices):
        KEEP = "keep", _("Keep once earned")
        REVOKE_WHEN_UNMET = "revoke_when_unmet", _("Revoke when the criteria are no longer met")

    class StackKind(models.TextChoices):
        NONE = "", _("Not a stack")
        VERTICAL = "vertical", _("Vertical (levels in depth)")
        HORIZONTAL = "horizontal", _("Horizontal (breadth)")
        VALUE_ADDED = "value_added", _("Value-added")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=100, unique=True, help_text=_("Stable identifier, used in criteria and files."))
    # Every text and list that reaches the signed document and the public page is bounded
    # (limits.py, docs/limits.md): one award's page never costs more than these many bytes.
    title = models.CharField(max_length=limits.MAX_TITLE_LENGTH)
    # A TextField's max_length only sizes form fields: the validator enforces it.
    description = models.TextField(blank=True, max_length=limits.MAX_DESCRIPTION_LENGTH,
                                   validators=[MaxLengthValidator(limits.MAX_DESCRIPTION_LENGTH)])
    image = models.FileField(
        upload_to=UPLOAD_TO, blank=True, validators=[validate_badge_image],
        help_text=_("The badge: a PNG or SVG of at most 512 KiB."),
    )
    org = models.CharField(max_length=255, db_index=True, help_text=_("The organization that awards it."))
    course_key = CourseKeyField(
        max_length=255, blank=True, null=True, db_index=True,
        help_text=_("The course whose team owns this credential; empty for an organization-level stack."),
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT, db_index=True)
    criteria = models.JSONField(help_text=_("The requirement tree; see the README for its format."))
    revocation_policy = models.CharField(
        max_length=32, choices=RevocationPolicy.choices, default=RevocationPolicy.KEEP
    )
    stack_kind = models.CharField(max_length=16, choices=StackKind.choices, default=StackKind.NONE, blank=True)
    validity_days = models.PositiveIntegerField(
        null=True, blank=True,
        help_text=_("Days an award stays valid; empty for no expiry."),
        validators=[MinValueValidator(1, _("An award is valid for at least one day.")),
                    MaxValueValidator(limits.MAX_VALIDITY_DAYS)],
    )

    # The EU Council Recommendation (2022) elements a microcredential describes.
    learning_outcomes = models.JSONField(default=list, blank=True, validators=[validate_learning_outcomes])
    workload_hours = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(limits.MAX_WORKLOAD_HOURS)])
    ects_credits = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    eqf_level = models.PositiveSmallIntegerField(
        null=True, blank=True,
        validators=[MinValueValidator(1, _EQF_RANGE), MaxValueValidator(8, _EQF_RANGE)],
        help_text=_("EQF level, 1 to 8."),
    )
    # The three controlled choices are keys of openedx_microcred.vocabularies (the European Learning
    # Model's vocabularies; the credential carries each as an IRI with its label).
    assessment_type = models.CharField(
        max_length=limits.MAX_SHORT_TEXT_LENGTH, blank=True,
        choices=vocabularies.choices(vocabularies.ASSESSMENT_TYPES),
        help_text=_("The main type of assessment (European Learning Model)."))
    participation_form = models.CharField(
        max_length=limits.MAX_SHORT_TEXT_LENGTH, blank=True,
        choices=vocabularies.choices(vocabularies.LEARNING_MODES),
        help_text=_("The mode of learning and assessment (European Learning Model)."))
    supervision = models.CharField(
        max_length=32, blank=True, choices=vocabularies.choices(vocabularies.SUPERVISION_TYPES),
        help_text=_("How the assessment is supervised and whether the learner's identity is verified."))
    # Quality assurance, carried as an Alignment: the description, the framework or body, a code
    # (a decision's number) and the URL of its public record.
    quality_assurance = models.TextField(blank=True, max_length=limits.MAX_QUALITY_ASSURANCE_LENGTH,
                                         validators=[MaxLengthValidator(limits.MAX_QUALITY_ASSURANCE_LENGTH)])
    quality_assurance_framework = models.CharField(
        max_length=limits.MAX_SHORT_TEXT_LENGTH, blank=True,
        help_text=_("The quality assurance framework or body, e.g. the accreditation organization."))
    quality_assurance_code = models.CharField(max_length=100, blank=True,
                                              help_text=_("The code of the decision, e.g. AV-4223."))
    quality_assurance_url = models.URLField(max_length=500, blank=True,
                                            help_text=_("The public record of the quality assurance."))
    identity_verified = models.BooleanField(default=False)
    language = models.CharField(max_length=35, blank=True, validators=[language_validator],
                                help_text=_("The language of the learning, e.g. 'en' or 'nl-NL'; empty for the "
                                            "site's language."))
    # Free text saved before the choices above existed that matched no term (migration 0012): kept
    # for the course team to pick the terms, then clear.
    eu_notes = models.TextField(blank=True, max_length=limits.MAX_QUALITY_ASSURANCE_LENGTH,
                                validators=[MaxLengthValidator(limits.MAX_QUALITY_ASSURANCE_LENGTH)])

    # Where awards are pushed: [{"account": "<MICROCRED_PLATFORM_ACCOUNTS name>", ...platform settings
    # such as "template_id" (Credly), "group_id" (Accredible), "badge_id" (OBF), "badgeclass" (Badgr)}].
    platform_targets = models.JSONField(default=list, blank=True)

    # Direct edges to the credentials this one requires; derived from `criteria` on save.
    requires = models.ManyToManyField("self", symmetrical=False, related_name="required_by", blank=True)

    # Publishing queues the evaluation of every learner with facts in its courses, in chunks by user
    # id. Until the last chunk is done this holds when the fan-out was (re)started and the last user
    # id done, so that catalog.sweep_learner_fan_outs resumes one whose task was lost (broker down).
    learners_pending_since = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    learners_done_through = models.BigIntegerField(default=0, editable=False)

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("org", "slug")

    def __str__(self):
        return f"{self.title} ({self.slug})"

    @property
    def is_stack(self):
        return bool(self.requirement().credentials())

    def requirement(self) -> rules.Requirement:
        return rules.parse_criteria(self.criteria)

    def rule(self) -> rules.CredentialRule:
        return rules.CredentialRule(
            slug=self.slug,
            requirement=self.requirement(),
            revoke_when_unmet=self.revocation_policy == self.RevocationPolicy.REVOKE_WHEN_UNMET,
        )

    def clean(self):
        super().clean()
        if self.platform_targets in (None, ""):
            self.platform_targets = []
        problems = platform_target_problems(self.platform_targets)
        if problems:
            raise ValidationError({"platform_targets": problems})
        try:
            tree = rules.parse_criteria(self.criteria)
        except rules.InvalidCriteria as exc:
            raise ValidationError({"criteria": exc.messages}) from exc
        if self.pk:
            stored_slug = Credential.objects.filter(pk=self.pk).values_list("slug", flat=True).first()
            if stored_slug and stored_slug != self.slug:
                raise ValidationError({"slug": _("The slug cannot change: criteria, files and awards refer to it.")})
        problems = self.organization_problems(tree)
        problems.update(self.eu_problems())
        if problems:
            raise ValidationError(problems)
        # References and cycles are checked against the rest of the catalog.
        check_references({self.slug: tree}, titles={self.slug: self.title})

    def uses_eu_details(self) -> bool:
        """Whether the credential is described as an EU microcredential (any of its elements is set)."""
        return bool(self.learning_outcomes or self.workload_hours is not None or self.ects_credits is not None
                    or self.eqf_level or self.assessment_type or self.participation_form or self.supervision
                    or self.quality_assurance or self.quality_assurance_framework or self.quality_assurance_url)

    def eu_problems(self, publishing=False) -> dict:
        """
        The EU details' problems, field → messages: a supervision choice that contradicts "identity
        verified", and publishing EU details while the issuer has no country (mandatory in the EU
        Recommendation). The country is asked of an active credential, or of one about to be published
        (``publishing``).
        """
        problems = {}
        if self.supervision in dict(vocabularies.choices(vocabularies.SUPERVISION_TYPES)):
            implied = vocabularies.term("supervision", self.supervision).identity_checked
            if implied is not None and implied != bool(self.identity_verified):
                problems["identity_verified"] = [
                    _("The supervision chosen says the identity is verified: tick “identity verified”.") if implied
                    else _("The supervision chosen says the identity is not verified: untick “identity verified”.")]
        if (publishing or self.state == self.State.ACTIVE) and self.uses_eu_details():
            country = issuer.country_problem()
            if country:
                problems[NON_FIELD_ERRORS] = [
                    _("A credential with EU microcredential details cannot be published yet. %(reason)s")
                    % {"reason": country}]
        return problems

    def organization_problems(self, tree, credential_orgs=None) -> dict:
        """
        The problems of what crosses organization lines (docs/security.md), field → messages: an org
        other than its course's, a requirement on another organization's course or credential without an
        operator's pairing, a badge platform account that is unknown or does not serve the org.
        ``credential_orgs`` (slug → org of the required credentials) defaults to the stored catalog;
        the catalog loader passes the file's too.
        """
        problems = {}
        course_org = organizations.course_org(self.course_key) if self.course_key else None
        if course_org is not None and self.org != course_org:
            problems["org"] = [_("The course %(course)s belongs to organization '%(org)s'.")
                               % {"course": self.course_key, "org": course_org}]
        if credential_orgs is None:
            credential_orgs = dict(Credential.objects.filter(slug__in=tree.credentials()).values_list("slug", "org"))
        criteria = organizations.criteria_problems(self.org, tree, credential_orgs)
        if criteria:
            problems["criteria"] = criteria
        untrusted = organizations.external_issuer_problems(self.org, tree, TrustedIssuer.trusted_by(self.org))
        if untrusted:
            problems.setdefault("criteria", []).extend(untrusted)
        targets = organizations.platform_target_problems(self.org, self.platform_targets)
        if targets:
            problems["platform_targets"] = targets
        return problems


def check_references(changed, titles=None):
    """
    Check that the changed credentials (slug → requirement tree) only require credentials that
    exist and close no cycle through the stored catalog. Raises a ValidationError on "criteria"
    naming the problems of the changed credentials only: a fault elsewhere in the catalog (which the
    system check reports) does not block saving an unrelated credential. A cycle is told by the
    credentials' titles (``titles``: slug → title of the changed ones; the stored ones' are read),
    as course teams know them.

    Only the credentials reachable from the changed ones are read (a cycle through a changed
    credential can only run through what it requires), so a save costs O(its descendants), not
    O(catalog).
    """
    requires = {slug: set(tree.credentials()) for slug, tree in changed.items()}
    titles = dict(titles or {})
    messages = []
    known, asked = set(), set(requires)
    frontier = set().union(*requires.values()) - asked
    while frontier:
        asked |= frontier
        fetched = []
        for stored in Credential.objects.filter(slug__in=frontier).only("slug", "criteria", "title"):
            known.add(stored.slug)
            titles.setdefault(stored.slug, stored.title)
            fetched.append(stored.slug)
            try:
                requires[stored.slug] = set(stored.requirement().credentials())
            except rules.InvalidCriteria:
                requires[stored.slug] = set()  # broken elsewhere; the system check reports it
        frontier = set().union(*(requires[slug] for slug in fetched)) - asked
    for slug, tree in changed.items():
        for leaf in tree.leaves():
            if isinstance(leaf, rules.CredentialEarned):
                if leaf.credential == slug:
                    message = _("'%(slug)s' requires itself") % {"slug": slug}
                    messages.append(f"{leaf.path}: {message}")
                elif leaf.credential not in changed and leaf.credential not in known:
                    message = _("requires unknown credential '%(slug)s'") % {"slug": leaf.credential}
                    messages.append(f"{leaf.path}: {message}")
    for cycle in rules.find_cycles_in_graph(requires):
        members = cycle[:-1]
        if len(members) < 2:
            continue  # a self-reference, reported above
        start = next((i for i, s in enumerate(members) if s in changed), None)
        if start is not None:
            rotated = members[start:] + members[:start]
            named = [f"“{titles.get(slug) or slug}”" for slug in rotated + [rotated[0]]]
            message = _("dependency cycle %(cycle)s") % {"cycle": " → ".join(named)}
            messages.append(f"criteria: {message}")
    if messages:
        raise ValidationError({"criteria": messages})


class CourseDependency(models.Model):
    """
    The dependency index: credential C depends on course K if C's criteria, or the criteria of any
    credential C requires (transitively), read facts from K. An event in K re-evaluates exactly these.

    .. no_pii: Credentials and course keys only.
    """

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="course_dependencies")
    course_key = CourseKeyField(max_length=255, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("credential", "course_key"), name="microcred_dep_unique")]

    def __str__(self):
        return f"{self.credential_id} ← {self.course_key}"


class ExternalDependency(models.Model):
    """
    The dependency index for external credentials: credential C depends on issuer I if C's
    criteria, or those of a credential it requires (transitively), name an external credential of
    I. A learner adding, or losing, a credential of I re-evaluates exactly these.

    .. no_pii: Credentials and issuer ids only.
    """

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="external_dependencies")
    issuer = models.CharField(max_length=500, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("credential", "issuer"), name="microcred_extdep_unique")]

    def __str__(self):
        return f"{self.credential_id} ← {self.issuer}"


class TrustedIssuer(models.Model):
    """
    An issuer of Open Badges 3.0 credentials that one organization's credentials may require
    (docs/decisions/0012): an operator's decision, per organization. A learner can add a credential
    only from an issuer some organization trusts; a credential's criteria may name only the issuers
    its own organization trusts.

    .. no_pii: Issuers (organizations) an operator trusts: no learner data.
    """

    issuer = models.CharField(max_length=500, help_text=_("The issuer's DID (did:key or did:web) or id, exactly "
                                                          "as its credentials name it."))
    org = models.CharField(max_length=255, help_text=_("The organization whose credentials may require this "
                                                       "issuer's credentials; \"*\" for every organization."))
    name = models.CharField(max_length=255, blank=True, help_text=_("Who the issuer is, for people."))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("issuer", "org"), name="microcred_trusted_issuer_unique")]
        ordering = ("org", "issuer")

    def __str__(self):
        return f"{self.name or self.issuer} (trusted by {self.org})"

    @classmethod
    def trusted_by(cls, org):
        """The issuers ``org``'s credentials may require."""
        return set(cls.objects.filter(org__in=(org, organizations.EVERY_ORGANIZATION)).values_list("issuer", flat=True))


class ExternalCredential(models.Model):
    """
    An Open Badges 3.0 credential another issuer gave a learner, added by the learner and verified
    here (external.py). While ACTIVE it is a learner fact (rules.EXTERNAL) the criteria can require;
    its status list is checked again on a schedule, and a revoked one stops counting.

    .. pii: The learner's user id, and the credential they added as they gave it: its subject names
        them (a salted hash of their email, or their email in clear, maybe their name), and where it was
        fetched from. retirement.py deletes the learner's rows.
    .. pii_types: id, email_address, name, external_service
    .. pii_retirement: local_api
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Verified")
        REVOKED = "revoked", _("Revoked by its issuer")
        EXPIRED = "expired", _("Expired")
        UNTRUSTED = "untrusted", _("Its issuer is no longer trusted")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    credential_id = models.CharField(max_length=500, help_text=_("The credential's own id (or a hash of it)."))
    issuer = models.CharField(max_length=500, db_index=True)
    issuer_name = models.CharField(max_length=255, blank=True)
    achievement_id = models.CharField(max_length=500, blank=True)
    achievement_types = models.JSONField(default=list, blank=True)
    achievement_name = models.CharField(max_length=255, blank=True)
    result = models.FloatField(null=True, blank=True, help_text=_("The highest numeric result it states."))
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    # The credential as the learner gave it (at most limits.MAX_EXTERNAL_CREDENTIAL_BYTES of JSON).
    document = models.JSONField()
    source_url = models.URLField(max_length=500, blank=True, help_text=_("Where it was fetched from, if it was."))
    # How the credential names its holder, and how that was matched to this learner.
    subject_match = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    status_list_url = models.URLField(max_length=500, blank=True)
    status_index = models.PositiveIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(help_text=_("When its signature and status were verified."))
    checked_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text=_("When its status list was last read."))
    last_check_error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("user", "credential_id"), name="microcred_external_unique")]
        ordering = ("-created",)

    def __str__(self):
        return f"{self.user_id} {self.achievement_name or self.achievement_id} from {self.issuer} ({self.status})"

    def fact_value(self) -> dict:
        """What the rules engine reads of it (rules.ExternalCredentialHeld), and what award evidence keeps."""
        return {"issuer": self.issuer, "issuer_name": self.issuer_name, "achievement_id": self.achievement_id,
                "achievement_types": list(self.achievement_types or ()), "achievement_name": self.achievement_name,
                "result": self.result, "credential_id": self.credential_id}

    def to_rule_fact(self) -> rules.Fact:
        return rules.Fact(f"{rules.EXTERNAL_KEY_PREFIX}{self.pk}", rules.EXTERNAL, self.fact_value(),
                          f"external-credential-{self.pk}", self.valid_from or self.verified_at)

    def timeline_facts(self) -> list:
        """
        Its place in the learner's timeline (timeline.replay): held from its validFrom (else from
        when it was verified) and, once it stopped counting, no longer held from when it expired or
        its new status was read; rules.ExternalCredentialHeld counts only an active one.
        """
        held = self.to_rule_fact()
        if self.status == self.Status.ACTIVE:
            return [held]
        ended = (self.valid_until if self.status == self.Status.EXPIRED and self.valid_until else None) \
            or self.checked_at or self.verified_at
        return [held, rules.Fact(held.course_key, held.kind, {**held.value, "status": self.status},
                                 f"{held.event_id}-{self.status}", max(ended, held.event_time))]


class LearnerFact(models.Model):
    """
    The latest known value of one fact (rules.FACT_KINDS) about one learner in one course.

    .. pii: The learner's user id and what they did in a course (grades, completion, enrollment).
        retirement.py deletes the learner's rows.
    .. pii_types: id, other
    .. pii_retirement: local_api
    """

    KIND_CHOICES = [(kind, kind) for kind in rules.FACT_KINDS]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course_key = CourseKeyField(max_length=255)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    value = models.JSONField()
    event_id = models.CharField(max_length=100, db_index=True, help_text=_("Id of the event this value came from."))
    event_type = models.CharField(max_length=255)
    event_time = models.DateTimeField(help_text=_("When the platform says the event happened."))
    modified = models.DateTimeField(auto_now=True)
    # Set when the value changed and the learner's evaluation is due; cleared once an evaluation has
    # seen this event. A fact left pending (its task lost with a broker or a worker) is queued again
    # by facts.sweep_pending_evaluations.
    pending_since = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "course_key", "kind"), name="microcred_fact_unique"),
        ]
        indexes = [models.Index(fields=("course_key", "kind"), name="microcred_fact_course")]

    def __str__(self):
        return f"{self.user_id} {self.course_key} {self.kind}"

    def to_rule_fact(self) -> rules.Fact:
        return rules.Fact(str(self.course_key), self.kind, self.value, self.event_id, self.event_time)


class LearnerEvent(models.Model):
    """
    The learner's fact history: every event recorded, one row each, never updated but to say it was
    evaluated (docs/decisions/0016). LearnerFact holds the newest of these per (course, kind); this
    keeps them all, so that an event arriving late is placed where it belongs in time and the
    learner's outcomes are re-derived over the timeline (timeline.py).

    .. pii: The learner's user id and the history of what they did in a course (grades, completion,
        enrollment). retirement.py deletes the learner's rows.
    .. pii_types: id, other
    .. pii_retirement: local_api
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course_key = CourseKeyField(max_length=255)
    kind = models.CharField(max_length=16, choices=LearnerFact.KIND_CHOICES)
    value = models.JSONField()
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=255)
    event_time = models.DateTimeField(help_text=_("When the platform says the event happened."))
    # False until an evaluation of the learner has taken this event into account: an evaluation
    # that finds more than this one new event, or one older than what it already decided from,
    # re-derives the learner's outcomes over the timeline.
    evaluated = models.BooleanField(default=False, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "course_key", "kind", "event_id"), name="microcred_event_unique"),
        ]
        indexes = [models.Index(fields=("user", "evaluated"), name="microcred_event_pending")]

    def __str__(self):
        return f"{self.user_id} {self.course_key} {self.kind} {self.event_id}"

    def to_rule_fact(self) -> rules.Fact:
        return rules.Fact(str(self.course_key), self.kind, self.value, self.event_id, self.event_time)


class Progress(models.Model):
    """
    How far one learner is along one credential, as the last evaluation found.

    .. pii: The learner's user id and how far along a credential they are. retirement.py deletes the
        learner's rows.
    .. pii_types: id, other
    .. pii_retirement: local_api
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="progress")
    fraction = models.FloatField(default=0.0)
    met = models.BooleanField(default=False, help_text=_("Whether the criteria are met now."))
    # One entry per requirement leaf: {"path", "requirement", "met", "fraction"}.
    requirements = models.JSONField(default=list)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("user", "credential"), name="microcred_progress_unique")]
        verbose_name_plural = _("progress")

    def __str__(self):
        return f"{self.user_id} {self.credential_id} {self.fraction:.0%}"


class LearnerLock(models.Model):
    """
    One row per learner evaluated, locked first thing in every evaluation of that learner so that
    evaluations of one learner run one after the other (docs/decisions/0010): each decides from
    what the one before it stored. A plain id, not a foreign key: taking the lock never waits on
    the user row.

    .. pii: The learner's user id (and when they were last evaluated). retirement.py deletes the
        learner's row.
    .. pii_types: id
    .. pii_retirement: local_api
    """

    user_id = models.IntegerField(primary_key=True)
    locked_at = models.DateTimeField(help_text=_("When an evaluation of the learner last started."))
    # The newest event time the learner's outcomes were decided from (docs/decisions/0016): an event
    # older than this arrived late, and the learner's outcomes are re-derived over the timeline.
    # Empty: not known (a learner evaluated before the history was kept), re-derived too.
    evaluated_through = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user_id}"

    @classmethod
    def take(cls, user_ids):
        """
        Lock these learners (rows made on first use), in user id order, until the end of the
        current transaction: whoever takes one of them elsewhere waits until then, and then sees
        what this transaction stored. One statement: an upsert, which locks the row it inserts or
        updates on MariaDB/MySQL and PostgreSQL, and takes SQLite's write lock.

        Take it first in the transaction: on REPEATABLE READ (MariaDB's default) the snapshot is
        taken at the first plain read, and one taken before the wait would not show what the
        other transaction stored meanwhile.
        """
        rows = [cls(user_id=user_id, locked_at=timezone.now()) for user_id in sorted(set(user_ids))]
        if not rows:
            return
        # MariaDB/MySQL upsert on any unique key and cannot be told which (ours has only the primary key).
        target = ["user_id"] if connection.features.supports_update_conflicts_with_target else None
        cls.objects.bulk_create(rows, update_conflicts=True, unique_fields=target, update_fields=["locked_at"])

    @classmethod
    def take_free(cls, user_ids):
        """
        Lock those of these learners that no other transaction holds, without waiting for the
        others, until the end of the current transaction; return the user ids locked. A worker's
        micro-batch takes its own learner with ``take`` (waiting) and the rest with this: a
        transaction waits only for its first lock, while it holds none, so two batches never
        deadlock, and one never evaluates again what the other holds.

        Only learners who have a row can be locked so: make the missing rows first, outside the
        transaction (``make_rows``). On SQLite, which has no row locks, the transaction's write lock
        (taken by ``take``) already holds the whole database: every learner asked for is locked.
        """
        user_ids = sorted(set(user_ids))
        if not user_ids:
            return []
        if not connection.features.has_select_for_update_skip_locked:
            return user_ids
        return list(cls.objects.select_for_update(skip_locked=True).filter(user_id__in=user_ids)
                    .order_by("user_id").values_list("user_id", flat=True))

    @classmethod
    def make_rows(cls, user_ids):
        """
        Make the lock rows these learners do not have yet (in autocommit: a row is made once and
        kept). Only the rows missing are written, so this never waits on a row another transaction
        holds; two processes making the same new row wait for each other only that long.
        """
        user_ids = set(user_ids)
        missing = user_ids - set(cls.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
        if missing:
            cls.objects.bulk_create([cls(user_id=user_id, locked_at=timezone.now()) for user_id in sorted(missing)],
                                    ignore_conflicts=True)


class Award(models.Model):
    """
    A credential issued to a learner, with the evidence of why.

    .. pii: The learner's user id; the signed credential, whose subject is a salted hash of their
        email (and their name if they chose to show it), with the salt; the evidence (their grades and
        event ids). retirement.py removes the document and the salt and cuts the evidence down to which
        requirements were met; the row stays, revoked, for the status list and the revoke deliveries.
    .. pii_types: id, email_address, name, other
    .. pii_retirement: local_api
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    class RevocationSource(models.TextChoices):
        NONE = "", _("Not revoked")
        CRITERIA = "criteria", _("Criteria no longer met")
        OPERATOR = "operator", _("Revoked by an operator")
        RETIREMENT = "retirement", _("The learner's account was retired")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    credential = models.ForeignKey(Credential, on_delete=models.PROTECT, related_name="awards")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # True for the learner's one active award of a credential, NULL otherwise. A unique index over
    # (user, credential, current) then allows one active award and any number of revoked ones on
    # every backend: MySQL has no partial indexes, but all three treat NULLs as distinct.
    current = models.BooleanField(null=True, default=True, editable=False)
    issued_at = models.DateTimeField()
    # When the criteria were first met, in event time (the time of the event that completed them):
    # the credential's awardedDate and the platforms' issued date; issued_at is when it was made.
    # Empty for an award made before event times were kept (issued_at stands in for it).
    earned_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=255, blank=True)
    revocation_source = models.CharField(max_length=16, choices=RevocationSource.choices, blank=True, default="")
    # Set when an operator revokes: the engine will not award this credential to this learner
    # again, even if the criteria are met, until an operator lifts it.
    blocks_reaward = models.BooleanField(default=False)
    # Which requirement was met by which fact (event id and time), frozen at award time.
    evidence = models.JSONField(default=list)
    # The signed Open Badges 3.0 credential, once issued (issuance.py).
    document = models.JSONField(null=True, blank=True, editable=False)
    # Salt of the recipient's hashed email in the document; random per award.
    recipient_salt = models.CharField(max_length=64, blank=True, editable=False)
    # Where its revocation bit lives (Bitstring Status List).
    status_list = models.ForeignKey("StatusList", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="awards", editable=False)
    status_index = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Set by the learner: the public page (and the hosted JSON) show "hidden by its holder" to
    # everyone else. The status list and verification are not affected.
    hidden = models.BooleanField(default=False, help_text=_("Hidden by its holder from its public page."))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "credential", "current"), name="microcred_one_active_award"),
            models.UniqueConstraint(fields=("status_list", "status_index"), name="microcred_one_award_per_bit"),
        ]
        indexes = [
            models.Index(fields=("issued_at",), name="microcred_award_issued"),
            models.Index(fields=("credential", "status"), name="microcred_award_cred_status"),
        ]
        ordering = ("-issued_at",)

    def __str__(self):
        # Admin's titles and its history name the learner and the credential (one query each
        # unless selected with the award).
        return f"{self.credential.title} — {self.user.get_username()} ({self.get_status_display()})"

    @property
    def awarded_at(self):
        """When it was earned, in event time; its issue time for an award made before those were kept."""
        return self.earned_at or self.issued_at


class RejectedEvent(models.Model):
    """
    An event that could not be turned into a fact: kept, with the reason, for an operator to see.

    .. pii: The payload of a platform event, which can hold a user id, username, email and name
        (openedx-events' user data). retirement.py deletes the rejected events that name the learner.
    .. pii_types: id, username, email_address, name
    .. pii_retirement: local_api
    """

    event_type = models.CharField(max_length=255, db_index=True)
    event_id = models.CharField(max_length=100, blank=True, db_index=True)
    event_time = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    # The event's data as the platform serializes it (openedx-events' Avro dict form), when it
    # could be serialized; enough to send it again once the cause is fixed.
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-received_at",)

    def __str__(self):
        return f"{self.event_type} {self.event_id}: {self.reason[:60]}"


def course_key_text(field="course_key"):
    """
    A course key column read as text, for ``annotate``: parsing a CourseKey for every row read
    costs more than the query.
    """
    return Cast(field, output_field=models.CharField())


# The salt keeps the value for the retirement record apart from every other HMAC of a user id.
_SUBJECT_SALT = "openedx_microcred.retirement.subject"


def subject_hash(user_id) -> str:
    """A retirement record's name for a learner: HMAC-SHA256 of the user id under the site's SECRET_KEY."""
    return salted_hmac(_SUBJECT_SALT, str(int(user_id)), algorithm="sha256").hexdigest()


class RetirementRecord(models.Model):
    """
    The audit record of one learner's retirement (retirement.py): that it happened, when, and how
    much was removed. No name, email, username or user id: the learner is named only by a keyed
    hash of the user id, which lets an operator check a given user id and nothing more
    (docs/decisions/0008-learner-retirement.rst).

    .. pii: A keyed hash (HMAC-SHA256) of a retired learner's user id, which lets an operator check a
        given user id and nothing more; no name, email, username or user id. Kept on purpose: it is
        the record that the retirement happened.
    .. pii_types: id
    .. pii_retirement: retained
    """

    subject = models.CharField(max_length=64, unique=True, editable=False,
                               help_text=_("Keyed hash (HMAC-SHA256) of the user id."))
    retired_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    source = models.CharField(max_length=64, blank=True,
                              help_text=_("What asked for it: a platform signal or the management command."))
    awards_revoked = models.PositiveIntegerField(default=0)
    revocations_queued = models.PositiveIntegerField(default=0, help_text=_("Revoke deliveries to badge platforms."))
    documents_removed = models.PositiveIntegerField(default=0)
    facts_deleted = models.PositiveIntegerField(default=0)
    progress_deleted = models.PositiveIntegerField(default=0)
    rejected_events_deleted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-retired_at",)

    def __str__(self):
        return f"retirement {self.subject[:12]}… ({self.retired_at.date() if self.retired_at else 'pending'})"


class StatusList(models.Model):
    """
    A Bitstring Status List of revocation bits; awards get random free indexes in the newest one.

    .. no_pii: Revocation bits by index: no learner is named.
    """

    number = models.PositiveIntegerField(unique=True)
    size = models.PositiveIntegerField(default=131072, help_text=_("Bits; 16 KiB at least, as the spec asks."))
    allocated = models.PositiveIntegerField(default=0)
    # The key whose did:key issued the awards in this list: a status list must come from the same
    # issuer as the credentials it speaks for, and a did:key issuer changes with its key.
    issuer_key = models.ForeignKey("IssuerKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self):
        return f"status list {self.number} ({self.allocated}/{self.size})"


class IssuerKey(models.Model):
    """
    An Ed25519 signing key of the issuer. The private key is stored encrypted (keys.py) and never
    shown; a rotated key stays published so that what it signed keeps verifying.

    .. no_pii: The issuer's signing keys.
    """

    key_id = models.CharField(max_length=64, unique=True, help_text=_("Fragment of the verification method id."))
    public_key_multibase = models.CharField(max_length=100, unique=True)
    encrypted_private_key = models.TextField(editable=False)
    created = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text=_("No longer used for new signatures."))
    # True for the one key that signs now, NULL for retired ones (see Award.current).
    current = models.BooleanField(null=True, default=True, unique=True, editable=False)

    class Meta:
        ordering = ("-created",)

    def __str__(self):
        return f"{self.key_id} ({'current' if self.current else 'retired'})"


class Delivery(models.Model):
    """
    The outbox: one row per award, platform account and action, written in the same transaction as
    the award (or its revocation), then worked off by the delivery task with retries.

    .. pii: Through its award, a learner's badge on a badge platform: the platform's id of it, and the
        last error, which may quote the learner's name or address. retirement.py clears those errors
        and queues a revoke to every platform the award reached (the platform retires its copy).
    .. pii_types: external_service, name, email_address
    .. pii_retirement: local_api, third_party
    """

    class Action(models.TextChoices):
        ISSUE = "issue", _("Issue")
        REVOKE = "revoke", _("Revoke")

    class State(models.TextChoices):
        """Where a delivery stands: waiting, being sent, waiting to retry, or done (delivered, failed, cancelled)."""

        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        RETRYING = "retrying", _("Retrying")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="deliveries")
    account = models.CharField(max_length=100, db_index=True, help_text=_("A MICROCRED_PLATFORM_ACCOUNTS name."))
    platform = models.CharField(max_length=32, db_index=True)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.ISSUE)
    target = models.JSONField(default=dict, help_text=_("The credential's settings for this account when awarded."))
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    # Set when a request may have reached the platform without our learning the answer: the next
    # attempt looks the badge up before sending again, so a retry never makes a second badge.
    outcome_unknown = models.BooleanField(default=False)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    upstream_state = models.CharField(max_length=32, blank=True, help_text=_("The platform's own word, from webhooks."))
    # Event time, not arrival time: a replayed or late notification never moves upstream_state back.
    upstream_at = models.DateTimeField(null=True, blank=True,
                                       help_text=_("When the notification upstream_state comes from happened."))
    last_error = models.TextField(blank=True, help_text=_("Redacted: never holds a secret."))
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("award", "account", "action"), name="microcred_one_delivery")]
        indexes = [models.Index(fields=("state", "next_attempt_at"), name="microcred_delivery_due")]
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return f"{self.action} {self.award_id} → {self.account} ({self.state})"


class BackfillRun(models.Model):
    """
    One run of ``microcred_backfill``: its scope, how far it got and what it did. The cursor is
    committed with each chunk, so a run that stopped (killed, failed) continues with ``--resume``
    after the last learner it finished.

    .. no_pii: Scope, cursor (a user id bound, no learner's data) and counts of one back-fill run.
    """

    class Scope(models.TextChoices):
        COURSE = "course", _("One course")
        CREDENTIAL = "credential", _("One credential")
        ALL = "all", _("Everything")

    class State(models.TextChoices):
        RUNNING = "running", _("Running (or killed while running)")
        STOPPED = "stopped", _("Stopped by an error or an interruption")
        FINISHED = "finished", _("Finished")
        ABANDONED = "abandoned", _("Abandoned (started over with --restart)")

    scope = models.CharField(max_length=16, choices=Scope.choices)
    target = models.CharField(max_length=255, blank=True, help_text=_("The course key or credential slug."))
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING, db_index=True)
    cursor = models.BigIntegerField(
        default=0, help_text=_("Every learner with a user id up to this one is done (facts recorded, evaluated)."))
    chunk_size = models.PositiveIntegerField()
    chunks = models.PositiveIntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)
    learners_read = models.BigIntegerField(default=0)
    facts_applied = models.BigIntegerField(default=0)
    facts_unchanged = models.BigIntegerField(default=0)
    facts_stale = models.BigIntegerField(default=0, help_text=_("Older than the fact already held: not applied."))
    facts_duplicate = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    learners_evaluated = models.BigIntegerField(default=0)
    awards_made = models.BigIntegerField(default=0)
    revocations = models.BigIntegerField(default=0)
    # Awards made, by credential slug.
    awards_by_credential = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at", "-pk")
        indexes = [models.Index(fields=("scope", "target", "state"), name="microcred_backfill_scope")]

    def __str__(self):
        return f"back-fill {self.pk} {self.scope} {self.target} ({self.state})"


class LearnerSharing(models.Model):
    """
    What a learner shows on the public pages of their credentials, beyond the credential itself
    (docs/privacy.md): their name, their grade. Both off until the learner turns them on; no row
    means both off.

    .. pii: The learner's user id and their choices about showing their name and grade. retirement.py
        deletes the learner's row.
    .. pii_types: id, other
    .. pii_retirement: local_api
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                primary_key=True)
    show_name = models.BooleanField(default=False, help_text=_("Show the learner's name on their public pages."))
    show_grade = models.BooleanField(default=False, help_text=_("Show the grades on their public pages."))
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("learner sharing choices")

    def __str__(self):
        return f"{self.user_id} name={self.show_name} grade={self.show_grade}"

    @classmethod
    def of(cls, user_id) -> "LearnerSharing":
        """The learner's choices (the defaults, unsaved, when they never chose)."""
        return cls.objects.filter(user_id=user_id).first() or cls(user_id=user_id)
