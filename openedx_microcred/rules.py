"""
The rules engine: pure Python, no ORM, no I/O.

A credential's criteria is a tree. Leaves are requirements on learner facts (course passed, grade,
completion, certificate, enrollment) or on another credential (which is what makes stacks); groups
combine children as all-of, any-of or at-least-N, nested up to ``limits.MAX_CRITERIA_DEPTH`` levels.

The JSON form stored on a credential and accepted by ``microcred_load``::

    {"type": "all", "of": [
        {"type": "course_passed", "course": "course-v1:Org+CS101+2026"},
        {"type": "course_grade", "course": "course-v1:Org+CS102+2026", "min_percent": 80},
        {"type": "at_least", "n": 2, "of": [
            {"type": "credential", "credential": "python-bronze"},
            {"type": "course_completion", "course": "course-v1:Org+CS103+2026", "min_percent": 75},
            {"type": "certificate", "course": "course-v1:Org+CS104+2026", "mode": "verified"},
            {"type": "enrolled", "course": "course-v1:Org+CS105+2026", "modes": ["verified"]},
            {"type": "external_credential", "issuer": "did:web:badges.other.example", "achievement": "https://..."}
        ]}
    ]}

Everything here maps onto a CEL expression (``grade >= 0.8 && completion >= 0.75``, "2 of these"),
so the tree stays translatable to the pathways model of openedx-core.

Facts are the latest known values per (course, kind); see ``Fact``. The evaluation answers, for
each credential, whether it is met, how far along the learner is (0..1) and which facts met which
leaf (the evidence), and decides per credential whether to award, revoke or keep.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, NoReturn, Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from .limits import MAX_CRITERIA_DEPTH, MAX_CRITERIA_NODES, MAX_CRITERIA_VALUES, MAX_EXTERNAL_IDENTIFIER_LENGTH

# Kinds of learner facts. One fact per (learner, course, kind): the latest value.
GRADE = "grade"
PASSING = "passing"
COMPLETION = "completion"
CERTIFICATE = "certificate"
ENROLLMENT = "enrollment"
FACT_KINDS = (GRADE, PASSING, COMPLETION, CERTIFICATE, ENROLLMENT)

# An external Open Badges 3.0 credential the learner holds, verified (external.py). Not a LearnerFact
# kind: these facts come from ExternalCredential rows, keyed by EXTERNAL_KEY_PREFIX + the row's id.
EXTERNAL = "external_credential"
EXTERNAL_KEY_PREFIX = "external:"

# The certificate status edx-platform gives a certificate a learner can download.
CERTIFICATE_EARNED_STATUS = "downloadable"

# A leaf that is not met never reports full progress, however close it is.
_ALMOST = 0.999


@dataclass(frozen=True)
class Fact:
    """The latest known value of one fact about one learner in one course."""

    course_key: str
    kind: str
    value: Mapping
    event_id: str
    event_time: datetime


@dataclass(frozen=True)
class LearnerState:
    """Everything the engine needs to know about one learner."""

    facts: Mapping[tuple[str, str], Fact] = field(default_factory=dict)
    # Slugs of the credentials the learner currently holds (an active award).
    held: frozenset = frozenset()
    # Stored progress (0..1) of credentials that are not being re-evaluated now.
    progress: Mapping[str, float] = field(default_factory=dict)
    # Completable blocks per course, from the platform adapter.
    completable_blocks: Mapping[str, int] = field(default_factory=dict)
    # Slugs an operator revoked from this learner: never awarded again by the engine.
    blocked: frozenset = frozenset()

    def fact(self, course_key, kind):
        return self.facts.get((course_key, kind))


@dataclass(frozen=True)
class LeafOutcome:
    """How one requirement leaf stands, and the facts that decided it."""

    path: str
    requirement: "Requirement"
    met: bool
    fraction: float
    facts: tuple = ()
    # Not met, and the data that would say whether it is are missing (a course the platform no
    # longer knows): not a reason to revoke.
    unknown: bool = False


@dataclass(frozen=True)
class Outcome:
    """
    How a (sub)tree stands: met, progress 0..1, and every leaf beneath it. Progress is the share of
    the requirements needed that are met, ``met_count / needed`` (docs/catalog-format.md,
    "Progress"): an unmet requirement counts nothing, however close it is (its own leaf says how
    close), so "N of M requirements met" and the fraction always agree.
    """

    met: bool
    fraction: float
    leaves: tuple = ()
    # Not met, but it might be: enough of what is not met is unknown (see LeafOutcome.unknown).
    unknown: bool = False
    met_count: int = 0  # requirements met at this level (at most ``needed``)
    needed: int = 1  # requirements this level needs: a leaf 1, a group its all/any/n

    @property
    def met_leaves(self):
        return tuple(leaf for leaf in self.leaves if leaf.met)

    @property
    def missing_leaves(self):
        return tuple(leaf for leaf in self.leaves if not leaf.met)


class Requirement(ABC):
    """A node of a criteria tree. ``path`` locates it: "criteria", "criteria.of[2]", ..."""

    kind: str = ""
    path: str = "criteria"

    @abstractmethod
    def evaluate(self, state: LearnerState) -> Outcome:
        """How the learner stands on this (sub)tree."""

    def leaves(self):
        """Every requirement leaf of this (sub)tree, in tree order."""
        yield self

    def courses(self) -> set:
        """Course keys this tree reads facts from directly."""
        return set()

    def credentials(self) -> set:
        """Credential slugs this tree requires directly."""
        return set()

    @abstractmethod
    def to_dict(self) -> dict:
        """The JSON form ``parse_criteria`` reads back."""


def _leaf(node, met, raw_fraction, facts=(), unknown=False):
    """The Outcome of a leaf requirement: met or not, and how close it is (never 1.0 unless met)."""
    fraction = 1.0 if met else max(0.0, min(raw_fraction, _ALMOST))
    unknown = unknown and not met
    leaf = LeafOutcome(node.path, node, met, fraction, tuple(f for f in facts if f), unknown)
    # The leaf keeps how close it is; as a requirement it is met or not.
    return Outcome(met, 1.0 if met else 0.0, (leaf,), unknown, int(met), 1)


@dataclass(frozen=True)
class CourseLeaf(Requirement, ABC):
    """A requirement on one course; its subclasses say what of the course."""

    course: str
    path: str = "criteria"

    def courses(self):
        return {self.course}


@dataclass(frozen=True)
class CoursePassed(CourseLeaf):
    """The learner passes the course (the platform's newest passing status or grade says so)."""

    kind = "course_passed"

    def evaluate(self, state):
        # Both the passing-status event and the persistent grade say whether the learner passes;
        # whichever was sent last is the platform's current word.
        candidates = [f for f in (state.fact(self.course, PASSING), state.fact(self.course, GRADE)) if f]
        if not candidates:
            return _leaf(self, False, 0.0)
        latest = max(candidates, key=lambda f: (f.event_time, f.event_id))
        return _leaf(self, bool(latest.value.get("passed")), 0.0, (latest,))

    def to_dict(self):
        return {"type": self.kind, "course": self.course}


@dataclass(frozen=True)
class CourseGrade(CourseLeaf):
    """The learner's course grade is at least ``min_percent``."""

    min_percent: float = 0.0
    kind = "course_grade"

    def evaluate(self, state):
        fact = state.fact(self.course, GRADE)
        if fact is None or fact.value.get("percent") is None:
            return _leaf(self, False, 0.0)
        # The fact holds 0..1; rounding drops the binary error of scaling it, without which
        # 0.57 * 100 == 56.99999999999999 and a 57% grade would fail a 57% minimum.
        percent = round(float(fact.value["percent"]) * 100, 9)
        if self.min_percent <= 0:
            return _leaf(self, True, 1.0, (fact,))
        return _leaf(self, percent >= self.min_percent, percent / self.min_percent, (fact,))

    def to_dict(self):
        return {"type": self.kind, "course": self.course, "min_percent": self.min_percent}


@dataclass(frozen=True)
class CourseCompletion(CourseLeaf):
    """The learner has completed at least ``min_percent`` of the course."""

    min_percent: float = 100.0
    kind = "course_completion"

    def evaluate(self, state):
        fact = state.fact(self.course, COMPLETION)
        if fact is None:
            return _leaf(self, False, 0.0)
        total = state.completable_blocks.get(self.course) or 0
        if total <= 0:  # the platform does not know the course (any more): no percentage to compare
            return _leaf(self, False, 0.0, (fact,), unknown=True)
        percent = 100.0 * min(int(fact.value.get("completed_blocks", 0)), total) / total
        if self.min_percent <= 0:
            return _leaf(self, True, 1.0, (fact,))
        return _leaf(self, percent >= self.min_percent, percent / self.min_percent, (fact,))

    def to_dict(self):
        return {"type": self.kind, "course": self.course, "min_percent": self.min_percent}


@dataclass(frozen=True)
class CertificateEarned(CourseLeaf):
    """The learner has a certificate of the course (of ``mode``, when one is named)."""

    mode: str | None = None
    kind = "certificate"

    def evaluate(self, state):
        fact = state.fact(self.course, CERTIFICATE)
        if fact is None:
            return _leaf(self, False, 0.0)
        met = fact.value.get("status") == CERTIFICATE_EARNED_STATUS and (
            self.mode is None or fact.value.get("mode") == self.mode
        )
        return _leaf(self, met, 0.0, (fact,))

    def to_dict(self):
        data = {"type": self.kind, "course": self.course}
        if self.mode:
            data["mode"] = self.mode
        return data


@dataclass(frozen=True)
class Enrolled(CourseLeaf):
    """The learner is enrolled in the course (in one of ``modes``, when they are named)."""

    modes: tuple = ()
    kind = "enrolled"

    def evaluate(self, state):
        fact = state.fact(self.course, ENROLLMENT)
        if fact is None:
            return _leaf(self, False, 0.0)
        met = bool(fact.value.get("is_active")) and (not self.modes or fact.value.get("mode") in self.modes)
        return _leaf(self, met, 0.0, (fact,))

    def to_dict(self):
        data = {"type": self.kind, "course": self.course}
        if self.modes:
            data["modes"] = list(self.modes)
        return data


@dataclass(frozen=True)
class CredentialEarned(Requirement):
    """The learner holds another credential of this catalog (a stack's component)."""

    credential: str
    path: str = "criteria"
    kind = "credential"

    def evaluate(self, state):
        if self.credential in state.held:
            return _leaf(self, True, 1.0)
        return _leaf(self, False, float(state.progress.get(self.credential, 0.0)))

    def credentials(self):
        return {self.credential}

    def to_dict(self):
        return {"type": self.kind, "credential": self.credential}


@dataclass(frozen=True)
class ExternalCredentialHeld(Requirement):
    """
    An Open Badges 3.0 credential another issuer gave the learner: from ``issuer`` (its DID or
    id), for the achievement ``achievement`` (its id) or of type ``achievement_type``, with a
    numeric result of at least ``min_result`` when one is named. Met by any verified external
    credential fact (kind EXTERNAL) that matches.
    """

    issuer: str
    achievement: str | None = None
    achievement_type: str | None = None
    min_result: float | None = None
    path: str = "criteria"
    kind = EXTERNAL

    def _matches(self, value):
        """Whether an external credential fact's value is of this issuer, achievement and result."""
        if value.get("issuer") != self.issuer:
            return False
        if self.achievement is not None and value.get("achievement_id") != self.achievement:
            return False
        if self.achievement_type is not None and self.achievement_type not in (value.get("achievement_types") or ()):
            return False
        return True

    def evaluate(self, state):
        # A fact with a status other than active is one that stopped counting (its timeline's end).
        candidates = [f for f in state.facts.values() if f.kind == EXTERNAL and self._matches(f.value)
                      and f.value.get("status", "active") == "active"]
        if self.min_result is None:
            met = candidates[:1]
            return _leaf(self, bool(met), 0.0, met)
        best, best_result = None, None
        for fact in candidates:
            result = fact.value.get("result")
            if isinstance(result, (int, float)) and not isinstance(result, bool) and \
                    (best_result is None or result > best_result):
                best, best_result = fact, float(result)
        if best is None:
            return _leaf(self, False, 0.0)
        met = best_result >= self.min_result
        fraction = best_result / self.min_result if self.min_result > 0 else 1.0
        return _leaf(self, met, fraction, (best,))

    def to_dict(self):
        data = {"type": self.kind, "issuer": self.issuer}
        for name in ("achievement", "achievement_type", "min_result"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


ALL, ANY, AT_LEAST = "all", "any", "at_least"


@dataclass(frozen=True)
class Group(Requirement):
    """All, any or at least ``n`` of the children."""

    kind: str = ALL
    children: tuple = ()
    n: int = 0
    path: str = "criteria"

    @property
    def needed(self):
        """How many children must be met."""
        return {ALL: len(self.children), ANY: 1}.get(self.kind, self.n)

    def evaluate(self, state):
        outcomes = [child.evaluate(state) for child in self.children]
        needed = self.needed
        met_count = sum(1 for o in outcomes if o.met)
        met = met_count >= needed
        unknown = not met and met_count + sum(1 for o in outcomes if o.unknown) >= needed
        # Progress: the share of the `needed` children that are met; a child group that is not
        # met counts nothing (docs/catalog-format.md, "Progress").
        counted = min(met_count, needed)
        fraction = 1.0 if met else counted / needed if needed else 0.0
        leaves = tuple(leaf for o in outcomes for leaf in o.leaves)
        return Outcome(met, fraction, leaves, unknown, counted, needed)

    def leaves(self):
        for child in self.children:
            yield from child.leaves()

    def courses(self):
        return set().union(*(child.courses() for child in self.children))

    def credentials(self):
        return set().union(*(child.credentials() for child in self.children))

    def to_dict(self):
        data = {"type": self.kind, "of": [child.to_dict() for child in self.children]}
        if self.kind == AT_LEAST:
            data["n"] = self.n
        return data


# --- Parsing and validation -------------------------------------------------------------------


class InvalidCriteria(ValidationError):
    """Criteria that cannot be used; every message says where (a path) and what."""


def _fail(where, message) -> NoReturn:
    raise InvalidCriteria(f"{where}: {message}")


def _course_key(data, where):
    """The course key named by a leaf's ``course``, normalized, or InvalidCriteria."""
    value = data.get("course")
    if not isinstance(value, str) or not value:
        _fail(f"{where}.course", _("a course key is required"))
    try:
        return str(CourseKey.from_string(value))
    except InvalidKeyError:
        _fail(f"{where}.course", _("'%(value)s' is not a valid course key") % {"value": value})


def _percent(data, name, where, default):
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        _fail(f"{where}.{name}", _("must be a number from 0 to 100, not %(value)s") % {"value": repr(value)})
    return float(value)


def _only(data, allowed, where):
    unknown = sorted(set(data) - set(allowed) - {"type", "label"})
    if unknown:
        _fail(where, _("unknown field(s) %(fields)s") % {"fields": ", ".join(unknown)})


def check_criteria_size(data, where="criteria"):
    """
    Raise InvalidCriteria if the JSON form nests requirements deeper than MAX_CRITERIA_DEPTH or
    holds more than MAX_CRITERIA_NODES requirements (or MAX_CRITERIA_VALUES values in all).
    Measured without recursion, before anything recursive (the parser, repr, json) sees the data.
    """
    # Each group is an object holding a list, so requirement level d is container depth 2d - 1; a
    # leaf's own list ("modes") is one more.
    max_containers = 2 * MAX_CRITERIA_DEPTH
    stack, values, nodes = [(data, 1)], 0, 0
    while stack:
        item, depth = stack.pop()
        values += 1
        if isinstance(item, Mapping):
            nodes += 1
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        if depth > max_containers:
            _fail(where, _("requirements are nested deeper than %(max)d levels") % {"max": MAX_CRITERIA_DEPTH})
        if nodes > MAX_CRITERIA_NODES:
            _fail(where, _("more than %(max)d requirements") % {"max": MAX_CRITERIA_NODES})
        if values + len(stack) + len(children) > MAX_CRITERIA_VALUES:
            _fail(where, _("more than %(max)d values in all") % {"max": MAX_CRITERIA_VALUES})
        stack.extend((child, depth + 1) for child in children)


def parse_criteria(data, where="criteria") -> Requirement:
    """Build a requirement tree from its JSON form, or raise InvalidCriteria saying where."""
    check_criteria_size(data, where)
    return _parse(data, where)


def _parse(data, where) -> Requirement:
    """The Requirement a JSON node describes, or InvalidCriteria naming the node by ``where``."""
    if not isinstance(data, Mapping):
        _fail(where, _("must be an object with a 'type', not %(type)s") % {"type": type(data).__name__})
    kind = data.get("type")
    if kind in (ALL, ANY, AT_LEAST):
        _only(data, ("of", "n"), where)
        children = data.get("of")
        if not isinstance(children, list) or not children:
            _fail(f"{where}.of", _("a group needs a non-empty list of requirements"))
        parsed = tuple(_parse(child, f"{where}.of[{i}]") for i, child in enumerate(children))
        n = 0
        if kind == AT_LEAST:
            n = data.get("n")
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(parsed):
                _fail(f"{where}.n", _("must be a whole number from 1 to %(size)d (the group's size), not %(value)s")
                      % {"size": len(parsed), "value": repr(n)})
        elif "n" in data:
            _fail(f"{where}.n", _("only an '%(kind)s' group takes n") % {"kind": AT_LEAST})
        return Group(kind=kind, children=parsed, n=n, path=where)
    if kind == CoursePassed.kind:
        _only(data, ("course",), where)
        return CoursePassed(course=_course_key(data, where), path=where)
    if kind == CourseGrade.kind:
        _only(data, ("course", "min_percent"), where)
        if "min_percent" not in data:
            _fail(f"{where}.min_percent", _("a minimum grade percent is required"))
        return CourseGrade(course=_course_key(data, where), min_percent=_percent(data, "min_percent", where, None),
                           path=where)
    if kind == CourseCompletion.kind:
        _only(data, ("course", "min_percent"), where)
        return CourseCompletion(course=_course_key(data, where),
                                min_percent=_percent(data, "min_percent", where, 100), path=where)
    if kind == CertificateEarned.kind:
        _only(data, ("course", "mode"), where)
        mode = data.get("mode")
        if mode is not None and (not isinstance(mode, str) or not mode):
            _fail(f"{where}.mode", _("must be a course mode slug such as 'verified'"))
        return CertificateEarned(course=_course_key(data, where), mode=mode, path=where)
    if kind == Enrolled.kind:
        _only(data, ("course", "modes"), where)
        modes = data.get("modes", [])
        if not isinstance(modes, list) or not all(isinstance(m, str) and m for m in modes):
            _fail(f"{where}.modes", _("must be a list of course mode slugs"))
        return Enrolled(course=_course_key(data, where), modes=tuple(modes), path=where)
    if kind == CredentialEarned.kind:
        _only(data, ("credential",), where)
        slug = data.get("credential")
        if not isinstance(slug, str) or not slug:
            _fail(f"{where}.credential", _("the slug of the required credential is required"))
        return CredentialEarned(credential=slug, path=where)
    if kind == ExternalCredentialHeld.kind:
        return _parse_external(data, where)
    known = ", ".join((ALL, ANY, AT_LEAST, CoursePassed.kind, CourseGrade.kind, CourseCompletion.kind,
                       CertificateEarned.kind, Enrolled.kind, CredentialEarned.kind, ExternalCredentialHeld.kind))
    _fail(f"{where}.type", _("unknown requirement type %(kind)s; expected one of: %(known)s")
          % {"kind": repr(kind), "known": known})


def _parse_external(data, where):
    """The ExternalCredentialHeld a JSON node describes, or InvalidCriteria."""
    _only(data, ("issuer", "achievement", "achievement_type", "min_result"), where)
    fields = {}
    for name, required in (("issuer", True), ("achievement", False), ("achievement_type", False)):
        value = data.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip() or value != value.strip() or \
                len(value) > MAX_EXTERNAL_IDENTIFIER_LENGTH:
            _fail(f"{where}.{name}", _("must be a non-empty identifier of at most %(max)d characters, not %(value)s")
                  % {"max": MAX_EXTERNAL_IDENTIFIER_LENGTH, "value": repr(value)[:80]})
        fields[name] = value
    if "achievement" not in fields and "achievement_type" not in fields:
        _fail(where, _("name the achievement: its id ('achievement') or its type ('achievement_type')"))
    if data.get("min_result") is not None:
        value = data["min_result"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1e9:
            _fail(f"{where}.min_result", _("must be a number from 0 to 1000000000, not %(value)s")
                  % {"value": repr(value)})
        fields["min_result"] = float(value)
    return ExternalCredentialHeld(path=where, **fields)


def validate_catalog(criteria_by_slug: Mapping[str, Requirement]):
    """
    Check references between credentials: every required credential exists and there is no cycle.

    Raises a ValidationError whose message dict is keyed by credential slug.
    """
    errors = {}
    for slug, tree in criteria_by_slug.items():
        for ref in sorted(tree.credentials()):
            if ref == slug:
                message = _("'%(slug)s' requires itself") % {"slug": slug}
                errors.setdefault(slug, []).append(f"criteria: {message}")
            elif ref not in criteria_by_slug:
                message = _("requires unknown credential '%(slug)s'") % {"slug": ref}
                errors.setdefault(slug, []).append(f"criteria: {message}")
    for cycle in find_cycles(criteria_by_slug):
        if len(cycle) > 2:  # self-references are reported above
            message = _("dependency cycle %(cycle)s") % {"cycle": " → ".join(cycle)}
            errors.setdefault(cycle[0], []).append(f"criteria: {message}")
    if errors:
        raise ValidationError(errors)


def find_cycles(criteria_by_slug: Mapping[str, Requirement]) -> list:
    """Each cycle once, as a list of slugs starting and ending with the same one."""
    return find_cycles_in_graph({slug: tree.credentials() for slug, tree in criteria_by_slug.items()})


def find_cycles_in_graph(requires: Mapping[str, Iterable[str]]) -> list:
    """``find_cycles`` over a plain graph: slug → the slugs it requires (unknown slugs are ignored)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(requires, WHITE)
    cycles = []

    def visit(slug, stack):
        colour[slug] = GREY
        stack.append(slug)
        for ref in sorted(requires[slug]):
            if ref not in requires:
                continue
            if colour[ref] == GREY:
                cycles.append(stack[stack.index(ref):] + [ref])
            elif colour[ref] == WHITE:
                visit(ref, stack)
        stack.pop()
        colour[slug] = BLACK

    for slug in sorted(requires):
        if colour[slug] == WHITE:
            visit(slug, [])
    return cycles


def course_closure(criteria_by_slug: Mapping[str, Requirement]) -> dict:
    """Every course each credential depends on, through the credentials it requires (a DAG)."""
    closure = {}

    def courses_of(slug, seen=()):
        if slug not in closure:
            tree = criteria_by_slug.get(slug)
            if tree is None or slug in seen:
                return set()
            courses = set(tree.courses())
            for ref in tree.credentials():
                courses |= courses_of(ref, seen + (slug,))
            closure[slug] = courses
        return closure[slug]

    for slug in criteria_by_slug:
        courses_of(slug)
    return closure


def dependency_order(rules: Iterable["CredentialRule"]) -> list:
    """The rules with every required credential before the credentials that require it."""
    by_slug = {rule.slug: rule for rule in rules}
    ordered, done = [], set()

    def place(slug, seen=()):
        if slug in done or slug not in by_slug or slug in seen:
            return
        for ref in sorted(by_slug[slug].requirement.credentials()):
            place(ref, seen + (slug,))
        done.add(slug)
        ordered.append(by_slug[slug])

    for slug in sorted(by_slug):
        place(slug)
    return ordered


# --- Decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialRule:
    """What the engine needs to know of a credential."""

    slug: str
    requirement: Requirement
    revoke_when_unmet: bool = False


@dataclass(frozen=True)
class Decision:
    """The result of evaluating one credential for one learner."""

    slug: str
    outcome: Outcome
    held_before: bool
    held_after: bool

    @property
    def award(self):
        return self.held_after and not self.held_before

    @property
    def revoke(self):
        return self.held_before and not self.held_after


def decide(rules: Sequence[CredentialRule], state: LearnerState) -> list:
    """
    Evaluate the rules in dependency order, cascading into the stacks that require them.

    A met credential is held (awarded if it was not, unless an operator blocked it for this
    learner); an unmet one stays held unless its policy is to revoke when the criteria are no
    longer met and they are known not to be (an outcome that is unknown revokes nothing). What a
    credential decides is what the stacks after it see.
    """
    held = set(state.held)
    progress = dict(state.progress)
    decisions = []
    for rule in dependency_order(rules):
        current = LearnerState(state.facts, frozenset(held), progress, state.completable_blocks, state.blocked)
        outcome = rule.requirement.evaluate(current)
        before = rule.slug in state.held
        after = (outcome.met and rule.slug not in state.blocked) or \
            (before and (not rule.revoke_when_unmet or outcome.unknown))
        if after:
            held.add(rule.slug)
        else:
            held.discard(rule.slug)
        progress[rule.slug] = outcome.fraction
        decisions.append(Decision(rule.slug, outcome, before, after))
    return decisions
