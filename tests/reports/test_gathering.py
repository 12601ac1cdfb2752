"""
The raw counts behind the report (gathering.py): what the database says before suppression, in a
fixed number of aggregate queries, on one snapshot.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openedx_microcred.data import ReportCell
from openedx_microcred.models import Credential
from openedx_microcred.reports import gathering, uptake

from ..conftest import C1


def test_raw_counts_behind_the_report(seed):
    """What the database says before suppression (never shown): the complementary cells are large."""
    raws, edges = gathering.gather(gathering.report_credentials())
    raw = {r.slug: r for r in raws}
    assert (raw["gold"].enrolled, raw["gold"].not_started) == (45, 36)  # 9 started: too few to show
    assert raw["bronze"].deliveries == {"credly": (25, 12), "obf": (10, 0)}  # 30 − 25 = 5 undelivered
    assert (raw["gold"].earned, raw["gold"].durations, raw["gold"].median_days) == (4, 4, 105.0)
    assert (raw["silver"].not_started, raw["silver"].deliveries) == (3, {"credly": (18, 9)})
    assert raw["silver"].stuck == {"criteria.of[0]": 12, "criteria.of[1]": 24}
    assert (raw["ml"].enrolled, raw["ml"].not_started, raw["ml"].progressing, raw["ml"].earned) == (6, 3, 1, 2)
    assert [(e.lower, e.upper, e.converted) for e in edges] == [
        (seed["bronze"].pk, seed["silver"].pk, 18), (seed["silver"].pk, seed["gold"].pk, 4)]


def test_the_number_of_queries_does_not_grow_with_the_credentials(seed, make_credential):
    with CaptureQueriesContext(connection) as few:
        uptake.get_uptake_report()
    for i in range(6):
        make_credential(f"extra-{i}", {"type": "all", "of": [{"type": "course_passed", "course": C1},
                                                             {"type": "credential", "credential": "bronze"}]},
                        course_key=C1, stack_kind=Credential.StackKind.HORIZONTAL)
    with CaptureQueriesContext(connection) as many:
        report = uptake.get_uptake_report()
    assert len(report.credentials) == 10
    assert len(many.captured_queries) == len(few.captured_queries) <= 16


@pytest.mark.django_db(transaction=True)
def test_the_counts_are_read_on_one_snapshot_outside_any_transaction(make_credential):
    """Outside a transaction the report opens its own (REPEATABLE READ on PostgreSQL)."""
    make_credential("solo", {"type": "course_passed", "course": C1}, course_key=C1)
    report = uptake.get_uptake_report()
    assert [u.credential_slug for u in report.credentials] == ["solo"]
    assert report.credentials[0].enrolled == ReportCell(0)
