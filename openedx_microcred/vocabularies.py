"""
The controlled vocabularies of the EU microcredential elements: pure data, no Django.

A credential stores a short, readable key for each choice (``"online"``, ``"written-examination"``);
the signed document carries the concept the key stands for, as an IRI with its label, and the term
SURF Edubadges' microcredential uses for it where one exists (``docs/open-badges.md`` explains the
mapping and where it is partial).

- Form of participation: the European Learning Model's *Mode of learning and assessment*
  (``http://data.europa.eu/snb/learning-assessment/25831c2``), Edubadges ``participationType``.
- Type of assessment: ELM's *Assessment type* (``http://data.europa.eu/snb/assessment/25831c2``),
  Edubadges ``assessmentType``.
- Supervision and identity verification: ELM's *Supervision and verification*
  (``http://data.europa.eu/snb/supervision-verification/25831c2``) where the concept's IRI is
  known here, Edubadges ``supervisionType`` (whose glossary IRI is the concept otherwise).

Labels are the vocabularies' own English labels: they identify the concept in the credential and
are not translated there (Studio and the admin show them translated). The concept IRIs and
labels were taken from published ELM examples and catalogues; the EU Publications Office's concept
schemes are the authority.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy, gettext_noop

ELM_LEARNING_MODE_SCHEME = "http://data.europa.eu/snb/learning-assessment/25831c2"
ELM_ASSESSMENT_SCHEME = "http://data.europa.eu/snb/assessment/25831c2"
ELM_SUPERVISION_SCHEME = "http://data.europa.eu/snb/supervision-verification/25831c2"
EDUBADGES_GLOSSARY = "https://edubadges.nl/static/obv3-glossary.html"


@dataclass(frozen=True)
class Term:
    """One choice: its stored key, the concept (IRI, label, scheme) and the Edubadges value, if any."""

    key: str
    label: str
    iri: str
    scheme: str | None
    edubadges: str | None = None
    # For supervision: whether the choice says the learner's identity was verified (None: it does not say).
    identity_checked: bool | None = None


def _elm(scheme_path, code, key, label, edubadges=None):
    return Term(key, label, f"http://data.europa.eu/snb/{scheme_path}/{code}",
                f"http://data.europa.eu/snb/{scheme_path}/25831c2", edubadges)


# Edubadges' participationType values: online, onsite or blended, volunteering, work experience,
# personalized learning activities. ELM has no concept for the last two and Edubadges none for
# project-based or research-lab-based learning.
LEARNING_MODES = (
    _elm("learning-assessment", "920fbb3cbe", "online", gettext_noop("Online"), "online"),
    _elm("learning-assessment", "9191af2ed9", "presential", gettext_noop("Presential"), "onsite or blended"),
    _elm("learning-assessment", "e92d221e4d", "blended", gettext_noop("Blended"), "onsite or blended"),
    _elm("learning-assessment", "c_3a90b26d", "hybrid", gettext_noop("Hybrid"), "onsite or blended"),
    _elm("learning-assessment", "729f3bed4b", "work-based", gettext_noop("Workbased"), "work experience"),
    _elm("learning-assessment", "7813801c77", "project-based", gettext_noop("Project based")),
    _elm("learning-assessment", "ed4c557045", "research-lab-based", gettext_noop("Research-Lab based")),
)

# Edubadges' assessmentType values: testing, application of a skill, portfolio, recognition of
# prior learning (which no ELM assessment type matches, so it is not offered).
_TESTING, _SKILL = "testing", "application of a skill"
ASSESSMENT_TYPES = (
    _elm("assessment", "6e6cb2cc78", "written-examination", gettext_noop("written examination"), _TESTING),
    _elm("assessment", "d30284d7df", "oral-examination", gettext_noop("oral examination"), _TESTING),
    _elm("assessment", "b1b68f6735", "quiz", gettext_noop("quiz"), _TESTING),
    _elm("assessment", "6a4db9f11d", "practical-assessment", gettext_noop("practical assessment"), _SKILL),
    _elm("assessment", "795dac4096", "project-work", gettext_noop("project work"), _SKILL),
    _elm("assessment", "de4d165a6c", "artefact-assessment", gettext_noop("artefact assessment"), _SKILL),
    _elm("assessment", "c4256a2726", "problem-based-learning", gettext_noop("problem based learning"), _SKILL),
    _elm("assessment", "c_04b30a72", "presentation", gettext_noop("Presentation"), _SKILL),
    _elm("assessment", "56539a6507", "group-performance", gettext_noop("group performance"), _SKILL),
    _elm("assessment", "4f03b91c0e", "portfolio", gettext_noop("portfolio"), "portfolio"),
    _elm("assessment", "2939dae15f", "marked-assignment", gettext_noop("marked assignment")),
    _elm("assessment", "3484bd7e51", "continuous-evaluation", gettext_noop("continuous evaluation")),
    _elm("assessment", "19a2e5e671", "peer-assessment", gettext_noop("peer assessment")),
    _elm("assessment", "812e3b0ae1", "peer-review", gettext_noop("peer review")),
    _elm("assessment", "7331eb4762", "level-of-attendance", gettext_noop("level of attendance")),
    _elm("assessment", "c_2b3bd410", "self-assessment", gettext_noop("Self-assessment")),
    _elm("assessment", "c_4f874951", "guided-self-assessment", gettext_noop("Guided self-assessment")),
)


def _edubadges_supervision(key, label, edubadges, identity_checked):
    slug = edubadges.replace(" ", "-")
    return Term(key, label, f"{EDUBADGES_GLOSSARY}#supervision-type-{slug}", None, edubadges, identity_checked)


# ELM's supervision concepts whose IRIs are known here come first; the other three are Edubadges'
# supervisionType values, identified by Edubadges' glossary (to do: the ELM IRIs of "supervised
# with/without ID verification" once they can be checked against the concept scheme).
SUPERVISION_TYPES = (
    Term("unsupervised-no-id-check", gettext_noop("Unsupervised without ID verification"),
         "http://data.europa.eu/snb/supervision-verification/c598449d64", ELM_SUPERVISION_SCHEME,
         "unsupervised with no identity verification", False),
    Term("unsupervised-id-check", gettext_noop("Unsupervised with ID verification"),
         "http://data.europa.eu/snb/supervision-verification/df2880c5cb", ELM_SUPERVISION_SCHEME, None, True),
    _edubadges_supervision("supervised-no-id-check", gettext_noop("Supervised without ID verification"),
                           "supervised with no identity verification", False),
    _edubadges_supervision("supervised-online", gettext_noop("Supervised online"), "supervised online", None),
    _edubadges_supervision("onsite-id-check", gettext_noop("Onsite with ID verification"),
                           "onsite with identity verification", True),
)

# The IRIs Edubadges' glossary gives its participationType and supervisionType values, as our
# context maps them (Edubadges' own context misspells some hosts and, for supervisionType, puts
# the map under "context" instead of "@context"; these are the IRIs it evidently means).
EDUBADGES_VALUE_IRIS = {
    "participationType": {
        "online": f"{EDUBADGES_GLOSSARY}#participation-type-online",
        "onsite or blended": f"{EDUBADGES_GLOSSARY}#participation-type-onsite-or-blended",
        "work experience": f"{EDUBADGES_GLOSSARY}#participation-type-work-experience",
    },
    "supervisionType": {term.edubadges: f"{EDUBADGES_GLOSSARY}#supervision-type-{term.edubadges.replace(' ', '-')}"
                        for term in SUPERVISION_TYPES if term.edubadges},
}

_BY_KEY = {name: {term.key: term for term in terms} for name, terms in (
    ("learning_mode", LEARNING_MODES), ("assessment_type", ASSESSMENT_TYPES), ("supervision", SUPERVISION_TYPES))}


def term(vocabulary: str, key: str) -> Term:
    """The term stored as ``key`` in ``vocabulary`` ("learning_mode", "assessment_type", "supervision")."""
    try:
        return _BY_KEY[vocabulary][key]
    except KeyError:
        raise ValueError(f"{key!r} is not a term of the {vocabulary.replace('_', ' ')} vocabulary") from None


_BY_IRI = {t.iri: t for terms in (LEARNING_MODES, ASSESSMENT_TYPES, SUPERVISION_TYPES) for t in terms}


def term_for_iri(iri) -> Term | None:
    """The term a credential names by its IRI (a concept's ``id``), or None for one we do not list."""
    return _BY_IRI.get(iri) if isinstance(iri, str) else None


def choices(terms) -> list:
    """(key, label) pairs for a form or a model field, the labels translated where they are shown."""
    return [(t.key, gettext_lazy(t.label)) for t in terms]


# --- Reading the free text stored before the vocabularies --------------------------------------

# Words that name one term, for the data migration: a text that names exactly one term becomes that
# term; anything else is kept as a note for the course team to resolve.
_LEARNING_MODE_WORDS = {
    "online": ("online", "e-learning", "distance", "remote", "self-paced", "mooc"),
    "presential": ("onsite", "on-site", "on site", "in person", "in-person", "on campus", "classroom",
                   "presential", "face to face", "face-to-face"),
    "blended": ("blended",),
    "hybrid": ("hybrid",),
    "work-based": ("work-based", "work based", "workplace", "on the job"),
    "project-based": ("project-based", "project based"),
}
_ASSESSMENT_WORDS = {
    "written-examination": ("written exam", "exam", "examination", "final test"),
    "oral-examination": ("oral",),
    "quiz": ("quiz", "multiple choice", "multiple-choice"),
    "practical-assessment": ("practical",),
    "project-work": ("project",),
    "portfolio": ("portfolio",),
    "marked-assignment": ("assignment",),
    "peer-assessment": ("peer assess", "peer-assess", "peer-graded", "peer graded"),
    "continuous-evaluation": ("continuous",),
    "self-assessment": ("self-assess",),
}


def _match(text, table):
    """The keys of ``table`` whose words occur in ``text``, with the overlaps a phrase implies resolved."""
    lowered = " ".join(str(text).lower().split())
    found = {key for key, words in table.items() if any(word in lowered for word in words)}
    if found & {"blended", "hybrid"}:
        found -= {"online", "presential"}  # "blended: online and on campus" is blended
    if "written-examination" in found and "oral-examination" in found and "written" not in lowered:
        found.discard("written-examination")  # "oral exam"
    return found.pop() if len(found) == 1 else None


def learning_mode_from_text(text) -> str | None:
    """The learning mode key a free text names unambiguously, or None."""
    return _match(text, _LEARNING_MODE_WORDS)


def assessment_type_from_text(text) -> str | None:
    """The assessment type key a free text names unambiguously, or None."""
    return _match(text, _ASSESSMENT_WORDS)
