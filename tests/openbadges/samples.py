"""
The sample credentials the Open Badges tests share: a microcredential and a stack of two, issued by
a Dutch university to Ada, with the EU elements filled in, and the checks of 1EdTech's JSON schema.

Each builder takes keyword changes to its fields, so a test states only what it changes.
"""

import copy
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import jsonschema

from openedx_microcred import requirement_words
from openedx_microcred.openbadges import document as ob

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "ob_v3p0_achievementcredential_schema.json").read_text())

LMS = "https://learn.example-university.eu"
ISSUER_DID = "did:web:learn.example-university.eu"
EMAIL = "Ada.Lovelace@Example.org"
SALT = "5f0c9d5e2b7a41d6"
PY101, PY102, PY103 = "course-v1:ExU+PY101+2026", "course-v1:ExU+PY102+2026", "course-v1:ExU+PY103+2026"
COURSES = {PY101: "Python Foundations", PY102: "Data Wrangling with Python", PY103: "Testing Python Code"}
ISSUED_AT = datetime(2026, 3, 14, 9, 26, 53, 589000, tzinfo=timezone.utc)
DUMMY_PROOF = [{
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-03-14T09:26:54Z",
    "verificationMethod": f"{ISSUER_DID}#key-1",
    "proofPurpose": "assertionMethod",
    "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKods5D2UJGjG8XJHs5",
}]


def achievement_url(slug):
    """The public page of the credential ``slug`` on the sample LMS."""
    return f"{LMS}/microcred/achievements/{slug}/"


ISSUER = ob.IssuerProfile(
    id=ISSUER_DID, name="Example University of Applied Sciences", url=LMS, country_code="NL", region="Utrecht",
    country_name="Netherlands", locality="Utrecht", street_address="Heidelberglaan 15", postal_code="3584 CS",
    institution_code="30GB", institution_code_type="ext:BRIN",
    email="microcredentials@example-university.eu", description="Continuing education at Example University.",
    image=f"{LMS}/static/images/logo.png",
)

MICRO_CRITERIA = {"type": "all", "of": [
    {"type": "course_passed", "course": PY101},
    {"type": "course_grade", "course": PY102, "min_percent": 70},
]}
MICRO_ID = achievement_url("python-data-basics")
# A stack identified by a UUID, its public page given apart (what issuance.py does).
STACK_ID = "urn:uuid:6a1f3c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b"
STACK_PAGE = achievement_url("python-practitioner")
CHILDREN = (("python-data-basics", "Python Data Basics"), ("python-testing", "Python Testing"))
STACK_CRITERIA = {"type": "all", "of": [
    {"type": "credential", "credential": "python-data-basics"},
    {"type": "credential", "credential": "python-testing"},
]}
CREDENTIAL_NAMES = dict(CHILDREN)


def micro_achievement(**changes):
    """The sample microcredential "Python Data Basics", every EU element given; ``changes`` replace fields."""
    fields = {
        "id": MICRO_ID,
        "name": "Python Data Basics",
        "description": "Reading, cleaning and summarising tabular data with Python and pandas.",
        "criteria_narrative": requirement_words.markdown(MICRO_CRITERIA, COURSES),
        "criteria_url": f"{MICRO_ID}#criteria",
        "image": f"{LMS}/media/microcred/python-data-basics.png",
        "learning_outcomes": [
            "Load CSV and Excel data into data frames and describe its structure.",
            "Clean missing and inconsistent values with reproducible scripts.",
            "Summarise data with grouped aggregates and simple charts.",
        ],
        "workload_hours": 84,
        "ects_credits": Decimal("3.0"),
        "eqf_level": 5,
        "assessment_type": "written-examination",
        "participation_form": "online",
        "supervision": "onsite-id-check",
        "quality_assurance": "Internal quality assurance of the Faculty of ICT (NVAO-accredited institution)",
        "quality_assurance_framework": "NVAO institutional accreditation",
        "quality_assurance_code": "AV-4223",
        "quality_assurance_url": "https://qa.example-university.eu/decisions/AV-4223",
        "identity_verified": True,
        "field_of_study": "Information and Communication Technologies",
        "tags": ["python", "data analysis"],
        "in_language": "en",
        "prerequisites": "Basic programming in any language.",
        "stacks_containing": [(STACK_ID, "Python Practitioner")],
        "skills": [ob.AlignmentTarget(
            name="Python (computer programming)",
            url="http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d",
            type="ext:ESCOSkill", framework="ESCO",
        )],
        "grades": ob.grade_descriptions(MICRO_CRITERIA, MICRO_ID, COURSES),
        "human_code": "python-data-basics",
    }
    fields.update(changes)
    return ob.AchievementInfo(**fields)


def stack_achievement(**changes):
    """The sample stack "Python Practitioner" of two microcredentials; ``changes`` replace fields."""
    fields = {
        "id": STACK_ID,
        "name": "Python Practitioner",
        "description": "A stack of two Python microcredentials: data handling and testing.",
        "criteria_narrative": requirement_words.markdown(STACK_CRITERIA, COURSES, CREDENTIAL_NAMES),
        "learning_outcomes": ["Build and test small data-processing programs in Python."],
        "page_url": STACK_PAGE,
        "workload_hours": 168,
        "ects_credits": Decimal("6.0"),
        "eqf_level": 5,
        "assessment_type": "project-work",
        "participation_form": "blended",
        "supervision": "supervised-online",
        "image": f"{LMS}/microcred/badges/6a1f3c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b/default.svg",
        "quality_assurance": "Internal quality assurance of the Faculty of ICT",
        "identity_verified": True,
        "in_language": "en",
        "is_stack": True,
        "stack_kind": "horizontal",
        "stack_children": [(achievement_url(slug), name) for slug, name in CHILDREN],
    }
    fields.update(changes)
    return ob.AchievementInfo(**fields)


AWARD_EVIDENCE = [
    {"path": "criteria.of[0]", "requirement": {"type": "course_passed", "course": PY101},
     "facts": [{"course_key": PY101, "kind": "passing", "value": {"passed": True},
                "event_id": "4b7c1f3e-0d1a-4c55-9a1e-2f6f3c0a9b11", "event_time": "2026-03-10T16:02:11+00:00"}]},
    {"path": "criteria.of[1]", "requirement": {"type": "course_grade", "course": PY102, "min_percent": 70.0},
     "facts": [{"course_key": PY102, "kind": "grade", "value": {"percent": 0.86, "passed": True},
                "event_id": "a0e2d8b4-6f9e-4a43-8d7c-5c2b1e0f7a22", "event_time": "2026-03-14T09:26:50+00:00"}]},
]


def issued(achievement=None, **changes):
    """Ada's award of ``achievement`` (the sample microcredential) with its evidence; ``changes`` replace fields."""
    achievement = achievement or micro_achievement()
    award_uuid = "3f2c8a9e-51b4-4d0e-9a77-0c1d2e3f4a5b"
    fields = {
        "credential_id": f"{LMS}/microcred/credentials/{award_uuid}/",
        "award_uuid": award_uuid,
        "issuer": ISSUER,
        "achievement": achievement,
        "recipient": ob.Recipient(email=EMAIL, salt=SALT),
        "valid_from": ISSUED_AT,
        "valid_until": ISSUED_AT + timedelta(days=3 * 365),
        "extension_context": ob.extension_context_url(LMS + "/"),
        "evidence": ob.evidence_from_award(
            AWARD_EVIDENCE, COURSES, CREDENTIAL_NAMES, course_url=lambda key: f"{LMS}/courses/{key}/about"),
        "credential_status": {
            "id": f"{LMS}/microcred/status/revocation/1#2051",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "2051",
            "statusListCredential": f"{LMS}/microcred/status/revocation/1",
        },
        "grade_results": ob.grade_results_from_award(AWARD_EVIDENCE, achievement.id) if achievement.grades else (),
    }
    fields.update(changes)
    return ob.IssuedCredential(**fields)


def stack_issued(**changes):
    """Ada's award of the sample stack, its evidence the two awards it is made of."""
    return issued(stack_achievement(), evidence=ob.evidence_from_award(
        [{"path": f"criteria.of[{i}]", "requirement": {"type": "credential", "credential": slug}, "award": uuid}
         for i, (slug, uuid) in enumerate([("python-data-basics", "3f2c8a9e-51b4-4d0e-9a77-0c1d2e3f4a5b"),
                                           ("python-testing", "9d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a")])],
        COURSES, CREDENTIAL_NAMES, award_url=lambda uuid: f"{LMS}/microcred/credentials/{uuid}/"),
        **changes)


_DATETIME_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value):
    """A date-time as the schema means it (jsonschema checks one only with an optional package)."""
    if not isinstance(value, str):
        return True
    if not _DATETIME_Z.match(value):
        raise ValueError(value)
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def schema_errors(document):
    """Where and why ``document`` fails 1EdTech's AchievementCredential schema (dates checked strictly)."""
    validator = jsonschema.Draft201909Validator(SCHEMA, format_checker=FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def with_proof(document):
    """A copy of ``document`` with a proof of the right shape (not a valid signature)."""
    signed = copy.deepcopy(document)
    signed["proof"] = copy.deepcopy(DUMMY_PROOF)
    return signed
