"""
Our credentials against SURF Edubadges' microcredential (the national platform's way of carrying
the EU elements in OB 3.0, what European verifiers read): its JSON schema, field by field.

Where we differ, we differ on purpose, and each difference is listed here with its reason
(docs/open-badges.md, "Compared with Edubadges"): a new difference fails these tests until it
is either fixed or added to the list. The schema is a copy of ../shared/ob3/edubadges/ in
tests/data, as the OB 3.0 schema is.
"""

import json

import pytest

from openedx_microcred.openbadges import document as ob

from .edubadges import DATA, edubadges_differences
from .samples import issued, micro_achievement, schema_errors, stack_issued, with_proof

EDUBADGES_EXAMPLE = json.loads((DATA / "edubadges_example_microcredential_full.json").read_text())

# Every way our credentials may fail Edubadges' microcredential schema, and why that is deliberate.
DELIBERATE = {
    "achievement: one of ECTS, SBU":
        "ECTS credits are OB 3.0's creditsAvailable (as Edubadges' own OB 3.0 metadata model puts them); "
        "Edubadges' ECTS term is typed xsd:integer, which cannot carry 2.5 credits, and SBU is Dutch only.",
    "achievement: required resultDescription":
        "A grade is described (and achieved) only when the criteria read one (a course_grade requirement).",
    "credentialSubject: required result":
        "A result is only there when the criteria read a grade; a pass is the award itself.",
    "achievement: required assessmentType":
        "An ELM assessment type outside Edubadges' closed list (peer review, marked assignment, ...) is carried "
        "as its ELM concept (assessmentMethod) only.",
    "achievement: required participationType":
        "ELM's project-based and research-lab-based modes have no Edubadges participationType.",
    "achievement: required supervisionType":
        "'Unsupervised with ID verification' (ELM) has no Edubadges supervisionType.",
}


def test_the_check_reads_edubadges_own_example_as_valid():
    assert edubadges_differences(EDUBADGES_EXAMPLE) == []
    broken = json.loads(json.dumps(EDUBADGES_EXAMPLE))
    del broken["credentialSubject"]["achievement"]["inLanguage"]
    broken["credentialSubject"]["achievement"]["assessmentType"] = "graded online exam"
    assert edubadges_differences(broken) == [
        "achievement.assessmentType: 'graded online exam' is not one of ['testing', 'application of a skill', "
        "'portfolio', 'recognition of prior learning']",
        "achievement: required inLanguage",
    ]


def test_a_microcredential_with_every_eu_element_differs_from_edubadges_only_as_listed():
    document = with_proof(ob.build_credential(issued()))
    assert schema_errors(document) == []  # and it stays a valid OB 3.0 credential
    assert edubadges_differences(document) == ["achievement: one of ECTS, SBU"]


def test_a_stack_differs_only_by_its_credits_and_the_grade_it_does_not_read():
    assert edubadges_differences(ob.build_credential(stack_issued())) == [
        "achievement: one of ECTS, SBU", "achievement: required resultDescription",
        "credentialSubject: required result",
    ]


@pytest.mark.parametrize("changes, difference", [
    ({"assessment_type": "peer-review"}, "achievement: required assessmentType"),
    ({"participation_form": "research-lab-based"}, "achievement: required participationType"),
    ({"supervision": "unsupervised-id-check"}, "achievement: required supervisionType"),
])
def test_an_elm_term_edubadges_has_no_value_for_is_a_listed_difference(changes, difference):
    document = ob.build_credential(issued(micro_achievement(**changes)))
    assert schema_errors(with_proof(document)) == []
    assert edubadges_differences(document) == sorted(["achievement: one of ECTS, SBU", difference])


def test_every_difference_listed_is_one_a_credential_can_have():
    """The list holds no stale entry: each one is produced by some credential above."""
    produced = set(edubadges_differences(ob.build_credential(stack_issued())))
    for changes in ({"assessment_type": "peer-review"}, {"participation_form": "research-lab-based"},
                    {"supervision": "unsupervised-id-check"}):
        produced |= set(edubadges_differences(ob.build_credential(issued(micro_achievement(**changes)))))
    assert produced == set(DELIBERATE)


def test_fields_edubadges_reads_carry_its_values_where_we_have_them():
    """Field by field, what Edubadges' example has and where ours is."""
    ours = ob.build_credential(issued())
    theirs = EDUBADGES_EXAMPLE
    a, b = ours["credentialSubject"]["achievement"], theirs["credentialSubject"]["achievement"]
    for name in ("name", "description", "image", "criteria", "inLanguage", "alignment", "resultDescription",
                 "assessmentType", "identityChecked", "participationType", "supervisionType"):
        assert name in a and name in b, name
    assert set(theirs["issuer"]["address"]) <= set(ours["issuer"]["address"])
    assert ours["issuer"]["otherIdentifier"][0].keys() == theirs["issuer"]["otherIdentifier"][0].keys()
    [their_qa] = [x for x in b["alignment"] if x["targetType"] == "ext:QualityAssurance"]
    [our_qa] = [x for x in a["alignment"] if x["targetType"] == "ext:QualityAssurance"]
    assert set(their_qa) <= set(our_qa)
    assert ours["credentialSubject"]["result"][0].keys() == theirs["credentialSubject"]["result"][0].keys()
    # Deliberately not there: Edubadges' ECTS (ours is creditsAvailable) and credentialSchema (its type is
    # defined only in 1EdTech's extensions context, which safe-mode verifiers would have to load).
    assert "ECTS" not in a and a["creditsAvailable"] == 3.0
    assert "credentialSchema" not in ours and "credentialSchema" in theirs
