"""
Loading a catalog file ("configuration as code"): ``load_catalog`` takes the entries of a catalog
file (already parsed from YAML or JSON; the ``microcred_load`` command does that) and creates or
updates the credentials they describe, keyed by slug. It validates every entry before it writes
anything and then applies all of them in one transaction; see docs/catalog-format.md. Saving and
publishing each credential, and the dependency index, are the catalog's (catalog.py).
"""

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import rules
from .catalog import evaluate_learners_of, refresh_dependency_index
from .models import Credential, platform_target_problems

log = logging.getLogger(__name__)


class InvalidCatalog(ValidationError):
    """A catalog file that cannot be loaded; ``messages`` lists every error, each saying where."""


@dataclass
class LoadReport:
    """What a load did (or, for a dry run, would do): slugs in file order, plus warnings."""

    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self):
        return self.created + self.updated


_STRING, _INTEGER, _DECIMAL, _BOOLEAN, _CRITERIA, _STRINGS, _COURSE, _TARGETS = (
    "string", "integer", "decimal", "boolean", "criteria", "strings", "course", "targets")

# Every key an entry may have: (kind of value, required). An optional key that is omitted or
# null takes the model's default, also when it updates a stored credential: the file describes
# each credential it lists completely.
ENTRY_FIELDS = {
    "slug": (_STRING, True),
    "title": (_STRING, True),
    "org": (_STRING, True),
    "criteria": (_CRITERIA, True),
    "course_key": (_COURSE, False),
    "description": (_STRING, False),
    "state": (_STRING, False),
    "revocation_policy": (_STRING, False),
    "stack_kind": (_STRING, False),
    "validity_days": (_INTEGER, False),
    "learning_outcomes": (_STRINGS, False),
    "platform_targets": (_TARGETS, False),
    "workload_hours": (_INTEGER, False),
    "ects_credits": (_DECIMAL, False),
    "eqf_level": (_INTEGER, False),
    "assessment_type": (_STRING, False),
    "participation_form": (_STRING, False),
    "quality_assurance": (_STRING, False),
    "identity_verified": (_BOOLEAN, False),
    "supervision": (_STRING, False),
    "quality_assurance_framework": (_STRING, False),
    "quality_assurance_code": (_STRING, False),
    "quality_assurance_url": (_STRING, False),
    "language": (_STRING, False),
}


@dataclass
class _Entry:
    """
    One entry of a catalog as it is checked: its position, the values read so far, its parsed
    criteria, and the errors found, with the fields they concern.
    """

    index: int
    slug: object = None
    values: dict = field(default_factory=dict)
    tree: object = None  # the parsed criteria, when they are valid
    errors: list = field(default_factory=list)
    failed: set = field(default_factory=set)  # fields with an error

    @property
    def label(self):
        if isinstance(self.slug, str) and self.slug:
            return f"credentials[{self.index}] ({self.slug})"
        return f"credentials[{self.index}]"

    def error(self, where, message):
        self.errors.append(f"{self.label}: {where}: {message}")
        self.failed.add(where)


def load_catalog(entries, dry_run=False) -> LoadReport:
    """
    Create or update the credentials ``entries`` describe, keyed by slug: a list of mappings, one
    per credential, or a whole catalog document (a mapping with that list under "credentials").

    Everything is validated first: the keys and values of every entry (with the model's own field
    validation), the criteria, and the references between credentials over the file and the stored
    catalog together. If anything is wrong nothing is written and InvalidCatalog lists every
    error. Otherwise the entries are saved in dependency order in one transaction, an entry equal
    to the stored credential is left alone, and the dependency index is refreshed once for all the
    credentials that changed. With ``dry_run`` the report says what would change; nothing is written.
    """
    file_errors = []
    if isinstance(entries, Mapping):
        entries, file_errors = _document_entries(entries)
    elif not isinstance(entries, list):
        raise InvalidCatalog([f"credentials: must be a list of credentials, not {type(entries).__name__}"])
    with transaction.atomic():
        parsed = [_read_entry(index, data) for index, data in enumerate(entries)]
        stored = Credential.objects.all() if dry_run else Credential.objects.select_for_update()
        existing = {c.slug: c for c in stored.filter(slug__in=[e.values["slug"] for e in parsed if "slug" in e.values])}
        _check_duplicates(parsed)
        instances = {
            entry.index: _clean_entry(entry, existing.get(entry.values.get("slug")))
            for entry in parsed if "entry" not in entry.failed
        }
        _check_catalog_references(parsed)
        _check_organizations(parsed, instances)
        errors = file_errors + [message for entry in parsed for message in entry.errors]
        if errors:
            raise InvalidCatalog(errors)

        report = LoadReport(dry_run=dry_run)
        report.warnings = _warnings(parsed, existing)
        to_save = {}
        for entry in parsed:
            current = existing.get(entry.slug)
            if current is None:
                report.created.append(entry.slug)
                to_save[entry.slug] = instances[entry.index]
            elif _differs(instances[entry.index], current):
                report.updated.append(entry.slug)
                to_save[entry.slug] = _copy_fields(instances[entry.index], current)
            else:
                report.unchanged.append(entry.slug)
        if dry_run or not to_save:
            return report

        was_active = {slug for slug, c in existing.items() if c.state == Credential.State.ACTIVE}
        trees = {entry.slug: entry.tree for entry in parsed if entry.slug in to_save}
        saved = []
        for rule in rules.dependency_order(rules.CredentialRule(slug, tree) for slug, tree in trees.items()):
            credential = to_save[rule.slug]
            credential.save()
            saved.append(credential)
        refresh_dependency_index(saved)
        evaluate_learners_of([c for c in saved if c.slug not in was_active])
        return report


CATALOG_KEYS = ("credentials",)


def _document_entries(document):
    """The entries of a whole catalog document ({"credentials": [...]}), and its own errors."""
    errors = [f"{key}: unknown top-level key; a catalog has only: {', '.join(CATALOG_KEYS)}"
              for key in document if key not in CATALOG_KEYS]
    entries = document.get("credentials")
    if entries is None:
        errors.append("credentials: is required (the list of credentials)")
        entries = []
    elif not isinstance(entries, list):
        errors.append(f"credentials: must be a list of credentials, not {type(entries).__name__}")
        entries = []
    return entries, errors


def _read_entry(index, data) -> _Entry:
    """Check an entry's keys and the types of its values; convert them to the model's types."""
    entry = _Entry(index)
    if not isinstance(data, Mapping):
        entry.error("entry", f"must be a mapping of credential fields, not {type(data).__name__}")
        return entry
    entry.slug = data.get("slug")
    for key in data:
        if key not in ENTRY_FIELDS:
            entry.error(str(key), f"unknown field; the fields of a credential are: {', '.join(ENTRY_FIELDS)}")
    for name, (kind, required) in ENTRY_FIELDS.items():
        value = data.get(name)
        if value is None:
            if required:
                entry.error(name, "is required")
            continue  # the model's default
        converted = _convert(entry, name, kind, value)
        if converted is not _INVALID:
            entry.values[name] = converted
    return entry


_INVALID = object()


def _convert(entry, name, kind, value):
    """The value as the model takes it, or _INVALID after recording the error."""
    if kind == _STRING:
        if isinstance(value, str):
            return value
        entry.error(name, f"must be a string, not {value!r}")
    elif kind == _COURSE:
        if isinstance(value, str):
            if not value:
                return None
            try:
                return str(CourseKey.from_string(value))
            except InvalidKeyError:
                entry.error(name, f"'{value}' is not a valid course key")
        else:
            entry.error(name, f"must be a course key string, not {value!r}")
    elif kind == _INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        entry.error(name, f"must be a whole number, not {value!r}")
    elif kind == _DECIMAL:
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, float) and math.isfinite(value):
            return Decimal(repr(value))  # 2.5, not the binary 2.49999...
        entry.error(name, f"must be a number, not {value!r}")
    elif kind == _BOOLEAN:
        if isinstance(value, bool):
            return value
        entry.error(name, f"must be true or false, not {value!r}")
    elif kind == _TARGETS:
        problems = platform_target_problems(value)
        if not problems:
            return [dict(target) for target in value]
        for problem in problems:
            entry.error(name, str(problem))
    elif kind == _STRINGS:
        if isinstance(value, list) and all(isinstance(item, str) and item.strip() for item in value):
            return list(value)
        entry.error(name, "must be a list of non-empty strings")
    elif kind == _CRITERIA:
        try:
            # Before json.dumps, which recurses: the size and depth limits, measured iteratively.
            rules.check_criteria_size(value)
            # What the JSONField stores; also turns YAML-only values (dates...) into an error.
            value = json.loads(json.dumps(value))
        except rules.InvalidCriteria as exc:
            entry.errors.extend(f"{entry.label}: {message}" for message in exc.messages)
            entry.failed.add(name)
            return _INVALID
        except (TypeError, ValueError) as exc:
            entry.error(name, f"must be JSON data: {exc}")
            return _INVALID
        try:
            entry.tree = rules.parse_criteria(value)
        except rules.InvalidCriteria as exc:
            # Each message already starts with its path ("criteria.of[1].course: ...").
            entry.errors.extend(f"{entry.label}: {message}" for message in exc.messages)
            entry.failed.add(name)
            return _INVALID
        return value
    return _INVALID


def _check_duplicates(parsed):
    """An error on every entry whose slug an earlier entry of the same catalog already uses."""
    first = {}
    for entry in parsed:
        slug = entry.values.get("slug")
        if slug is None:
            continue
        if slug in first:
            entry.error("slug", f"'{slug}' is already used by credentials[{first[slug]}]")
        else:
            first[slug] = entry.index


def _clean_entry(entry, stored):
    """
    Run the model's field validation (Model.full_clean without clean(), whose reference check
    only knows the stored catalog; the rest of clean() is done here, in _check_catalog_references
    and in _check_organizations) and collect its errors. Return the unsaved instance.
    """
    instance = Credential(**entry.values)
    if stored is not None:
        instance.pk, instance.uuid, instance.created = stored.pk, stored.uuid, stored.created
        instance._state.adding = False  # pylint: disable=protected-access  (the uniqueness checks skip it)
    # Fields that are missing or of the wrong type already have their error; the criteria were
    # parsed by rules.parse_criteria, whose messages say where in the tree.
    exclude = {name for name, (_, required) in ENTRY_FIELDS.items() if required and name not in entry.values}
    exclude |= entry.failed | {"criteria"}
    errors = {}
    for check in (instance.clean_fields, instance.validate_unique, instance.validate_constraints):
        try:
            check(exclude=exclude)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                known = errors.setdefault(name, [])
                known.extend(m for m in messages if m not in known)
    for name, messages in errors.items():
        for message in messages:
            choices = getattr(Credential._meta.get_field(name), "choices", None) if name in ENTRY_FIELDS else None
            if choices and "choice" in message:
                allowed = ", ".join(repr(value) for value, _ in choices if value)
                message += f" Expected one of: {allowed}" + (", or leave it out." if "" in dict(choices) else ".")
            entry.error(name, message)
    return instance


# Stands for criteria that cannot be parsed: the credential exists, what it requires is unknown.
_UNKNOWN_TREE = rules.Group(kind=rules.ALL, children=())


def _stored_trees(exclude):
    """The requirement tree of every stored credential not in ``exclude``, by slug (_UNKNOWN_TREE if invalid)."""
    trees = {}
    for credential in Credential.objects.exclude(slug__in=list(exclude)).only("slug", "criteria"):
        try:
            trees[credential.slug] = credential.requirement()
        except rules.InvalidCriteria:
            trees[credential.slug] = _UNKNOWN_TREE
    return trees


def _leaves_requiring(tree):
    """(path, slug) for every credential leaf of a tree."""
    if tree is None:
        return []
    return [(leaf.path, leaf.credential) for leaf in tree.leaves() if isinstance(leaf, rules.CredentialEarned)]


def _check_catalog_references(parsed):
    """
    Check the references of the file's criteria against the file and the stored catalog together:
    unknown credentials and self-references per leaf, then cycles over the union (the check
    rules.validate_catalog makes, reported at the leaf of a file entry that closes the cycle).
    Errors are recorded on the entries.
    """
    in_file = {}
    for entry in parsed:
        if "slug" in entry.values:
            in_file.setdefault(entry.values["slug"], entry)  # a duplicate has its error already
    graph = _stored_trees(exclude=in_file)
    known = set(graph) | set(in_file)
    for slug, entry in in_file.items():
        if entry.tree is None:
            continue
        for path, ref in _leaves_requiring(entry.tree):
            if ref == slug:
                entry.error(f"{path}.credential", f"'{slug}' requires itself")
            elif ref not in known:
                entry.error(f"{path}.credential", f"requires unknown credential '{ref}'")
    for slug, entry in in_file.items():
        graph[slug] = entry.tree or _UNKNOWN_TREE
    for cycle in rules.find_cycles(graph):
        if len(cycle) <= 2:
            continue  # a self-reference, reported above
        members = cycle[:-1]
        owners = [in_file[slug] for slug in members if slug in in_file]
        if not owners:
            continue  # a cycle among stored credentials only; the system check reports it
        owner = min(owners, key=lambda e: e.index)
        start = members.index(owner.values["slug"])
        rotated = members[start:] + members[:start]
        rotated.append(rotated[0])
        path = next(p for p, ref in _leaves_requiring(owner.tree) if ref == rotated[1])
        owner.error(f"{path}.credential", "dependency cycle " + " → ".join(rotated))
    # rules.validate_catalog over the union as well, so that whatever it rejects is rejected here
    # too; its messages have no leaf path, so they only show for entries without a finer error.
    # Errors of stored credentials outside the file are not the file's doing and do not stop it.
    try:
        rules.validate_catalog(graph)
    except ValidationError as exc:
        for slug, messages in exc.message_dict.items():
            entry = in_file.get(slug)
            if entry is not None and not entry.errors:
                for message in messages:
                    entry.error("criteria", message.removeprefix("criteria: "))


def _check_organizations(parsed, instances):
    """
    The model's organization rule (Credential.organization_problems, which clean() applies on every
    other way of saving) over the file: a required credential's organization is the file's entry
    for it, or the stored credential's. Errors are recorded on the entries.
    """
    in_file = {e.values["slug"]: e.values.get("org") for e in parsed if "slug" in e.values and "org" in e.values}
    referenced = {ref for e in parsed for _, ref in _leaves_requiring(e.tree)} - set(in_file)
    credential_orgs = dict(Credential.objects.filter(slug__in=referenced).values_list("slug", "org"))
    credential_orgs.update(in_file)
    for entry in parsed:
        instance = instances.get(entry.index)
        if instance is None or entry.tree is None or "org" not in entry.values:
            continue
        for name, messages in instance.organization_problems(entry.tree, credential_orgs).items():
            if name in entry.failed:
                continue  # a finer error is already recorded on this field
            for message in messages:
                if name == "criteria":
                    entry.errors.append(f"{entry.label}: {message}")  # each already starts with its path
                    entry.failed.add(name)
                else:
                    entry.error(name, str(message))


def _warnings(parsed, existing):
    """Things that are valid but probably not meant."""
    warnings = []
    state = {slug: c.state for slug, c in existing.items()}
    state.update(Credential.objects.filter(
        slug__in={ref for e in parsed for _, ref in _leaves_requiring(e.tree)}).values_list("slug", "state"))
    state.update({e.slug: e.values.get("state", Credential.State.DRAFT) for e in parsed})
    for entry in parsed:
        refs = sorted({ref for _, ref in _leaves_requiring(entry.tree)})
        kind = entry.values.get("stack_kind", "")
        if kind and not refs:
            warnings.append(f"{entry.label}: stack_kind: '{kind}' but the criteria require no credential")
        if entry.values.get("state", Credential.State.DRAFT) == Credential.State.ACTIVE:
            inactive = [ref for ref in refs if state.get(ref) != Credential.State.ACTIVE]
            if inactive:
                warnings.append(f"{entry.label}: state: active, but it requires credential(s) that are not "
                                f"active and so are never awarded: {', '.join(inactive)}")
    return warnings


# Fields an entry sets; everything else (uuid, created, modified, requires) is the database's own.
_COMPARED = tuple(ENTRY_FIELDS)


def _comparable(credential, name):
    """
    A field's value in a form that compares equal between an entry and the stored credential when
    they mean the same (a course key as text, ECTS credits as a Decimal).
    """
    value = getattr(credential, name)
    if name == "course_key":
        return str(value) if value else None
    if name == "ects_credits" and value is not None:
        return Decimal(value)
    return value


def _differs(candidate, stored):
    return any(_comparable(candidate, name) != _comparable(stored, name) for name in _COMPARED)


def _copy_fields(candidate, stored):
    for name in _COMPARED:
        setattr(stored, name, getattr(candidate, name))
    return stored
