"""
The uptake report (uptake.py) on the seeded data set (conftest.py): every figure, the minimum
cohort setting and the filters.
"""

from datetime import date

from openedx_microcred.app_settings import microcred_settings
from openedx_microcred.data import ReportCell
from openedx_microcred.reports import charts, uptake

from ..conftest import C1, C2, C3
from .conftest import EXPECTED, EXPECTED_CONVERSIONS, H, N


def figures(uptake):
    """A credential's figures as plain values (None: suppressed)."""
    def v(cell):
        return H if cell.suppressed else cell.value

    return {
        "enrolled": v(uptake.enrolled), "not_started": v(uptake.not_started), "progressing": v(uptake.progressing),
        "earned": v(uptake.earned), "revoked": v(uptake.revoked), "median_days": v(uptake.median_days_to_earn),
        "stuck": [(s.path, v(s.missing)) for s in uptake.stuck],
        "deliveries": {d.platform: (v(d.delivered), v(d.accepted)) for d in uptake.deliveries},
    }


def conversions(report):
    def v(cell):
        return H if cell.suppressed else cell.value

    return [(c.from_slug, c.to_slug, c.vertical, v(c.earned_from), v(c.converted), v(c.rate))
            for c in report.conversions]


def all_cells(report):
    """Every figure cell of the report."""
    for u in report.credentials:
        yield from (u.enrolled, u.not_started, u.progressing, u.earned, u.revoked, u.median_days_to_earn)
        yield from (s.missing for s in u.stuck)
        for d in u.deliveries:
            yield from (d.delivered, d.accepted)
    for c in report.conversions:
        yield from (c.earned_from, c.converted, c.rate)


# --- The figures ---------------------------------------------------------------------------------------


def test_every_figure_of_the_seeded_report(seed):
    report = uptake.get_uptake_report()

    assert [u.credential_slug for u in report.credentials] == ["bronze", "gold", "silver", "ml"]  # org, title
    assert {u.credential_slug: figures(u) for u in report.credentials} == EXPECTED
    assert conversions(report) == EXPECTED_CONVERSIONS
    assert report.min_cohort == N
    assert report.suppressed == 16
    bronze = report.credentials[0]
    assert (bronze.title, bronze.org, bronze.course_key, bronze.is_stack, bronze.stack_kind) == (
        "Bronze", "DemoX", C1, False, "")
    assert [(s.path, s.label) for s in report.credentials[2].stuck] == [
        ("criteria.of[1]", "Pass Python Data"), ("criteria.of[0]", "Earn Bronze")]
    assert [(d.platform, d.label) for d in bronze.deliveries] == [("credly", "Credly"), ("obf", "Open Badge Factory")]


def test_a_suppressed_cell_keeps_no_number(seed):
    report = uptake.get_uptake_report()
    cells = list(all_cells(report))
    assert any(c.suppressed for c in cells)
    assert all(c.value is None for c in cells if c.suppressed)


def test_median_and_rate_with_nothing_to_measure_are_not_applicable(seed):
    """Gold earned nobody in February–March: its median and its share of silver are not hidden, just absent."""
    report = uptake.get_uptake_report(start=date(2026, 2, 1), end=date(2026, 3, 31))
    gold = next(u for u in report.credentials if u.credential_slug == "gold")
    assert gold.earned == ReportCell(0)
    assert gold.median_days_to_earn == ReportCell(None, False)
    assert charts.cell_text(gold.median_days_to_earn, charts.DAYS) == "—"


def test_the_minimum_cohort_is_a_setting(seed, settings):
    settings.MICROCRED_REPORT_MIN_COHORT = 1
    report = uptake.get_uptake_report()
    assert report.suppressed == 0
    gold = figures(next(u for u in report.credentials if u.credential_slug == "gold"))
    assert (gold["not_started"], gold["progressing"], gold["earned"], gold["median_days"]) == (36, 5, 4, 105.0)
    assert conversions(report)[1] == ("silver", "gold", True, 18, 4, 22.2)

    settings.MICROCRED_REPORT_MIN_COHORT = 19  # now silver's 18 holders are too few as well
    report = uptake.get_uptake_report()
    silver = figures(next(u for u in report.credentials if u.credential_slug == "silver"))
    assert (silver["earned"], silver["median_days"]) == (H, H)
    assert conversions(report) == [("bronze", "silver", True, 30, H, H), ("silver", "gold", True, H, H, H)]

    del settings.MICROCRED_REPORT_MIN_COHORT
    assert uptake.min_cohort() == microcred_settings.default("REPORT_MIN_COHORT") == 10


# --- Filters -------------------------------------------------------------------------------------------


def test_a_period_counts_what_happened_in_it(seed):
    report = uptake.get_uptake_report(start=date(2026, 2, 1), end=date(2026, 3, 31))
    got = {u.credential_slug: figures(u) for u in report.credentials}
    # Enrolled Feb 10: u21–u40, all started; progress changed Mar 10 (u42's on Jan 15 is out);
    # awards of Feb 4 and Mar 2; revocations of Mar 15 (u1's of Jan 20 is out); 5 × 30 and 10 × 20 days.
    # Credly: u16–u25 delivered of 15 holders (5 not: complementary), none accepted; OBF's are older.
    assert got["bronze"] == {"enrolled": 20, "not_started": 0, "progressing": 10, "earned": 15, "revoked": 10,
                             "median_days": 20.0, "stuck": [("criteria", 10)], "deliveries": {"credly": (H, 0)}}
    assert got["silver"] == EXPECTED["silver"]
    assert got["gold"] == {"enrolled": 45, "not_started": H, "progressing": H, "earned": 0, "revoked": 0,
                           "median_days": None, "stuck": [("criteria.of[0]", 0), ("criteria.of[1]", H)],
                           "deliveries": {}}
    # Bronze in the period and silver: u16–u18 (3) hold both.
    assert conversions(report) == [("bronze", "silver", True, 15, H, H), ("silver", "gold", True, 18, 0, 0.0)]
    assert report.filters.start == date(2026, 2, 1) and report.filters.end == date(2026, 3, 31)


def test_a_period_includes_both_of_its_days(seed):
    one_day = uptake.get_uptake_report(start=date(2026, 3, 20), end=date(2026, 3, 20))
    silver = next(u for u in one_day.credentials if u.credential_slug == "silver")
    assert silver.earned == ReportCell(18)
    before = uptake.get_uptake_report(end=date(2026, 3, 19))
    assert next(u for u in before.credentials if u.credential_slug == "silver").earned == ReportCell(0)


def test_filter_by_organization(seed):
    assert [u.credential_slug for u in uptake.get_uptake_report(org="OtherX").credentials] == ["ml"]
    demo = uptake.get_uptake_report(org="DemoX")
    assert [u.credential_slug for u in demo.credentials] == ["bronze", "gold", "silver"]
    assert {u.credential_slug: figures(u) for u in demo.credentials} == {
        slug: EXPECTED[slug] for slug in ("bronze", "gold", "silver")}
    # An organization's staff never see another's, whatever they ask for.
    assert uptake.get_uptake_report(orgs=["DemoX"], org="OtherX").credentials == []


def test_filter_by_course_takes_its_credentials_and_the_stacks_built_on_it(seed):
    assert [u.credential_slug for u in uptake.get_uptake_report(course_key=C3).credentials] == ["gold"]
    c2 = uptake.get_uptake_report(course_key=C2)
    assert [u.credential_slug for u in c2.credentials] == ["gold", "silver"]
    # The figures of a credential do not depend on which others are in the report.
    assert {u.credential_slug: figures(u) for u in c2.credentials} == {s: EXPECTED[s] for s in ("gold", "silver")}
    assert conversions(c2) == [EXPECTED_CONVERSIONS[1]]
    assert [u.credential_slug for u in uptake.get_uptake_report(course_key=C1).credentials] == [
        "bronze", "gold", "silver"]
