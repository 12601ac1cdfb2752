"""The microcred_load command: configuration as code for the credential catalog."""

import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from openedx_microcred.catalog_files import InvalidCatalog, LoadReport, load_catalog
from openedx_microcred.models import CourseDependency, Credential

DEMO_CATALOG = Path(__file__).resolve().parent.parent / "sandbox" / "demo" / "catalog.yaml"

PY101, PY201, PY301, WEB101 = (f"course-v1:DemoX+{code}+2026" for code in ("PY101", "PY201", "PY301", "WEB101"))

pytestmark = pytest.mark.django_db


def entry(slug, criteria, **fields):
    data = {"slug": slug, "title": slug.replace("-", " ").title(), "org": "DemoX", "state": "active",
            "criteria": criteria}
    data.update(fields)
    return data


def passed(course):
    return {"type": "course_passed", "course": course}


def needs(*slugs):
    if len(slugs) == 1:
        return {"type": "credential", "credential": slugs[0]}
    return {"type": "all", "of": [{"type": "credential", "credential": s} for s in slugs]}


def base_entries():
    """A small catalog: two course credentials, a stack over them and a stack over that."""
    return [
        entry("py-basics", passed(PY101), course_key=PY101, learning_outcomes=["Write Python"],
              workload_hours=50, ects_credits=2, eqf_level=4, assessment_type="written-examination",
              participation_form="online", quality_assurance="Board review", identity_verified=False),
        entry("py-data", {"type": "all", "of": [
            {"type": "course_grade", "course": PY201, "min_percent": 70},
            {"type": "course_completion", "course": PY201, "min_percent": 80}]}, course_key=PY201,
              ects_credits=2.5),
        entry("py-silver", needs("py-basics", "py-data"), stack_kind="vertical"),
        entry("py-gold", needs("py-silver", "py-ml"), stack_kind="vertical"),
        entry("py-ml", {"type": "certificate", "course": PY301, "mode": "verified"}, course_key=PY301,
              identity_verified=True, validity_days=730),
    ]


@pytest.fixture
def write(tmp_path):
    """write(entries or document, suffix) → path of a catalog file with that content."""
    counter = iter(range(1000))

    def write_file(content, suffix=".yaml"):
        document = {"credentials": content} if isinstance(content, list) else content
        path = tmp_path / f"catalog{next(counter)}{suffix}"
        if suffix == ".json":
            path.write_text(json.dumps(document), encoding="utf-8")
        elif isinstance(document, str):
            path.write_text(document, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    return write_file


def load(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("microcred_load", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot():
    """Everything a load can change, to compare before and after."""
    through = Credential.requires.through
    return {
        "credentials": sorted(Credential.objects.values_list(
            "pk", "uuid", "slug", "title", "org", "course_key", "state", "criteria", "revocation_policy",
            "stack_kind", "validity_days", "learning_outcomes", "workload_hours", "ects_credits", "eqf_level",
            "assessment_type", "participation_form", "quality_assurance", "identity_verified", "modified")),
        "edges": sorted(through.objects.values_list("from_credential_id", "to_credential_id")),
        "deps": sorted((c, str(k)) for c, k in CourseDependency.objects.values_list("credential_id", "course_key")),
    }


def deps(slug):
    return {str(k) for k in CourseDependency.objects.filter(credential__slug=slug).values_list("course_key", flat=True)}


# --- Creating, updating, idempotency ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_creates_every_credential_with_its_fields(write, suffix):
    out, _ = load(write(base_entries(), suffix))
    assert "created 5, updated 0, unchanged 0" in out
    assert set(Credential.objects.values_list("slug", flat=True)) == {"py-basics", "py-data", "py-silver",
                                                                      "py-gold", "py-ml"}
    basics = Credential.objects.get(slug="py-basics")
    assert (basics.title, basics.org, str(basics.course_key), basics.state) == ("Py Basics", "DemoX", PY101, "active")
    assert basics.criteria == passed(PY101)
    assert basics.learning_outcomes == ["Write Python"]
    assert (basics.workload_hours, basics.ects_credits, basics.eqf_level) == (50, Decimal("2"), 4)
    assert (basics.assessment_type, basics.participation_form, basics.quality_assurance) == (
        "written-examination", "online", "Board review")
    assert Credential.objects.get(slug="py-data").ects_credits == Decimal("2.5")
    ml = Credential.objects.get(slug="py-ml")
    assert ml.identity_verified and ml.validity_days == 730
    silver = Credential.objects.get(slug="py-silver")
    assert silver.stack_kind == "vertical" and silver.course_key is None
    assert set(silver.requires.values_list("slug", flat=True)) == {"py-basics", "py-data"}
    assert silver.is_stack


def test_dependency_index_covers_stacks_transitively(write):
    load(write(base_entries()))
    assert deps("py-basics") == {PY101}
    assert deps("py-data") == {PY201}
    assert deps("py-silver") == {PY101, PY201}
    assert deps("py-gold") == {PY101, PY201, PY301}
    assert set(Credential.objects.get(slug="py-gold").requires.values_list("slug", flat=True)) == {
        "py-silver", "py-ml"}


def test_second_load_is_all_unchanged_and_saves_nothing(write):
    path = write(base_entries())
    load(path)
    before = snapshot()
    out, _ = load(path)
    assert "created 0, updated 0, unchanged 5" in out
    assert snapshot() == before  # `modified` included: nothing was re-saved


def test_yaml_and_json_of_the_same_catalog_are_the_same(write):
    load(write(base_entries(), ".yaml"))
    out, _ = load(write(base_entries(), ".json"))
    assert "created 0, updated 0, unchanged 5" in out


def test_an_edit_updates_only_that_credential(write):
    entries = base_entries()
    load(write(entries))
    before = {c.slug: (c.pk, c.uuid, c.created, c.modified) for c in Credential.objects.all()}
    entries[1]["title"] = "Data Analysis with Python"
    out, _ = load(write(entries))
    assert "created 0, updated 1, unchanged 4" in out
    assert "updated: py-data" in out
    after = {c.slug: (c.pk, c.uuid, c.created, c.modified) for c in Credential.objects.all()}
    for slug in ("py-basics", "py-silver", "py-gold", "py-ml"):
        assert after[slug] == before[slug]
    assert after["py-data"][:3] == before["py-data"][:3]  # same row, uuid and creation time
    assert after["py-data"][3] > before["py-data"][3]
    assert Credential.objects.get(slug="py-data").title == "Data Analysis with Python"


def test_changing_a_childs_courses_reindexes_the_stacks_above_it(write):
    entries = base_entries()
    load(write(entries))
    entries[0]["criteria"] = passed(WEB101)
    out, _ = load(write(entries))
    assert "created 0, updated 1, unchanged 4" in out
    assert deps("py-basics") == {WEB101}
    assert deps("py-silver") == {WEB101, PY201}
    assert deps("py-gold") == {WEB101, PY201, PY301}


def test_restacking_moves_the_requires_edges(write):
    entries = base_entries()
    load(write(entries))
    entries[2]["criteria"] = needs("py-basics")
    load(write(entries))
    assert set(Credential.objects.get(slug="py-silver").requires.values_list("slug", flat=True)) == {"py-basics"}
    assert deps("py-silver") == {PY101}
    assert deps("py-gold") == {PY101, PY301}


def test_an_omitted_optional_field_is_reset_to_its_default(write):
    entries = base_entries()
    load(write(entries))
    del entries[0]["quality_assurance"]
    del entries[0]["workload_hours"]
    entries[0]["ects_credits"] = None  # null is the same as omitted
    out, _ = load(write(entries))
    assert "updated 1" in out
    basics = Credential.objects.get(slug="py-basics")
    assert (basics.quality_assurance, basics.workload_hours, basics.ects_credits) == ("", None, None)


def test_state_defaults_to_draft(write):
    data = entry("py-basics", passed(PY101))
    del data["state"]
    load(write([data]))
    assert Credential.objects.get(slug="py-basics").state == Credential.State.DRAFT


def test_an_entry_may_require_a_credential_that_is_only_in_the_database(write, make_credential):
    make_credential("py-basics", passed(PY101))
    out, _ = load(write([entry("py-stack", needs("py-basics"), stack_kind="vertical")]))
    assert "created 1, updated 0, unchanged 0" in out
    assert deps("py-stack") == {PY101}


def test_existing_credentials_not_in_the_file_are_left_alone(write, make_credential):
    make_credential("other", passed(PY301))
    load(write(base_entries()[:2]))
    assert Credential.objects.filter(slug="other").exists()


def test_labels_in_criteria_are_kept(write):
    criteria = {"type": "all", "label": "Both parts", "of": [
        {"type": "course_passed", "course": PY101, "label": "The course"},
        {"type": "course_grade", "course": PY201, "min_percent": 70}]}
    load(write([entry("labelled", criteria)]))
    assert Credential.objects.get(slug="labelled").criteria == criteria


def test_load_catalog_returns_a_report(write):
    report = load_catalog(base_entries())
    assert isinstance(report, LoadReport)
    assert report.created == ["py-basics", "py-data", "py-silver", "py-gold", "py-ml"]
    assert (report.updated, report.unchanged) == ([], [])
    report = load_catalog({"credentials": base_entries()})
    assert report.unchanged == ["py-basics", "py-data", "py-silver", "py-gold", "py-ml"]


def test_warnings_for_likely_mistakes(write):
    entries = [entry("draft-child", passed(PY101), state="draft"),
               entry("active-stack", needs("draft-child")),
               entry("not-a-stack", passed(PY201), stack_kind="horizontal")]
    _, err = load(write(entries))
    assert "credentials[1] (active-stack): state: active, but it requires" in err and "draft-child" in err
    assert "credentials[2] (not-a-stack): stack_kind: 'horizontal' but the criteria require no credential" in err
    assert Credential.objects.count() == 3


# --- Dry run ------------------------------------------------------------------------------------


def test_dry_run_writes_nothing(write):
    path = write(base_entries())
    out, _ = load(path, "--dry-run")
    assert "Dry run, nothing written" in out and "created 5, updated 0, unchanged 0" in out
    assert "would be created: py-gold" in out
    assert Credential.objects.count() == 0 and CourseDependency.objects.count() == 0


def test_dry_run_reports_updates_without_making_them(write):
    entries = base_entries()
    load(write(entries))
    before = snapshot()
    entries[0]["title"] = "Changed"
    entries.append(entry("new-one", passed(WEB101)))
    out, _ = load(write(entries), "--dry-run")
    assert "created 1, updated 1, unchanged 4" in out
    assert "would be updated: py-basics" in out and "would be created: new-one" in out
    assert snapshot() == before


def test_dry_run_still_validates(write):
    with pytest.raises(CommandError, match="requires unknown credential 'nope'"):
        load(write([entry("a", needs("nope"))]), "--dry-run")


# --- Errors: every one is listed, named by entry and field, and nothing is written ---------------

# (entries after the valid base catalog, expected messages). Each bad entry comes after valid new
# ones, and some of them also edit a stored credential, so a partial write would show.
BAD_CATALOGS = {
    "unknown key": (
        [entry("new-ok", passed(WEB101)), entry("new-bad", passed(WEB101), colour="blue")],
        ["credentials[6] (new-bad): colour: unknown field"]),
    "missing required fields": (
        [entry("new-ok", passed(WEB101)), {"slug": "new-bad", "criteria": passed(WEB101)}],
        ["credentials[6] (new-bad): title: is required", "credentials[6] (new-bad): org: is required"]),
    "missing slug and criteria": (
        [{"title": "No slug", "org": "DemoX"}],
        ["credentials[5]: slug: is required", "credentials[5]: criteria: is required"]),
    "entry not a mapping": (
        ["just a string"],
        ["credentials[5]: entry: must be a mapping of credential fields, not str"]),
    "wrong types": (
        [entry("new-bad", passed(WEB101), title=12, workload_hours="ten", identity_verified="yes please",
               learning_outcomes="one outcome", ects_credits="2", eqf_level=True)],
        ["credentials[5] (new-bad): title: must be a string, not 12",
         "credentials[5] (new-bad): workload_hours: must be a whole number, not 'ten'",
         "credentials[5] (new-bad): identity_verified: must be true or false, not 'yes please'",
         "credentials[5] (new-bad): learning_outcomes: must be a list of non-empty strings",
         "credentials[5] (new-bad): ects_credits: must be a number, not '2'",
         "credentials[5] (new-bad): eqf_level: must be a whole number, not True"]),
    "bad choices": (
        [entry("new-bad", passed(WEB101), state="published", revocation_policy="never", stack_kind="diagonal")],
        ["credentials[5] (new-bad): state: Value 'published' is not a valid choice. "
         "Expected one of: 'draft', 'active', 'archived'.",
         "credentials[5] (new-bad): revocation_policy: Value 'never' is not a valid choice.",
         "credentials[5] (new-bad): stack_kind: Value 'diagonal' is not a valid choice."]),
    "model field validation": (
        [entry("Not a slug!", passed(WEB101), title="x" * 300, org="", ects_credits=2.55, validity_days=-1,
               eqf_level=9)],
        ["credentials[5] (Not a slug!): slug: Enter a valid",
         "credentials[5] (Not a slug!): title: Ensure this value has at most 255 characters",
         "credentials[5] (Not a slug!): org: This field cannot be blank.",
         "credentials[5] (Not a slug!): ects_credits: Ensure that there are no more than 1 decimal place.",
         "credentials[5] (Not a slug!): validity_days: An award is valid for at least one day.",
         "credentials[5] (Not a slug!): eqf_level: The EQF level is a number from 1 to 8."]),
    "duplicate slug": (
        [entry("new-ok", passed(WEB101)), entry("new-ok", passed(PY101))],
        ["credentials[6] (new-ok): slug: 'new-ok' is already used by credentials[5]"]),
    "slug repeated later in the file": (
        [entry("py-basics", passed(WEB101))],
        ["credentials[5] (py-basics): slug: 'py-basics' is already used by credentials[0]"]),
    "invalid criteria": (
        [entry("new-bad", {"type": "all", "of": [passed(PY101),
                                                 {"type": "course_grade", "course": PY201, "min_percent": 170}]}),
         entry("new-bad2", {"type": "at_least", "n": 3, "of": [passed(PY101)]}),
         entry("new-bad3", {"type": "sometimes"})],
        ["credentials[5] (new-bad): criteria.of[1].min_percent: must be a number from 0 to 100, not 170",
         "credentials[6] (new-bad2): criteria.n: must be a whole number from 1 to 1",
         "credentials[7] (new-bad3): criteria.type: unknown requirement type 'sometimes'"]),
    "bad course keys": (
        [entry("new-bad", {"type": "any", "of": [passed(PY101), passed("not-a-course")]}, course_key="nor this")],
        ["credentials[5] (new-bad): criteria.of[1].course: 'not-a-course' is not a valid course key",
         "credentials[5] (new-bad): course_key: 'nor this' is not a valid course key"]),
    "unknown reference": (
        [entry("new-ok", passed(WEB101)),
         entry("python-gold", {"type": "all", "of": [needs("new-ok"), needs("x")]})],
        ["credentials[6] (python-gold): criteria.of[1].credential: requires unknown credential 'x'"]),
    "self reference": (
        [entry("loop", {"type": "any", "of": [passed(PY101), needs("loop")]})],
        ["credentials[5] (loop): criteria.of[1].credential: 'loop' requires itself"]),
    "cycle within the file": (
        [entry("cyc-a", needs("cyc-b")), entry("cyc-b", needs("cyc-c")), entry("cyc-c", needs("cyc-a"))],
        ["credentials[5] (cyc-a): criteria.credential: dependency cycle cyc-a → cyc-b → cyc-c → cyc-a"]),
}


@pytest.mark.parametrize("case", BAD_CATALOGS)
def test_errors_name_entry_and_field_and_write_nothing(write, case):
    entries = base_entries()
    load(write(entries))
    before = snapshot()
    extra, expected = BAD_CATALOGS[case]
    entries[0]["title"] = "An edit that must not be applied"
    with pytest.raises(CommandError) as info:
        load(write(entries + extra))
    message = str(info.value)
    for text in expected:
        assert text in message
    assert "nothing was loaded" in message
    assert snapshot() == before


def test_errors_on_an_empty_database_write_nothing(write):
    entries = base_entries() + [entry("bad", needs("missing"))]
    with pytest.raises(CommandError, match=r"credentials\[5\] \(bad\): criteria.credential: requires unknown"):
        load(write(entries))
    assert Credential.objects.count() == 0 and CourseDependency.objects.count() == 0
    assert Credential.requires.through.objects.count() == 0


def test_a_cycle_through_the_database_is_found(write):
    load(write(base_entries()))
    before = snapshot()
    # py-basics (stored, and in this file) now requires py-gold, which requires it through py-silver.
    with pytest.raises(CommandError) as info:
        load(write([entry("py-basics", {"type": "all", "of": [passed(PY101), needs("py-gold")]})]))
    assert ("credentials[0] (py-basics): criteria.of[1].credential: dependency cycle "
            "py-basics → py-gold → py-silver → py-basics") in str(info.value)
    assert snapshot() == before


def test_a_cycle_through_credentials_only_in_the_database_is_found(write, make_credential):
    make_credential("stored-a", passed(PY101))
    make_credential("stored-b", needs("stored-a"))
    before = snapshot()
    # stored-a is redefined to require new-c, which requires stored-b, which requires stored-a.
    with pytest.raises(CommandError) as info:
        load(write([entry("new-c", needs("stored-b")), entry("stored-a", needs("new-c"))]))
    assert "credentials[0] (new-c): criteria.credential: dependency cycle new-c → stored-b → stored-a → new-c" in str(
        info.value)
    assert snapshot() == before


def test_every_error_is_listed_at_once(write):
    entries = [entry("ok", passed(PY101)),
               entry("bad-1", passed(PY101), colour="blue"),
               entry("bad-2", needs("nowhere"), eqf_level=12),
               {"slug": "bad-3", "org": "DemoX", "criteria": {"type": "course_passed"}}]
    with pytest.raises(CommandError) as info:
        load(write(entries))
    message = str(info.value)
    assert "5 error(s)" in message
    assert message.index("credentials[1] (bad-1): colour") < message.index("credentials[2] (bad-2)")
    assert "credentials[2] (bad-2): eqf_level: The EQF level is a number from 1 to 8." in message
    assert "credentials[2] (bad-2): criteria.credential: requires unknown credential 'nowhere'" in message
    assert "credentials[3] (bad-3): title: is required" in message
    assert "credentials[3] (bad-3): criteria.course: a course key is required" in message
    assert Credential.objects.count() == 0


def test_invalid_catalog_from_the_api_lists_the_errors():
    with pytest.raises(InvalidCatalog) as info:
        load_catalog([entry("a", needs("b")), entry("a", passed(PY101))])
    assert info.value.messages == [
        "credentials[0] (a): criteria.credential: requires unknown credential 'b'",
        "credentials[1] (a): slug: 'a' is already used by credentials[0]",
    ]


# --- File-level errors -------------------------------------------------------------------------


def test_unsupported_extension(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text("credentials = []", encoding="utf-8")
    with pytest.raises(CommandError, match=r"unsupported file type '\.toml'"):
        load(path)


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        load(tmp_path / "nope.yaml")


@pytest.mark.parametrize("text, suffix, expected", [
    ("credentials: [", ".yaml", "not valid YAML"),
    ('{"credentials": [}', ".json", "not valid JSON"),
    ("credentials:\n  - slug: a\n    slug: b\n", ".yaml", "found duplicate key 'slug'"),
    ('{"credentials": [{"slug": "a", "slug": "b"}]}', ".json", "duplicate key 'slug'"),
    ("- slug: a\n", ".yaml", "the top level must be a mapping with a 'credentials' list, not list"),
    ("", ".yaml", "the top level must be a mapping with a 'credentials' list, not NoneType"),
    ("credential: []\n", ".yaml", "credential: unknown top-level key"),
    ("credentials: {}\n", ".yaml", "credentials: must be a list of credentials, not dict"),
])
def test_unreadable_files(tmp_path, text, suffix, expected):
    path = tmp_path / f"catalog{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as info:
        load(path)
    assert expected in str(info.value)
    assert Credential.objects.count() == 0


def test_yaml_anchors_and_merge_keys_work(write):
    text = """
credentials:
  - &python
    slug: a
    title: A
    org: DemoX
    state: active
    criteria: {type: course_passed, course: "course-v1:DemoX+PY101+2026"}
  - <<: *python
    slug: b
    title: B
"""
    out, _ = load(write(text))
    assert "created 2" in out
    assert Credential.objects.get(slug="b").criteria == passed(PY101)


def test_yaml_values_that_are_not_json_are_refused(write):
    text = ('credentials:\n  - {slug: a, title: A, org: DemoX, criteria: '
            '{type: course_passed, course: "course-v1:DemoX+PY101+2026", label: 2026-01-01}}\n')
    with pytest.raises(CommandError, match=r"credentials\[0\] \(a\): criteria: must be JSON data"):
        load(write(text))


def test_empty_catalog_is_fine(write):
    out, _ = load(write([]))
    assert "created 0, updated 0, unchanged 0" in out


# --- The demo catalog ---------------------------------------------------------------------------


def test_the_demo_catalog_loads():
    out, err = load(DEMO_CATALOG)
    assert "created 8, updated 0, unchanged 0" in out
    assert err == ""  # no warnings
    assert Credential.objects.filter(state=Credential.State.ACTIVE).count() == 8
    assert set(Credential.objects.filter(stack_kind="vertical").values_list("slug", flat=True)) == {
        "python-bronze", "python-silver", "python-gold"}
    assert Credential.objects.get(slug="full-stack-starter").stack_kind == "horizontal"
    assert deps("python-gold") == {PY101, PY201, PY301}
    assert deps("full-stack-starter") == {PY101, PY201, WEB101}
    for credential in Credential.objects.all():
        assert credential.learning_outcomes and credential.workload_hours and credential.ects_credits
        assert 1 <= credential.eqf_level <= 8
        assert credential.assessment_type and credential.participation_form and credential.quality_assurance
    out, _ = load(DEMO_CATALOG)
    assert "created 0, updated 0, unchanged 8" in out


def test_the_readme_example_loads(db, tmp_path):
    """The catalog example in README.md is a working file."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", readme, re.S).group(1)
    path = tmp_path / "readme.yaml"
    path.write_text(example)
    call_command("microcred_load", str(path), stdout=io.StringIO())
    assert set(Credential.objects.values_list("slug", flat=True)) == {"python-foundations", "python-silver"}


def test_platform_targets_load_and_are_checked(db, tmp_path, settings):
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly": {"backend": "credly", "organizations": ["X"]}}
    good = tmp_path / "good.yaml"
    good.write_text(
        "credentials:\n"
        "  - {slug: a, title: A, org: X, state: active,\n"
        "     criteria: {type: course_passed, course: 'course-v1:X+A+1'},\n"
        "     platform_targets: [{account: credly, template_id: t-1}]}\n")
    call_command("microcred_load", str(good), stdout=io.StringIO())
    assert Credential.objects.get(slug="a").platform_targets == [{"account": "credly", "template_id": "t-1"}]
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("{account: credly, template_id: t-1}", "{template_id: t-1}"))
    with pytest.raises(CommandError, match=r"credentials\[0\] \(a\): platform_targets: platform_targets\[0\]"):
        call_command("microcred_load", str(bad), stdout=io.StringIO())
