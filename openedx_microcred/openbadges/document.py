"""
Open Badges 3.0 documents for awards: pure functions, no ORM, no network.

``build_credential`` turns an ``IssuedCredential`` (plain frozen dataclasses, filled by the caller
from a Credential, an Award and the site's settings) into an unsigned ``OpenBadgeCredential``: a
W3C Verifiable Credential 2.0 whose subject is identified by a salted hash of the learner's email.
Signing (``proof.py``) and the revocation list entry (``status_list.py``) are done elsewhere.

The EU Council Recommendation of 16 June 2022 on micro-credentials (annex I) lists the elements a
microcredential describes. They go into standard OB 3.0 fields wherever OB 3.0 has one (the
issuer's address and institution code, quality assurance as an ``ext:QualityAssurance`` alignment,
``inLanguage``, grades as results); the rest (workload in hours, type of assessment, form of
participation and supervision as European Learning Model concepts beside SURF Edubadges' values,
identity checked, prerequisites, stackability) are properties of the achievement defined by this
plugin's JSON-LD context, ``contexts/microcredential-v1.jsonld``, and only switched on by the extra
achievement type ``MicrocredentialAchievement``. ``docs/open-badges.md`` has the full mapping.

Also here: result descriptions for the grades a tree requires (``grade_descriptions``), and evidence
entries and achieved grades from an award's stored evidence (``evidence_from_award``,
``grade_results_from_award``). The criteria in words (``Criteria.narrative``) are
``requirement_words.markdown``; LinkedIn's "Add to profile" link is ``linkedin.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import quote

from .. import requirement_words, rules, vocabularies
from ..requirement_words import escape_markdown, number_text

# --- Contexts and vocabulary --------------------------------------------------------------------

VC_CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

# Each deployment serves the extension context at this path under its LMS root; the plugin's
# offline document loader maps any URL ending in it to the bundled file.
EXTENSION_CONTEXT_PATH = "/microcred/contexts/microcredential-v1.jsonld"
EXTENSION_CONTEXT_FILE = Path(__file__).resolve().parent / "contexts" / "microcredential-v1.jsonld"

# Where the extension's terms live. w3id.org is a community-run permanent-identifier redirect
# service: the IRI stays stable whoever hosts the vocabulary page, and it sits under no domain we
# would have to own. The IRIs identify terms; they need not resolve for expansion or signing.
VOCAB = "https://w3id.org/openedx-microcred/vocab#"
MICROCREDENTIAL_ACHIEVEMENT = "MicrocredentialAchievement"

CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")

# Alignment target types this module writes (OB 3.0 extensible vocabulary: "ext:" terms).
TARGET_TYPE_EQF = "ext:EQFLevel"
TARGET_TYPE_LEARNING_OUTCOME = "ext:LearningOutcome"
EQF_FRAMEWORK = "European Qualifications Framework"
# The European Learning Model's persistent identifiers for the eight EQF levels.
EQF_LEVEL_IRI = "http://data.europa.eu/snb/eqf/{level}"

# OB 3.0 enumerations (from the 1EdTech JSON schema); each also accepts "ext:" terms.
ACHIEVEMENT_TYPES = frozenset((
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree", "Award",
    "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion", "Certification",
    "CommunityService", "Competency", "Course", "CoCurricular", "Degree", "Diploma", "DoctoralDegree",
    "Fieldwork", "GeneralEducationDevelopment", "JourneymanCertificate", "LearningProgram", "License",
    "Membership", "ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate",
    "MasterDegree", "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
))
IDENTIFIER_TYPES = frozenset((
    "name", "sourcedId", "systemId", "productId", "userName", "accountId", "emailAddress",
    "nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId", "sisSourcedId",
    "ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId", "ltiUserId", "identifier",
))
# Quality assurance as Edubadges carries it: an alignment to the decision or framework.
TARGET_TYPE_QUALITY_ASSURANCE = "ext:QualityAssurance"
QUALITY_ASSURANCE_ANCHOR = "quality-assurance"
ALIGNMENT_TARGET_TYPES = frozenset((
    "ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
    "CFRubricCriterionLevel", "CTDL",
))

_EXT_TERM = re.compile(r"^ext:[A-Za-z0-9._-]+$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")  # the schema's pattern
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def extension_context_url(lms_root_url: str) -> str:
    """The URL this deployment serves the microcredential context at (its ``@context`` entry)."""
    return f"{lms_root_url.rstrip('/')}{EXTENSION_CONTEXT_PATH}"


def is_extension_context_url(url: str) -> bool:
    """Whether ``url`` names the microcredential context (served by any deployment)."""
    return url.startswith(("https://", "http://")) and url.endswith(EXTENSION_CONTEXT_PATH)


def load_extension_context() -> dict:
    """The bundled microcredential context document, for the view serving it and for loaders."""
    with open(EXTENSION_CONTEXT_FILE, encoding="utf-8") as fp:
        return json.load(fp)


# --- Inputs -------------------------------------------------------------------------------------


def _tuple(instance, name, convert=None):
    """Freeze a sequence field given as a list (frozen dataclasses hold tuples)."""
    value = getattr(instance, name)
    items = tuple(value or ())
    if convert is not None:
        items = tuple(convert(item) for item in items)
    object.__setattr__(instance, name, items)


@dataclass(frozen=True)
class IssuerProfile:
    """The awarding body: an OB 3.0 Profile identified by the issuer's DID."""

    id: str
    name: str
    url: str
    # ISO 3166-1 alpha-2 ("NL"): the EU element "country/region of the issuer".
    country_code: str | None = None
    region: str | None = None
    country_name: str | None = None  # addressCountry, e.g. "Netherlands"
    locality: str | None = None
    street_address: str | None = None
    postal_code: str | None = None
    # An otherIdentifier: an institution code and its OB IdentifierType ("identifier", "ext:BRIN", ...).
    institution_code: str | None = None
    institution_code_type: str | None = None
    email: str | None = None
    description: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class AchievementRef:
    """Another achievement, by id and name: a stack's component or a stack containing this one."""

    id: str
    name: str

    @classmethod
    def of(cls, value) -> "AchievementRef":
        """The AchievementRef itself, or one made of an (id, name) pair."""
        if isinstance(value, AchievementRef):
            return value
        ref_id, name = value
        return cls(ref_id, name)


@dataclass(frozen=True)
class AlignmentTarget:
    """A node in an outside framework (a skill, a competency) the achievement aligns to."""

    name: str
    url: str
    type: str | None = None  # "ceasn:Competency", "CFItem", "ext:ESCOSkill", ...
    framework: str | None = None  # "ESCO"
    code: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class GradeDescription:
    """A grade the criteria read, described as a percent from 0 to 100 (an OB ResultDescription)."""

    id: str
    name: str
    required_percent: Decimal | float | None = None


@dataclass(frozen=True)
class AchievementInfo:  # pylint: disable=too-many-instance-attributes  (one field per element of the Achievement)
    """What a credential (an OB Achievement) says, whoever earns it."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    image: str | None = None
    # OB 3.0 achievementType; None picks MicroCredential or Badge (see default_achievement_type).
    achievement_type: str | None = None
    learning_outcomes: tuple = ()
    workload_hours: int | None = None
    ects_credits: Decimal | None = None
    eqf_level: int | None = None
    # Keys of vocabularies.ASSESSMENT_TYPES, LEARNING_MODES and SUPERVISION_TYPES ("" when not given).
    assessment_type: str = ""
    participation_form: str = ""
    supervision: str = ""
    # Quality assurance, as an alignment: the framework or body, a code (a decision number), the
    # description, and a URL (default: the anchor #quality-assurance on the page_url).
    quality_assurance: str = ""
    quality_assurance_framework: str = ""
    quality_assurance_code: str = ""
    quality_assurance_url: str | None = None
    identity_verified: bool = False
    field_of_study: str = ""
    tags: tuple = ()
    in_language: str | None = None  # BCP 47, e.g. "en" or "nl-NL"
    prerequisites: str = ""
    is_stack: bool = False
    stack_kind: str = ""  # Credential.StackKind: "vertical", "horizontal", "value_added"
    stack_children: tuple = ()  # AchievementRef or (id, name)
    stacks_containing: tuple = ()  # AchievementRef or (id, name)
    skills: tuple = ()  # AlignmentTarget
    grades: tuple = ()  # GradeDescription
    criteria_url: str | None = None
    human_code: str | None = None  # e.g. the credential's slug
    # The public web page describing the achievement, when ``id`` is not one (a urn:uuid); the
    # learning outcomes are anchors on it (#learning-outcome-1, ...). Not itself an OB field.
    page_url: str | None = None

    def __post_init__(self):
        _tuple(self, "learning_outcomes", str)
        _tuple(self, "tags", str)
        _tuple(self, "stack_children", AchievementRef.of)
        _tuple(self, "stacks_containing", AchievementRef.of)
        _tuple(self, "skills")
        _tuple(self, "grades")


@dataclass(frozen=True)
class Recipient:
    """The learner, as the credential identifies them: never their email in clear."""

    email: str = field(repr=False)
    salt: str = field(repr=False)
    # Only when the learner chose to show their name on the credential.
    display_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence: what was done, when, and where to see it."""

    narrative: str
    name: str | None = None
    id: str | None = None  # a URL presenting the evidence
    description: str | None = None


@dataclass(frozen=True)
class GradeResult:
    """The grade achieved, as a percent; ``result_description`` is a GradeDescription id (None: the only one)."""

    percent: Decimal | float
    result_description: str | None = None


@dataclass(frozen=True)
class IssuedCredential:  # pylint: disable=too-many-instance-attributes  (one field per element of the credential)
    """One award, ready to become a document."""

    credential_id: str  # our hosted URL, {LMS}/microcred/credentials/<award uuid>/
    award_uuid: str
    issuer: IssuerProfile
    achievement: AchievementInfo
    recipient: Recipient
    valid_from: datetime
    extension_context: str  # extension_context_url(LMS root URL)
    valid_until: datetime | None = None
    # When the learner earned it (event time), apart from validFrom (when it was issued).
    awarded_date: datetime | None = None
    evidence: tuple = ()  # EvidenceItem
    credential_status: Mapping | None = None  # a BitstringStatusListEntry
    grade_results: tuple = ()  # GradeResult

    def __post_init__(self):
        object.__setattr__(self, "award_uuid", str(self.award_uuid))
        _tuple(self, "evidence")
        _tuple(self, "grade_results")


# --- Helpers ------------------------------------------------------------------------------------


def new_salt() -> str:
    """A fresh random salt for a recipient identity hash (store it with the award)."""
    return secrets.token_hex(16)


def normalize_email(email: str) -> str:
    """The form of an address that is hashed: trimmed and lower-cased, as badge verifiers expect."""
    return email.strip().lower()


def recipient_identity_hash(email: str, salt: str) -> str:
    """OB IdentityHash: ``sha256$`` + hex SHA-256 of the UTF-8 email followed by the salt."""
    digest = hashlib.sha256((normalize_email(email) + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def xml_datetime(value: datetime) -> str:
    """An aware datetime as an XML Schema dateTime in UTC with a Z, to the second."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, not {value!r}")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_achievement_type(info: AchievementInfo) -> str:
    """
    The achievement type: MicroCredential for a credential described the EU way (learning outcomes
    and a workload, in hours or ECTS), Badge for a lighter recognition. A stack is typed by the same
    rule: its stackability is said by the extension terms, not by the type.
    """
    described = bool(info.learning_outcomes) and (info.workload_hours is not None or info.ects_credits is not None)
    return "MicroCredential" if described else "Badge"


def _require_iri(value, what):
    if not isinstance(value, str) or not _ABSOLUTE_IRI.match(value):
        raise ValueError(f"{what} must be an absolute URI, not {value!r}")
    return value


def _check_enum(value, allowed, what):
    if value not in allowed and not (isinstance(value, str) and _EXT_TERM.match(value)):
        raise ValueError(f"{what} {value!r} is neither an OB 3.0 term nor an 'ext:' term")
    return value


def _image(url):
    return {"id": _require_iri(url, "an image"), "type": "Image"}


# --- Building -----------------------------------------------------------------------------------


def build_issuer(issuer: IssuerProfile) -> dict:
    """The issuer's OB 3.0 Profile."""
    profile = {
        "id": _require_iri(issuer.id, "the issuer id"),
        "type": ["Profile"],
        "name": issuer.name,
        "url": _require_iri(issuer.url, "the issuer url"),
    }
    if issuer.description:
        profile["description"] = issuer.description
    if issuer.email:
        profile["email"] = issuer.email
    if issuer.image:
        profile["image"] = _image(issuer.image)
    if issuer.institution_code:
        profile["otherIdentifier"] = [{
            "type": "IdentifierEntry",
            "identifier": issuer.institution_code,
            "identifierType": _check_enum(issuer.institution_code_type or "identifier", IDENTIFIER_TYPES,
                                          "the institution code type"),
        }]
    if issuer.country_code and not _COUNTRY.match(issuer.country_code):
        raise ValueError(f"the issuer country must be an ISO 3166-1 alpha-2 code, not {issuer.country_code!r}")
    address = {"type": ["Address"]}
    for key, value in (("addressCountry", issuer.country_name), ("addressCountryCode", issuer.country_code),
                       ("addressRegion", issuer.region), ("addressLocality", issuer.locality),
                       ("streetAddress", issuer.street_address), ("postalCode", issuer.postal_code)):
        if value:
            address[key] = value
    if len(address) > 1:
        profile["address"] = address
    return profile


def _alignment(name, url, target_type=None, *, framework=None, code=None, description=None):
    """An OB 3.0 Alignment to ``url`` named ``name``, with the optional target fields that are given."""
    alignment = {"type": ["Alignment"], "targetName": name, "targetUrl": _require_iri(url, "an alignment url")}
    if target_type:
        alignment["targetType"] = _check_enum(target_type, ALIGNMENT_TARGET_TYPES, "the alignment type")
    if framework:
        alignment["targetFramework"] = framework
    if code:
        alignment["targetCode"] = code
    if description:
        alignment["targetDescription"] = description
    return alignment


def _alignments(info: AchievementInfo) -> list:
    """The achievement's alignments: its learning outcomes, EQF level, quality assurance and skills."""
    page = info.page_url or info.id
    alignments = [
        _alignment(outcome, f"{page}#learning-outcome-{number}", TARGET_TYPE_LEARNING_OUTCOME,
                   code=f"LO{number}")
        for number, outcome in enumerate(info.learning_outcomes, start=1)
    ]
    if info.eqf_level is not None:
        level = info.eqf_level
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 8:
            raise ValueError(f"the EQF level is a whole number from 1 to 8, not {level!r}")
        alignments.append(_alignment(f"EQF level {level}", EQF_LEVEL_IRI.format(level=level), TARGET_TYPE_EQF,
                                     framework=EQF_FRAMEWORK, code=str(level)))
    if info.quality_assurance or info.quality_assurance_framework or info.quality_assurance_code \
            or info.quality_assurance_url:
        alignments.append(_alignment(
            info.quality_assurance_framework or "Quality assurance",
            info.quality_assurance_url or f"{page}#{QUALITY_ASSURANCE_ANCHOR}", TARGET_TYPE_QUALITY_ASSURANCE,
            framework=info.quality_assurance_framework, code=info.quality_assurance_code,
            description=info.quality_assurance,
        ))
    alignments.extend(
        _alignment(skill.name, skill.url, skill.type, framework=skill.framework, code=skill.code,
                   description=skill.description)
        for skill in info.skills
    )
    return alignments


def _concept(term: vocabularies.Term) -> dict:
    """A controlled-vocabulary concept as the credential carries it: its IRI, label and scheme."""
    concept = {"id": term.iri, "type": "Concept", "prefLabel": term.label}
    if term.scheme:
        concept["inScheme"] = term.scheme
    return concept


def _result_description(grade: GradeDescription) -> dict:
    """The OB 3.0 ResultDescription of a grade: a percent from 0 to 100, with its required value if any."""
    description = {
        "id": _require_iri(grade.id, "a result description id"),
        "type": ["ResultDescription"],
        "name": grade.name,
        "resultType": "Percent",
        "valueMin": "0",
        "valueMax": "100",
    }
    if grade.required_percent is not None:
        description["requiredValue"] = number_text(grade.required_percent)
    return description


def build_achievement(info: AchievementInfo) -> dict:
    """The OB 3.0 Achievement, with the EU elements OB 3.0 has no field for in extension terms."""
    achievement_type = info.achievement_type or default_achievement_type(info)
    criteria = {"narrative": info.criteria_narrative}
    if info.criteria_url:
        criteria["id"] = _require_iri(info.criteria_url, "the criteria url")
    achievement = {
        "id": _require_iri(info.id, "the achievement id"),
        "type": ["Achievement", MICROCREDENTIAL_ACHIEVEMENT],
        "achievementType": _check_enum(achievement_type, ACHIEVEMENT_TYPES, "the achievement type"),
        "name": info.name,
        "description": info.description,
        "criteria": criteria,
    }
    if info.image:
        achievement["image"] = _image(info.image)
    if info.human_code:
        achievement["humanCode"] = info.human_code
    if info.ects_credits is not None:
        ects = Decimal(str(info.ects_credits))
        if ects < 0:
            raise ValueError(f"ECTS credits cannot be negative: {ects}")
        achievement["creditsAvailable"] = float(ects)
    if info.field_of_study:
        achievement["fieldOfStudy"] = info.field_of_study
    if info.in_language:
        if not LANGUAGE_CODE.match(info.in_language):
            raise ValueError(f"the language must be a code such as 'en' or 'nl-NL', not {info.in_language!r}")
        achievement["inLanguage"] = info.in_language
    if info.tags:
        achievement["tag"] = list(info.tags)
    alignments = _alignments(info)
    if alignments:
        achievement["alignment"] = alignments
    if info.grades:
        achievement["resultDescription"] = [_result_description(grade) for grade in info.grades]
    achievement.update(_extension_terms(info))
    return achievement


def _extension_terms(info: AchievementInfo) -> dict:
    """
    The achievement's extension terms (microcredential-v1.jsonld), active because of the
    MicrocredentialAchievement type: workload, the controlled choices, identity check and stacking.
    """
    achievement = {}
    if info.workload_hours is not None:
        hours = info.workload_hours
        if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
            raise ValueError(f"the workload is a whole number of hours, not {hours!r}")
        achievement["workloadHours"] = hours
        if hours:
            achievement["timeInvestment"] = hours  # Edubadges' name (hours, at least 1)
            achievement["volumeOfLearning"] = f"PT{hours}H"  # ELM's: an xsd:duration
    # Each controlled choice twice: the ELM concept (IRI and label), and the Edubadges value where
    # Edubadges' closed list has one (docs/open-badges.md).
    for key, vocabulary, concept_term, edubadges_term in (
            (info.assessment_type, "assessment_type", "assessmentMethod", "assessmentType"),
            (info.participation_form, "learning_mode", "learningMode", "participationType"),
            (info.supervision, "supervision", "supervisionMethod", "supervisionType")):
        if key:
            term = vocabularies.term(vocabulary, key)
            achievement[concept_term] = _concept(term)
            if term.edubadges:
                achievement[edubadges_term] = term.edubadges
    achievement["identityChecked"] = bool(info.identity_verified)
    if info.prerequisites:
        achievement["prerequisites"] = info.prerequisites
    if info.is_stack != bool(info.stack_children):
        raise ValueError("a stack lists the credentials it is made of, and only a stack does")
    if info.is_stack:
        if info.stack_kind:
            achievement["stackKind"] = info.stack_kind
        achievement["stackComponent"] = [
            {"id": _require_iri(ref.id, "a stack component id"), "name": ref.name} for ref in info.stack_children
        ]
    if info.stacks_containing:
        achievement["stackableInto"] = [
            {"id": _require_iri(ref.id, "a stack id"), "name": ref.name} for ref in info.stacks_containing
        ]
    return achievement


def build_identity(recipient: Recipient) -> list:
    """The subject's identifiers: the salted email hash, and the name only if the learner chose it."""
    if not recipient.email or not recipient.salt:
        raise ValueError("the recipient needs an email and a salt")
    identifiers = [{
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": recipient_identity_hash(recipient.email, recipient.salt),
        "identityType": "emailAddress",
        "salt": recipient.salt,
    }]
    if recipient.display_name:
        identifiers.append({
            "type": "IdentityObject",
            "hashed": False,
            "identityHash": recipient.display_name,
            "identityType": "name",
        })
    return identifiers


def _results(issued: IssuedCredential) -> list:
    """The credential's grade Results, each naming a known result description; ValueError otherwise."""
    known = [grade.id for grade in issued.achievement.grades]
    results = []
    for grade in issued.grade_results:
        reference = grade.result_description
        if reference is None:
            if len(known) != 1:
                raise ValueError("a grade result must name its result description when there is not exactly one")
            reference = known[0]
        if reference not in known:
            raise ValueError(f"grade result for unknown result description {reference!r}")
        percent = Decimal(str(grade.percent))
        if not 0 <= percent <= 100:
            raise ValueError(f"a grade percent is from 0 to 100, not {grade.percent!r}")
        results.append({"type": ["Result"], "resultDescription": reference, "value": number_text(percent)})
    return results


def _evidence(item: EvidenceItem) -> dict:
    """An EvidenceItem as an OB 3.0 Evidence object."""
    evidence = {"type": ["Evidence"]}
    if item.id:
        evidence["id"] = _require_iri(item.id, "an evidence id")
    if item.name:
        evidence["name"] = item.name
    evidence["narrative"] = item.narrative
    if item.description:
        evidence["description"] = item.description
    return evidence


def build_credential(issued: IssuedCredential) -> dict:
    """The unsigned OpenBadgeCredential (VC 2.0) for one award."""
    if not is_extension_context_url(issued.extension_context):
        raise ValueError(f"not the microcredential context URL: {issued.extension_context!r}")
    info = issued.achievement
    achievement = build_achievement(info)
    subject = {
        "type": ["AchievementSubject"],
        "identifier": build_identity(issued.recipient),
        "achievement": achievement,
    }
    if "creditsAvailable" in achievement:
        subject["creditsEarned"] = achievement["creditsAvailable"]
    results = _results(issued)
    if results:
        subject["result"] = results

    credential = {
        "@context": [VC_CONTEXT_V2, OB_CONTEXT_V3, issued.extension_context],
        "id": _require_iri(issued.credential_id, "the credential id"),
        "type": list(CREDENTIAL_TYPES),
        "name": info.name,
    }
    if info.description:
        credential["description"] = info.description
    if info.image:
        credential["image"] = _image(info.image)
    credential["issuer"] = build_issuer(issued.issuer)
    credential["validFrom"] = xml_datetime(issued.valid_from)
    if issued.awarded_date is not None:
        credential["awardedDate"] = xml_datetime(issued.awarded_date)
    if issued.valid_until is not None:
        if issued.valid_until <= issued.valid_from:
            raise ValueError("validUntil must come after validFrom")
        credential["validUntil"] = xml_datetime(issued.valid_until)
    credential["credentialSubject"] = subject
    if issued.evidence:
        credential["evidence"] = [_evidence(item) for item in issued.evidence]
    if issued.credential_status is not None:
        # A copy, and proof that it is plain JSON.
        credential["credentialStatus"] = json.loads(json.dumps(dict(issued.credential_status)))
    return credential


def missing_eu_elements(issued: IssuedCredential) -> list:
    """
    The mandatory elements of the EU Recommendation (annex I) this award's document would lack.
    The learner, title, awarding body and date are always there; the EQF level is "if applicable".
    """
    info, missing = issued.achievement, []
    if not issued.issuer.country_code:
        missing.append("country of the issuer")
    if not info.learning_outcomes:
        missing.append("learning outcomes")
    if info.workload_hours is None and info.ects_credits is None:
        missing.append("notional workload")
    if not info.assessment_type:
        missing.append("type of assessment")
    if not info.participation_form:
        missing.append("form of participation")
    if not (info.quality_assurance or info.quality_assurance_framework or info.quality_assurance_url):
        missing.append("type of quality assurance")
    return missing


# --- Grades the criteria read ------------------------------------------------------------------


def _names(mapping):
    return mapping or {}


def grade_result_id(achievement_id: str, course_key: str) -> str:
    """The id of the result description for the grade in one course: the achievement id + a fragment."""
    return f"{achievement_id}#grade-{quote(course_key, safe=':+@-._~')}"


def grade_descriptions(criteria, achievement_id: str, course_names: Mapping | None = None) -> tuple:
    """A GradeDescription for each course whose grade the criteria require, in tree order."""
    tree = criteria if isinstance(criteria, rules.Requirement) else rules.parse_criteria(criteria)
    found = {}
    for leaf in tree.leaves():
        if isinstance(leaf, rules.CourseGrade) and leaf.course not in found:
            name = _names(course_names).get(leaf.course) or leaf.course
            found[leaf.course] = GradeDescription(
                id=grade_result_id(achievement_id, leaf.course), name=f"Grade in {name}",
                required_percent=leaf.min_percent if leaf.min_percent > 0 else None,
            )
    return tuple(found.values())


# --- Evidence from an award ---------------------------------------------------------------------


def _day(value) -> str:
    try:
        return datetime.fromisoformat(str(value)).date().isoformat()
    except ValueError:
        return str(value)


def _fact_sentence(kind, fact, course) -> str:
    """The evidence narrative of a fact that met a requirement: what the learner did, in which course, when."""
    value = fact.get("value") or {}
    day, event = _day(fact.get("event_time")), f"(event id {fact.get('event_id')})"
    when = f"on {day} {event}"
    if kind == rules.CourseGrade.kind and value.get("percent") is not None:
        percent = number_text(Decimal(str(value["percent"])) * 100)
        return f"Reached a grade of {percent} % in course {course} {when}."
    if kind == rules.CourseCompletion.kind:
        return f"Reached the required completion of course {course} {when}."
    if kind == rules.CertificateEarned.kind:
        mode = f"{escape_markdown(value['mode'])} " if value.get("mode") else ""
        return f"Earned the {mode}certificate of course {course} {when}."
    if kind == rules.Enrolled.kind:
        mode = f" ({escape_markdown(value['mode'])} track)" if value.get("mode") else ""
        return f"Enrolled in course {course}{mode} as of {day} {event}."
    return f"Passed course {course} {when}."


# The evidence item of a component credential its holder hides: it counts, it names nothing.
NOT_SHARED_NARRATIVE = "One further credential (not shared)."


def evidence_from_award(entries, course_names: Mapping | None = None, credential_names: Mapping | None = None, *,
                        course_url: Callable[[str], str] | None = None,
                        award_url: Callable[[str], str] | None = None, hidden_awards=frozenset()) -> tuple:
    """
    The EvidenceItems of ``Award.evidence`` (one entry per met requirement, with the facts or the
    award that met it). ``course_url(course_key)`` and ``award_url(award_uuid)`` give each item
    its URL when supplied. An award in ``hidden_awards`` (uuids its holder hid) is neither named
    nor linked: its item says only that one further credential met the requirement.
    """
    items = []
    for entry in entries or ():
        requirement = entry.get("requirement") or {}
        kind = requirement.get("type")
        if kind == rules.CredentialEarned.kind and entry.get("award") and str(entry["award"]) in hidden_awards:
            items.append(EvidenceItem(narrative=NOT_SHARED_NARRATIVE))
            continue
        if kind == rules.CredentialEarned.kind:
            slug = requirement.get("credential")
            name = _names(credential_names).get(slug) or slug
            award = entry.get("award")
            narrative = f"Holds the credential {escape_markdown(name)}" + (f" (award {award})." if award else ".")
            items.append(EvidenceItem(narrative=narrative, name=name,
                                      id=award_url(award) if award and award_url else None))
            continue
        if kind == rules.EXTERNAL:
            items.append(_external_evidence(entry))
            continue
        course_key = requirement.get("course")
        display = _names(course_names).get(course_key) or course_key
        course = escape_markdown(display)
        sentences = [_fact_sentence(kind, fact, course) for fact in entry.get("facts") or ()]
        if not sentences:
            sentences = [requirement_words.markdown(rules.parse_criteria(requirement), course_names, credential_names)]
        items.append(EvidenceItem(narrative=" ".join(sentences), name=display,
                                  id=course_url(course_key) if course_key and course_url else None))
    return tuple(items)


def _external_evidence(entry) -> EvidenceItem:
    """
    The evidence item of a requirement met by an Open Badges 3.0 credential of another issuer
    (external.py): which achievement, which issuer, its credential id, and that it was verified here.
    """
    facts = [fact.get("value") or {} for fact in entry.get("facts") or () if isinstance(fact, dict)]
    value = facts[0] if facts else {}
    requirement = entry.get("requirement") or {}
    issuer = value.get("issuer") or requirement.get("issuer") or ""
    name = value.get("achievement_name") or value.get("achievement_id") or requirement.get("achievement") \
        or requirement.get("achievement_type") or "an achievement"
    issuer = escape_markdown(str(issuer))
    issuer_text = f"{escape_markdown(value['issuer_name'])} ({issuer})" if value.get("issuer_name") else issuer
    narrative = f"Holds the external Open Badges 3.0 credential {escape_markdown(name)} issued by {issuer_text}"
    if value.get("credential_id"):
        narrative += f", credential {escape_markdown(str(value['credential_id']))}"
    if value.get("result") is not None:
        narrative += f", result {value['result']:g}"
    narrative += "; its signature, status and holder were verified by this issuer."
    credential_id = value.get("credential_id") or ""
    return EvidenceItem(narrative=narrative, name=str(name)[:255],
                        id=credential_id if credential_id.startswith(("https://", "http://")) else None)


def grade_results_from_award(entries, achievement_id: str) -> tuple:
    """
    The grades achieved, from ``Award.evidence``: one GradeResult per met course-grade requirement,
    pointing at the result description ``grade_descriptions`` made for that course.
    """
    results = {}
    for entry in entries or ():
        requirement = entry.get("requirement") or {}
        if requirement.get("type") != rules.CourseGrade.kind or requirement.get("course") in results:
            continue
        for fact in entry.get("facts") or ():
            percent = (fact.get("value") or {}).get("percent")
            if fact.get("kind") == rules.GRADE and percent is not None:
                course = requirement["course"]
                results[course] = GradeResult(percent=Decimal(str(percent)) * 100,
                                              result_description=grade_result_id(achievement_id, course))
                break
    return tuple(results.values())
