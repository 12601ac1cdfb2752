"""
Fuzzing the two file readers operators feed by hand: the catalog loader (microcred_load) and the
replay parser (microcred_replay). Whatever the file holds, the loader ends in success or a
CommandError, and every non-blank line of a replayed file is counted once and, when rejected, kept.
"""

import io
import json

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openedx_microcred.catalog_files import ENTRY_FIELDS
from openedx_microcred.models import Credential, RejectedEvent

from .conftest import C1, C2
from .eventlog_lines import grade_line, passing_line, summary

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
OUTCOMES = ("applied", "unchanged", "stale", "duplicate", "ignored", "rejected")

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**6, max_value=10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from([C1, C2, "course-v1:Bad", "all", "any", "at_least", "course_passed",
                                     "course_grade", "credential", "enrolled", "a", "b"]))
keys = st.one_of(st.text(max_size=8), st.sampled_from(["type", "of", "n", "course", "min_percent", "credential",
                                                       "mode", "modes", "label"]))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=25)
entry = st.dictionaries(st.sampled_from(sorted(ENTRY_FIELDS)) | st.text(max_size=6), json_values, max_size=8)
catalogs = st.one_of(
    st.fixed_dictionaries({"credentials": st.lists(entry, max_size=4)}),
    st.dictionaries(st.text(max_size=12), json_values, max_size=3),
    json_values,
)


def _load(path, dry_run):
    """Run microcred_load on ``path``, a CommandError being the one accepted failure."""
    args = [str(path)] + (["--dry-run"] if dry_run else [])
    try:
        call_command("microcred_load", *args, stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError:
        pass  # the one way a load may fail


@pytest.mark.django_db
@FUZZ
@given(document=catalogs, as_json=st.booleans(), dry_run=st.booleans())
def test_any_catalog_structure_loads_or_is_a_command_error(tmp_path_factory, document, as_json, dry_run):
    path = tmp_path_factory.mktemp("catalog") / ("catalog.json" if as_json else "catalog.yaml")
    if as_json:
        path.write_text(json.dumps(document), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    before = Credential.objects.count()
    _load(path, dry_run)
    if dry_run:
        assert Credential.objects.count() == before


def _alias_chain(levels, width):
    """YAML whose every level repeats the previous one ``width`` times by alias: width ** levels values."""
    lines = ["l0: &l0 [lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    lines.append(f"credentials: [{{slug: s, title: T, org: O, criteria: *l{levels}}}]")
    return "\n".join(lines).encode()


@pytest.mark.django_db
@FUZZ
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         st.lists(st.sampled_from(["credentials:", "- ", "  ", "&a ", "*a ", "<<: ", "{", "}", "[",
                                                   "]", ": ", "slug: x", "!!python/object:os.system", "\n",
                                                   "!!binary", "2026-13-45", "1" * 5000, "? ", "|", ">", "'",
                                                   '"', "#", "---", "..."]),
                                  max_size=40).map(lambda parts: "".join(parts).encode()),
                         st.builds(lambda depth, opener: opener * depth, st.integers(1, 20_000),
                                   st.sampled_from([b"[", b"{a: ", b"- ", b'{"a": '])),
                         st.builds(_alias_chain, st.integers(1, 12), st.integers(1, 9))),
       suffix=st.sampled_from([".yaml", ".json"]))
def test_any_catalog_file_loads_or_is_a_command_error(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("catalog") / f"catalog{suffix}"
    path.write_bytes(content)
    _load(path, dry_run=True)


def _mutate(line, data):
    """A valid line with a slice replaced by random bytes: mostly broken, sometimes still an event."""
    raw = line.encode()
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, min(len(raw), start + 20)))
    return raw[:start] + data.draw(st.binary(max_size=12)) + raw[end:]


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_every_replayed_line_is_applied_counted_or_kept(learner, tmp_path_factory, data):
    valid = [passing_line(learner, C1, n, minutes=n, is_passing=n % 2 == 0) for n in range(1, 4)]
    valid += [grade_line(learner.pk, C2, 0.8, 10), grade_line(999, C2, 0.5, 11)]
    line = st.one_of(
        st.sampled_from(valid).map(str.encode),
        st.sampled_from(valid).flatmap(lambda text: st.just(_mutate(text, data))),
        st.binary(max_size=80),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * data.draw(st.integers(0, depth))),
    ).map(lambda raw: raw.replace(b"\n", b" "))
    lines = data.draw(st.lists(line, max_size=8))
    path = tmp_path_factory.mktemp("replay") / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    kept_before = set(RejectedEvent.objects.values_list("pk", flat=True))
    out = io.StringIO()
    call_command("microcred_replay", str(path), "--no-progress", stdout=out, stderr=io.StringIO())
    counts = summary(out.getvalue())

    non_blank = [raw for raw in lines if raw.strip(b" \t\r")]
    assert counts["read"] == len(non_blank)
    assert sum(counts[name] for name in OUTCOMES) == counts["read"]
    kept = RejectedEvent.objects.exclude(pk__in=kept_before)
    assert kept.count() == counts["rejected"]  # nothing rejected is lost
    numbered = [r.payload["line_number"] for r in kept if r.payload and "line_number" in r.payload]
    assert len(numbered) == len(set(numbered))
