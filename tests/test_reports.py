"""
Uptake reports (reports.py, report_views.py): every figure on a seeded data set, the minimum cohort
(primary and complementary suppression), the filters, who may read them, the pages, their SVG
charts and the CSV export — and that no suppressed number reaches any of them.

The seed (minimum cohort 10), a three-level ladder bronze → silver → gold in courses C1, C2, C3 and
one credential of another organization:

- enrolled: C1 u1–u40 (u1–u20 on Jan 5, u21–u40 on Feb 10; u41 unenrolled); C2 u1–u25 and
  u45–u49 (Mar 1); C3 u1–u12 (Apr 1); OtherX's course u50–u55.
- bronze: active awards u1–u30 (u1–u15 on Jan 25, u16–u20 on Feb 4, u21–u30 on Mar 2); revoked
  awards u31–u40 (Mar 15) and an earlier one of u1 (Jan 20); progress 0.5 for u31–u40 and 0.2
  for u42 (changed Jan 15).
- silver (requires bronze and C2): active u1–u18 (Mar 20); progress: u19–u30 hold bronze, miss C2;
  u31–u37 and u45–u49 miss both.
- gold (requires silver and C3): active u1–u4 (Apr 20); progress: u5–u9 hold silver, miss C3.
- deliveries: bronze to Credly u1–u25 delivered (u1–u12 accepted), u26–u30 failed; to OBF u1–u10
  delivered; silver to Credly u1–u18 delivered (u1–u9 accepted); one for a revoked bronze award.
"""

import csv
import os
import io
import re
from datetime import date, datetime, timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.http import urlencode
from lxml import html

from openedx_microcred import reports
from openedx_microcred.app_settings import microcred_settings
from openedx_microcred.data import ReportCell
from openedx_microcred.models import Award, Credential, Delivery, LearnerFact, Progress
from sandbox.host.models import Course, CourseAccessRole

from .conftest import C1, C2, C3

O1 = "course-v1:OtherX+ML101+2026"
N = 10


def at(month, day):
    return datetime(2026, month, day, 12, 0, tzinfo=dt_timezone.utc)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.MICROCRED_REPORT_MIN_COHORT = N
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- The seed ------------------------------------------------------------------------------------------


def _users(count):
    model = get_user_model()
    model.objects.bulk_create([model(username=f"u{i}", email=f"u{i}@example.com") for i in range(1, count + 1)])
    return {int(u.username[1:]): u for u in model.objects.filter(username__regex=r"^u[0-9]+$")}


def _enroll(users, course, numbers, when, active=True):
    LearnerFact.objects.bulk_create([
        LearnerFact(user=users[i], course_key=course, kind="enrollment", value={"mode": "audit", "is_active": active},
                    event_id=f"enroll-{course}-{i}", event_type="org.openedx.learning.course.enrollment.created.v1",
                    event_time=when)
        for i in numbers
    ])


def _progress(users, credential, numbers, fraction, met_paths=(), when=at(3, 10)):
    leaves = list(credential.requirement().leaves())
    rows = [
        Progress(user=users[i], credential=credential, fraction=fraction, met=fraction >= 1, requirements=[
            {"path": leaf.path, "requirement": leaf.to_dict(), "met": fraction >= 1 or leaf.path in met_paths,
             "fraction": 1.0 if fraction >= 1 or leaf.path in met_paths else fraction}
            for leaf in leaves
        ])
        for i in numbers
    ]
    Progress.objects.bulk_create(rows)
    Progress.objects.filter(credential=credential, user__in=[users[i] for i in numbers]).update(modified=when)


def _award(users, credential, numbers, issued, revoked=None):
    awards = []
    for i in numbers:
        if revoked is None:
            awards.append(Award.objects.create(user=users[i], credential=credential, issued_at=issued))
        else:
            awards.append(Award.objects.create(user=users[i], credential=credential, issued_at=issued,
                                               status=Award.Status.REVOKED, current=None, revoked_at=revoked))
    return {a.user_id: a for a in awards}


def _deliver(awards, users, numbers, platform, state=Delivery.State.DELIVERED, accepted=()):
    for i in numbers:
        Delivery.objects.create(award=awards[users[i].pk], account=f"{platform}-main", platform=platform,
                                state=state, next_attempt_at=at(1, 1),
                                upstream_state="accepted" if i in accepted else "pending")


@pytest.fixture
def seed(db, make_credential):
    """The data set of the module docstring; returns the credentials by slug."""
    for key, name in ((C1, "Python Basics"), (C2, "Python Data"), (C3, "Python Web"), (O1, "Machine Learning")):
        Course.objects.create(course_key=key, display_name=name)
    bronze = make_credential("bronze", {"type": "course_passed", "course": C1}, title="Bronze", course_key=C1)
    silver = make_credential("silver", {"type": "all", "of": [{"type": "credential", "credential": "bronze"},
                                                              {"type": "course_passed", "course": C2}]},
                             title="Silver", course_key=C2, stack_kind=Credential.StackKind.VERTICAL)
    gold = make_credential("gold", {"type": "all", "of": [{"type": "credential", "credential": "silver"},
                                                          {"type": "course_passed", "course": C3}]},
                           title="Gold", course_key=C3, stack_kind=Credential.StackKind.VERTICAL)
    ml = make_credential("ml", {"type": "course_passed", "course": O1}, title="ML", org="OtherX", course_key=O1)
    make_credential("draft", {"type": "course_passed", "course": C1}, title="Draft", course_key=C1,
                    state=Credential.State.DRAFT)

    users = _users(60)
    _enroll(users, C1, range(1, 21), at(1, 5))
    _enroll(users, C1, range(21, 41), at(2, 10))
    _enroll(users, C1, [41], at(1, 5), active=False)
    _enroll(users, C2, [*range(1, 26), *range(45, 50)], at(3, 1))
    _enroll(users, C3, range(1, 13), at(4, 1))
    _enroll(users, O1, range(50, 56), at(1, 5))

    bronze_awards = _award(users, bronze, range(1, 16), at(1, 25))
    bronze_awards |= _award(users, bronze, range(16, 21), at(2, 4))
    bronze_awards |= _award(users, bronze, range(21, 31), at(3, 2))
    revoked = _award(users, bronze, range(31, 41), at(2, 20), revoked=at(3, 15))
    _award(users, bronze, [1], at(1, 10), revoked=at(1, 20))
    _progress(users, bronze, range(1, 31), 1.0)
    _progress(users, bronze, range(31, 41), 0.5)
    _progress(users, bronze, [42], 0.2, when=at(1, 15))

    of0, of1 = "criteria.of[0]", "criteria.of[1]"
    silver_awards = _award(users, silver, range(1, 19), at(3, 20))
    _progress(users, silver, range(1, 19), 1.0)
    _progress(users, silver, range(19, 31), 0.5, met_paths=[of0])
    _progress(users, silver, [*range(31, 38), *range(45, 50)], 0.25)

    _award(users, gold, range(1, 5), at(4, 20))
    _progress(users, gold, range(1, 5), 1.0)
    _progress(users, gold, range(5, 10), 0.5, met_paths=[of0])

    _award(users, ml, [50, 51], at(2, 1))
    _progress(users, ml, [52], 0.5)

    _deliver(bronze_awards, users, range(1, 26), "credly", accepted=range(1, 13))
    _deliver(bronze_awards, users, range(26, 31), "credly", state=Delivery.State.RETRYING)
    _deliver(bronze_awards, users, range(1, 11), "obf")
    _deliver(silver_awards, users, range(1, 19), "credly", accepted=range(1, 10))
    _deliver(revoked, users, [31], "credly", accepted=[31])
    Delivery.objects.create(award=bronze_awards[users[1].pk], account="credly-main", platform="credly",
                            action=Delivery.Action.REVOKE, state=Delivery.State.DELIVERED, next_attempt_at=at(1, 1))
    return {c.slug: c for c in (bronze, silver, gold, ml)}


H = None  # a suppressed figure


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


# Every figure of the seeded report, unfiltered. H: suppressed.
EXPECTED = {
    "bronze": {"enrolled": 40, "not_started": 0, "progressing": 11, "earned": 30, "revoked": 11, "median_days": 20.0,
               "stuck": [("criteria", 11)],
               # Credly: 25 delivered of 30 holders; the other 5 would be earned − delivered, so the
               # delivered figure is hidden too (complementary). 12 accepted.
               "deliveries": {"credly": (H, 12), "obf": (10, 0)}},
    # Gold: 9 of 45 enrolled have started, so "not started" (36) is hidden with them (complementary).
    "gold": {"enrolled": 45, "not_started": H, "progressing": H, "earned": H, "revoked": 0, "median_days": H,
             "stuck": [("criteria.of[0]", 0), ("criteria.of[1]", H)], "deliveries": {}},
    "silver": {"enrolled": 45, "not_started": H, "progressing": 24, "earned": 18, "revoked": 0, "median_days": 74.0,
               "stuck": [("criteria.of[1]", 24), ("criteria.of[0]", 12)], "deliveries": {"credly": (18, H)}},
    "ml": {"enrolled": H, "not_started": H, "progressing": H, "earned": H, "revoked": 0, "median_days": H,
           "stuck": [("criteria", H)], "deliveries": {}},
}
EXPECTED_CONVERSIONS = [("bronze", "silver", True, 30, 18, 60.0), ("silver", "gold", True, 18, H, H)]
# The true values behind the suppressed figures above, none of which may be shown anywhere.
HIDDEN_VALUES = {"25", "36", "5", "4", "105.0", "3", "9", "6", "1", "2", "27.0", "22.2"}


def conversions(report):
    def v(cell):
        return H if cell.suppressed else cell.value

    return [(c.from_slug, c.to_slug, c.vertical, v(c.earned_from), v(c.converted), v(c.rate))
            for c in report.conversions]


def all_cells(report):
    for u in report.credentials:
        yield from (u.enrolled, u.not_started, u.progressing, u.earned, u.revoked, u.median_days_to_earn)
        yield from (s.missing for s in u.stuck)
        for d in u.deliveries:
            yield from (d.delivered, d.accepted)
    for c in report.conversions:
        yield from (c.earned_from, c.converted, c.rate)


# --- The figures -----------------------------------------------------------------------------------------


def test_every_figure_of_the_seeded_report(seed):
    report = reports.get_uptake_report()

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


def test_raw_counts_behind_the_report(seed):
    """What the database says before suppression (never shown): the complementary cells are large."""
    raws, edges = reports.gather(reports.report_credentials())
    raw = {r.slug: r for r in raws}
    assert (raw["gold"].enrolled, raw["gold"].not_started) == (45, 36)  # 9 started: too few to show
    assert raw["bronze"].deliveries == {"credly": (25, 12), "obf": (10, 0)}  # 30 − 25 = 5 undelivered
    assert (raw["gold"].earned, raw["gold"].durations, raw["gold"].median_days) == (4, 4, 105.0)
    assert (raw["silver"].not_started, raw["silver"].deliveries) == (3, {"credly": (18, 9)})
    assert raw["silver"].stuck == {"criteria.of[0]": 12, "criteria.of[1]": 24}
    assert (raw["ml"].enrolled, raw["ml"].not_started, raw["ml"].progressing, raw["ml"].earned) == (6, 3, 1, 2)
    assert [(e.lower, e.upper, e.converted) for e in edges] == [
        (seed["bronze"].pk, seed["silver"].pk, 18), (seed["silver"].pk, seed["gold"].pk, 4)]


def test_a_suppressed_cell_keeps_no_number(seed):
    report = reports.get_uptake_report()
    cells = list(all_cells(report))
    assert any(c.suppressed for c in cells)
    assert all(c.value is None for c in cells if c.suppressed)


def test_median_and_rate_with_nothing_to_measure_are_not_applicable(seed):
    """Gold earned nobody in February–March: its median and its share of silver are not hidden, just absent."""
    report = reports.get_uptake_report(start=date(2026, 2, 1), end=date(2026, 3, 31))
    gold = next(u for u in report.credentials if u.credential_slug == "gold")
    assert gold.earned == ReportCell(0)
    assert gold.median_days_to_earn == ReportCell(None, False)
    assert reports.cell_text(gold.median_days_to_earn, reports.DAYS) == "—"


def test_the_minimum_cohort_is_a_setting(seed, settings):
    settings.MICROCRED_REPORT_MIN_COHORT = 1
    report = reports.get_uptake_report()
    assert report.suppressed == 0
    gold = figures(next(u for u in report.credentials if u.credential_slug == "gold"))
    assert (gold["not_started"], gold["progressing"], gold["earned"], gold["median_days"]) == (36, 5, 4, 105.0)
    assert conversions(report)[1] == ("silver", "gold", True, 18, 4, 22.2)

    settings.MICROCRED_REPORT_MIN_COHORT = 19  # now silver's 18 holders are too few as well
    report = reports.get_uptake_report()
    silver = figures(next(u for u in report.credentials if u.credential_slug == "silver"))
    assert (silver["earned"], silver["median_days"]) == (H, H)
    assert conversions(report) == [("bronze", "silver", True, 30, H, H), ("silver", "gold", True, H, H, H)]

    del settings.MICROCRED_REPORT_MIN_COHORT
    assert reports.min_cohort() == microcred_settings.default("REPORT_MIN_COHORT") == 10


# --- Suppression, the rule on its own --------------------------------------------------------------------


def test_primary_suppression_hides_1_to_n_minus_1_and_shows_zero():
    values = {"a": 0, "b": 1, "c": 9, "d": 10}
    assert reports.suppress(values, [], 10) == {"b", "c"}


def test_complementary_suppression_in_a_sum():
    """total = a + b + c with a too small: a would be total − b − c, so the next smallest part goes too."""
    values = {"total": 50, "a": 4, "b": 30, "c": 16}
    assert reports.suppress(values, [("total", ("a", "b", "c"))], 10) == {"a", "c"}


def test_an_implicit_small_group_is_protected():
    """enrolled = not started + started, "started" never shown: when it is small, "not started" goes."""
    values = {"enrolled": 45, "not_started": 36, "started": 9}
    assert reports.suppress(values, [("enrolled", ("not_started", "started"))], 10, implicit={"started"}) == {
        "not_started"}
    values["started"] = 12
    assert reports.suppress(values, [("enrolled", ("not_started", "started"))], 10, implicit={"started"}) == set()


def test_suppression_sees_through_chains_of_identities():
    """a is hidden; T = a + b where b is never shown but b = c + d with c and d shown: T must go."""
    values = {"T": 30, "a": 5, "b": 25, "c": 15, "d": 10}
    identities = [("T", ("a", "b")), ("b", ("c", "d"))]
    assert reports.suppress(values, identities, 10, implicit={"b"}) == {"a", "T"}


def test_an_empty_implicit_group_counts_as_known():
    """
    A ladder: 20 hold the lower level, 15 the upper, all 15 of them the lower too (nobody holds the
    upper alone: 0, which a reader may know). The 5 who stop at the lower level are protected:
    hiding the conversion is not enough (it equals the upper level's holders), so that goes too.
    """
    values = {"low": 20, "up": 15, "both": 15, "low_only": 5, "up_only": 0}
    identities = [("low", ("both", "low_only")), ("up", ("both", "up_only"))]
    assert reports.suppress(values, identities, 10, implicit={"low_only", "up_only"}) == {"both", "up"}


def test_a_hidden_rate_never_reveals_its_base():
    raw = reports.RawCredential(id=1, slug="a", title="A", org="O", course_key=None, state="active",
                                stack_kind="", is_stack=False, earned=8)
    upper = reports.RawCredential(id=2, slug="b", title="B", org="O", course_key=None, state="active",
                                  stack_kind="vertical", is_stack=True, earned=0)
    report = reports.build_report([raw, upper], [reports.RawConversion(1, 2, 0, True)], 10)
    (conversion,) = report.conversions
    assert conversion.earned_from.suppressed and conversion.rate == ReportCell(None, True)
    assert conversion.converted == ReportCell(0)


# --- Filters ------------------------------------------------------------------------------------------------


def test_a_period_counts_what_happened_in_it(seed):
    report = reports.get_uptake_report(start=date(2026, 2, 1), end=date(2026, 3, 31))
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
    one_day = reports.get_uptake_report(start=date(2026, 3, 20), end=date(2026, 3, 20))
    silver = next(u for u in one_day.credentials if u.credential_slug == "silver")
    assert silver.earned == ReportCell(18)
    before = reports.get_uptake_report(end=date(2026, 3, 19))
    assert next(u for u in before.credentials if u.credential_slug == "silver").earned == ReportCell(0)


def test_filter_by_organization(seed):
    assert [u.credential_slug for u in reports.get_uptake_report(org="OtherX").credentials] == ["ml"]
    demo = reports.get_uptake_report(org="DemoX")
    assert [u.credential_slug for u in demo.credentials] == ["bronze", "gold", "silver"]
    assert {u.credential_slug: figures(u) for u in demo.credentials} == {
        slug: EXPECTED[slug] for slug in ("bronze", "gold", "silver")}
    # An organization's staff never see another's, whatever they ask for.
    assert reports.get_uptake_report(orgs=["DemoX"], org="OtherX").credentials == []


def test_filter_by_course_takes_its_credentials_and_the_stacks_built_on_it(seed):
    assert [u.credential_slug for u in reports.get_uptake_report(course_key=C3).credentials] == ["gold"]
    c2 = reports.get_uptake_report(course_key=C2)
    assert [u.credential_slug for u in c2.credentials] == ["gold", "silver"]
    # The figures of a credential do not depend on which others are in the report.
    assert {u.credential_slug: figures(u) for u in c2.credentials} == {s: EXPECTED[s] for s in ("gold", "silver")}
    assert conversions(c2) == [EXPECTED_CONVERSIONS[1]]
    assert [u.credential_slug for u in reports.get_uptake_report(course_key=C1).credentials] == [
        "bronze", "gold", "silver"]


def test_the_number_of_queries_does_not_grow_with_the_credentials(seed, make_credential):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        reports.get_uptake_report()
    for i in range(6):
        make_credential(f"extra-{i}", {"type": "all", "of": [{"type": "course_passed", "course": C1},
                                                              {"type": "credential", "credential": "bronze"}]},
                        course_key=C1, stack_kind=Credential.StackKind.HORIZONTAL)
    with CaptureQueriesContext(connection) as many:
        report = reports.get_uptake_report()
    assert len(report.credentials) == 10
    assert len(many.captured_queries) == len(few.captured_queries) <= 16


# --- Who may read them -------------------------------------------------------------------------------------

LMS_REPORT = "/microcred/reports/"


def _user(username, *roles, **fields):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw", **fields)
    for org, course_key, role in roles:
        CourseAccessRole.objects.create(user=user, org=org, course_key=course_key, role=role)
    return user


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def studio_report(course_key):
    return f"/microcred/studio/course/{course_key}/reports/"


@pytest.fixture
def studio(settings):
    settings.ROOT_URLCONF = "sandbox.cms_urls"


def test_lms_report_needs_sign_in(seed):
    response = _client().get(LMS_REPORT)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("roles", [(), (("DemoX", C1, "staff"),), (("DemoX", C1, "instructor"),)])
def test_lms_report_is_not_for_learners_or_course_teams(seed, roles):
    response = _client(_user("someone", *roles)).get(LMS_REPORT)
    assert response.status_code == 403
    assert "Studio" in response.content.decode()
    assert _client(_user("other", *roles)).get(LMS_REPORT + "?format=csv").status_code == 403


def test_lms_report_for_an_organizations_staff_covers_its_organization(seed):
    client = _client(_user("orgstaff", ("DemoX", None, "staff")))
    page = client.get(LMS_REPORT)
    assert page.status_code == 200
    assert sorted(_credential_rows(page)) == ["bronze", "gold", "silver"]
    assert client.get(LMS_REPORT + "?org=OtherX").status_code == 400  # not a choice they have
    assert client.get(LMS_REPORT + "?org=DemoX").status_code == 200


def test_lms_report_for_global_staff_covers_everything(seed):
    client = _client(_user("admin", is_staff=True))
    assert sorted(_credential_rows(client.get(LMS_REPORT))) == ["bronze", "gold", "ml", "silver"]
    assert _credential_rows(client.get(LMS_REPORT + "?org=OtherX")) == ["ml"]
    assert _credential_rows(client.get(LMS_REPORT + "?" + urlencode({"course": C3}))) == ["gold"]


def test_studio_report_needs_sign_in(seed, studio):
    response = _client().get(studio_report(C1))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_studio_report_is_for_the_course_team(seed, studio):
    assert _client(_user("learner")).get(studio_report(C1)).status_code == 403
    other = _client(_user("other", ("DemoX", C2, "staff")))
    assert other.get(studio_report(C1)).status_code == 403
    assert other.get(studio_report(C1) + "?format=csv").status_code == 403
    assert other.get(studio_report("not-a-course")).status_code == 400
    team = _client(_user("team", ("DemoX", C1, "instructor")))
    assert sorted(_credential_rows(team.get(studio_report(C1)))) == ["bronze", "gold", "silver"]
    assert _credential_rows(other.get(studio_report(C2))) == ["gold", "silver"]


def test_studio_course_page_links_to_its_report(seed, studio):
    team = _client(_user("team", ("DemoX", C1, "staff")))
    page = html.fromstring(team.get(f"/microcred/studio/course/{C1}/").content)
    assert page.xpath(f'//a[@href="{studio_report(C1)}"]')


@pytest.mark.parametrize("query", ["start=2026-13-01", "start=2026-03-02&end=2026-03-01", "course=nope"])
def test_invalid_filters_are_explained(seed, query):
    response = _client(_user("admin", is_staff=True)).get(f"{LMS_REPORT}?{query}")
    assert response.status_code == 400
    page = html.fromstring(response.content)
    assert page.xpath('//*[contains(@class, "field-error")]')
    assert not page.xpath("//*[@data-figure]")


# --- The page, its charts and its CSV -----------------------------------------------------------------------


def _credential_rows(response):
    assert response.status_code == 200, response.content[:300]
    return html.fromstring(response.content).xpath('//table[@id="summary-table"]/tbody/tr/@data-credential')


def _text(value, unit="count"):
    if value is H:
        return "hidden"
    if value is None:
        return "—"
    if unit == "days":
        return f"{value:.1f} days"
    if unit == "percent":
        return f"{value:.1f} %"
    return str(value)


def expected_page_figures(expected=EXPECTED, expected_conversions=EXPECTED_CONVERSIONS):
    """data-figure → text, for the tables of the page."""
    shown = {}
    for slug, f in expected.items():
        for name in ("enrolled", "not_started", "progressing", "earned", "revoked"):
            shown[f"{slug}:{name}"] = _text(f[name])
        shown[f"{slug}:median_days_to_earn"] = _text(f["median_days"], "days")
        for path, value in f["stuck"]:
            shown[f"{slug}:missing:{path}"] = _text(value)
        for platform, (delivered, accepted) in f["deliveries"].items():
            shown[f"{slug}:delivered:{platform}"] = _text(delivered)
            shown[f"{slug}:accepted:{platform}"] = _text(accepted)
    for low, up, _vertical, base, converted, rate in expected_conversions:
        shown[f"{low}>{up}:earned_from"] = _text(base)
        shown[f"{low}>{up}:converted"] = _text(converted)
        shown[f"{low}>{up}:rate"] = _text(rate, "percent")
    return shown


@pytest.fixture
def operator_page(seed):
    response = _client(_user("admin", is_staff=True)).get(LMS_REPORT)
    assert response.status_code == 200
    return html.fromstring(response.content)


def test_the_page_shows_every_figure(operator_page):
    cells = operator_page.xpath("//td[@data-figure]")
    got = {cell.get("data-figure"): cell.text_content().strip() for cell in cells}
    assert got == expected_page_figures()
    for cell in cells:
        assert ("suppressed" in (cell.get("class") or "")) == (cell.text_content().strip() == "hidden")
    assert operator_page.xpath('//table[@id="summary-table"]/caption')
    assert operator_page.xpath('//table[@id="conversions-table"]/caption')
    assert "fewer than 10 learners" in operator_page.xpath('string(//p[@id="privacy-note"])')
    # Stuck requirements: the most missed first, a hidden one last.
    gold = operator_page.xpath('//section[@data-credential="gold"]//table[@class="stuck"]//td/@data-figure')
    assert gold == ["gold:missing:criteria.of[0]", "gold:missing:criteria.of[1]"]


def test_the_charts_are_accessible_svg(operator_page):
    charts = operator_page.xpath("//svg")
    assert len(charts) == 5  # one funnel per credential, one for the conversions
    for svg in charts:
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.xpath(f'./title[@id="{title_id}"]')[0].text
        assert svg.xpath(f'./desc[@id="{desc_id}"]')[0].text
        assert svg.getparent().tag == "figure" and svg.getparent().xpath("./figcaption")
    bronze = operator_page.xpath('//section[@data-credential="bronze"]//svg')[0]
    assert bronze.xpath("./title")[0].text == "Uptake of Bronze"
    assert bronze.xpath("./desc")[0].text == "Enrolled: 40; Progressing: 11; Earned: 30; Revoked: 11"
    widths = {g.get("data-figure"): g.xpath('./rect[@class="bar"]/@width') for g in bronze.xpath("./g")}
    assert widths == {"bronze:enrolled": ["340.0"], "bronze:progressing": ["93.5"], "bronze:earned": ["255.0"],
                      "bronze:revoked": ["93.5"]}
    gold = operator_page.xpath('//section[@data-credential="gold"]//svg')[0]
    assert gold.xpath("./desc")[0].text == "Enrolled: 45; Progressing: hidden; Earned: hidden; Revoked: 0"
    bars = {g.get("data-figure"): (g.xpath('./rect[@class="bar"]'), g.xpath("string(./text[2])"))
            for g in gold.xpath("./g")}
    assert bars["gold:progressing"] == ([], "hidden") and bars["gold:earned"] == ([], "hidden")
    assert bars["gold:revoked"] == ([], "0") and bars["gold:enrolled"][1] == "45"
    conversion = operator_page.xpath('//svg[.//g[@data-figure="bronze>silver:rate"]]')[0]
    rates = {g.get("data-figure"): (g.xpath('./rect[@class="bar"]/@width'), g.xpath("string(./text[2])"))
             for g in conversion.xpath("./g")}
    assert rates == {"bronze>silver:rate": (["204.0"], "60.0 %"), "silver>gold:rate": ([], "hidden")}


def test_no_suppressed_number_is_rendered_anywhere(operator_page):
    """Not in a table cell, a chart's text or its description, nor as a bar's length."""
    texts = [t.text_content() for t in operator_page.xpath("//td | //svg//text | //svg/desc")]
    numbers = {n for text in texts for n in re.findall(r"\d+(?:\.\d+)?", text)}
    assert numbers and not numbers & HIDDEN_VALUES, numbers & HIDDEN_VALUES
    for g in operator_page.xpath("//svg/g"):
        if g.xpath("string(./text[2])") == "hidden":
            assert not g.xpath('./rect[@class="bar"]')


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="microcred-uptake')
    return list(csv.reader(io.StringIO(response.content.decode())))


def expected_csv_rows(expected=EXPECTED, expected_conversions=EXPECTED_CONVERSIONS,
                      order=("bronze", "gold", "silver", "ml")):
    credentials = {"bronze": ("DemoX", C1, "Bronze"), "silver": ("DemoX", C2, "Silver"),
                   "gold": ("DemoX", C3, "Gold"), "ml": ("OtherX", O1, "ML")}
    labels = {("silver", "criteria.of[0]"): "Earn Bronze", ("silver", "criteria.of[1]"): "Pass Python Data",
              ("gold", "criteria.of[0]"): "Earn Silver", ("gold", "criteria.of[1]"): "Pass Python Web",
              ("bronze", "criteria"): "Pass Python Basics", ("ml", "criteria"): "Pass Machine Learning"}

    def row(slug, figure, value, detail="", unit="count"):
        org, course, title = credentials[slug]
        if value is H or value is None:
            text = ""
        else:
            text = f"{value:.1f}" if unit != "count" else str(value)
        return [org, course, slug, title, figure, detail, text, "true" if value is H else "false", str(N)]

    rows = [list(reports.CSV_HEADER)]
    for slug in order:
        f = expected[slug]
        rows += [row(slug, name, f[name]) for name in ("enrolled", "not_started", "progressing", "earned", "revoked")]
        rows.append(row(slug, "median_days_to_earn", f["median_days"], unit="days"))
        rows += [row(slug, "missing_requirement", v, f"{path}: {labels[slug, path]}") for path, v in f["stuck"]]
        for platform, (delivered, accepted) in f["deliveries"].items():
            rows += [row(slug, "delivered", delivered, platform), row(slug, "accepted_upstream", accepted, platform)]
    for low, up, _vertical, _base, converted, rate in expected_conversions:
        rows += [row(low, "converted_to", converted, up), row(low, "conversion_rate_percent", rate, up, "percent")]
    return rows


def test_csv_export_has_every_figure_and_the_same_suppression(seed):
    rows = _csv(_client(_user("admin", is_staff=True)).get(LMS_REPORT + "?format=csv"))
    assert rows == expected_csv_rows()
    hidden_rows = [row for row in rows[1:] if row[7] == "true"]
    assert len(hidden_rows) == 16 and all(row[6] == "" for row in hidden_rows)


def test_csv_export_follows_the_filters(seed):
    client = _client(_user("admin", is_staff=True))
    rows = _csv(client.get(LMS_REPORT + "?" + urlencode({"format": "csv", "course": C2})))
    assert rows == expected_csv_rows(order=("gold", "silver"), expected_conversions=EXPECTED_CONVERSIONS[1:])


def test_studio_report_page_and_csv(seed, studio):
    team = _client(_user("team", ("DemoX", C2, "staff")))
    response = team.get(studio_report(C2))
    page = html.fromstring(response.content)
    got = {cell.get("data-figure"): cell.text_content().strip() for cell in page.xpath("//td[@data-figure]")}
    expected = expected_page_figures({s: EXPECTED[s] for s in ("gold", "silver")}, EXPECTED_CONVERSIONS[1:])
    assert got == expected
    assert page.xpath('//a[@href="/microcred/studio/course/' + C2 + '/"]')  # back to the course's credentials
    assert not page.xpath('//select[@name="org"]') and page.xpath('//input[@name="start"][@type="date"]')
    csv_link = page.xpath('//a[contains(@href, "format=csv")]/@href')[0]
    rows = _csv(team.get(csv_link))
    assert rows == expected_csv_rows(order=("gold", "silver"), expected_conversions=EXPECTED_CONVERSIONS[1:])
    period = team.get(studio_report(C2) + "?start=2026-02-01&end=2026-03-31&format=csv")
    assert ["DemoX", C3, "gold", "Gold", "earned", "", "0", "false", "10"] in _csv(period)


def test_csv_never_writes_a_formula(seed):
    Credential.objects.filter(slug="bronze").update(title='=HYPERLINK("http://evil.example","x")')
    rows = _csv(_client(_user("admin", is_staff=True)).get(LMS_REPORT + "?format=csv"))
    assert {row[3] for row in rows if row[2] == "bronze"} == {"'=HYPERLINK(\"http://evil.example\",\"x\")"}


@pytest.mark.django_db(transaction=True)
def test_the_counts_are_read_on_one_snapshot_outside_any_transaction(make_credential):
    """Outside a transaction the report opens its own (REPEATABLE READ on PostgreSQL)."""
    make_credential("solo", {"type": "course_passed", "course": C1}, course_key=C1)
    report = reports.get_uptake_report()
    assert [u.credential_slug for u in report.credentials] == ["solo"]
    assert report.credentials[0].enrolled == ReportCell(0)


# --- Every word is translatable ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_pseudo_locale(tmp_path_factory):
    """
    A pseudo-translation (tests/test_i18n.py) of what the code marks *now*: extracted afresh, so
    that this checks the marking of the report pages whatever the state of the committed catalog
    (test_i18n checks that the catalog is up to date).
    """
    import shutil

    from django.core.management import call_command

    from .test_i18n import PACKAGE, PSEUDO, pseudo_catalog, read_po, write_mo

    if shutil.which("xgettext") is None or shutil.which("msguniq") is None:
        pytest.skip("GNU gettext is not installed: cannot extract the strings")
    root = tmp_path_factory.mktemp("report-i18n")
    copy = root / "openedx_microcred"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.po", "*.mo"))
    (copy / "conf" / "locale").mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=["en"], domain="django", no_wrap=True, no_obsolete=True, verbosity=0)
    finally:
        os.chdir(here)
    target = root / "locale" / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    write_mo(pseudo_catalog(read_po(copy / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po")),
             target / "django.mo")
    return root / "locale"


@pytest.fixture
def in_pseudo(settings, fresh_pseudo_locale):
    from django.utils import translation

    from .test_i18n import use_pseudo_language

    use_pseudo_language(settings, fresh_pseudo_locale)
    yield
    translation.deactivate()


def test_the_report_pages_are_translatable(seed, in_pseudo, settings):
    from .test_i18n import PSEUDO, assert_translated

    def get(client, url):
        return client.get(url, HTTP_ACCEPT_LANGUAGE=PSEUDO)

    # Data the pages show as they are: requirement words come from the catalog, the rest is data.
    admin = _client(_user("admin", is_staff=True))
    tree = assert_translated(get(admin, LMS_REPORT))
    assert tree.xpath("//svg/title")[0].text != "Uptake of Bronze"  # the charts' words are translated too
    assert_translated(get(admin, LMS_REPORT + "?start=2026-02-01&end=2026-01-01"))
    assert_translated(get(_client(_user("learner")), LMS_REPORT))
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    team = _client(_user("team", ("DemoX", C2, "staff")))
    assert_translated(get(team, studio_report(C2)))
    assert_translated(get(team, studio_report(C1)))  # 403
    assert_translated(get(team, f"/microcred/studio/course/{C2}/"))


def _determined_by_brute_force(unknown, identities):
    """The unknowns fixed by the identities: e_k in the row space of the dense matrix (rank test)."""
    from fractions import Fraction

    columns = sorted(unknown)

    def rank(rows):
        rows = [list(r) for r in rows]
        rank_ = 0
        for col in range(len(columns)):
            pivot = next((i for i in range(rank_, len(rows)) if rows[i][col] != 0), None)
            if pivot is None:
                continue
            rows[rank_], rows[pivot] = rows[pivot], rows[rank_]
            for i in range(len(rows)):
                if i != rank_ and rows[i][col] != 0:
                    factor = Fraction(rows[i][col], 1) / rows[rank_][col]
                    rows[i] = [x - factor * y for x, y in zip(rows[i], rows[rank_])]
            rank_ += 1
        return rank_

    matrix = []
    for total, parts in identities:
        row = [0] * len(columns)
        for key, sign in ((total, 1), *((part, -1) for part in parts)):
            if key in unknown:
                row[columns.index(key)] += sign
        matrix.append(row)
    base = rank(matrix)
    return {key for i, key in enumerate(columns)
            if rank(matrix + [[1 if j == i else 0 for j in range(len(columns))]]) == base}


def test_the_sparse_solver_agrees_with_brute_force():
    """``reports._determined`` against a dense rank test, on 400 random systems of identities."""
    import random

    for seed_ in range(400):
        rng = random.Random(seed_)
        keys = [f"k{i}" for i in range(rng.randint(3, 9))]
        identities = []
        for _ in range(rng.randint(1, 5)):
            total, *parts = rng.sample(keys, rng.randint(2, min(4, len(keys))))
            identities.append((total, tuple(parts)))
        unknown = set(rng.sample(keys, rng.randint(1, len(keys))))
        assert reports._determined(unknown, identities) == _determined_by_brute_force(unknown, identities), (
            seed_, identities, unknown)


def test_no_protected_cell_can_be_worked_out_after_suppression():
    """On 300 random tables of sums: every small cell is hidden, and nothing hidden is recoverable."""
    import random

    for seed_ in range(300):
        rng = random.Random(seed_)
        keys = [f"k{i}" for i in range(rng.randint(3, 10))]
        identities, values, implicit = [], {}, set()
        for _ in range(rng.randint(1, 4)):
            parts = tuple(f"{key}.{len(identities)}" for key in rng.sample(keys, rng.randint(2, 3)))
            for part in parts:
                values[part] = rng.choice([0, rng.randint(1, 9), rng.randint(10, 40)])
                if rng.random() < 0.3:
                    implicit.add(part)
            total = f"total{len(identities)}"
            values[total] = sum(values[part] for part in parts)
            identities.append((total, parts))
        # Chain some sums: a total is a part of the next one.
        for (total, _parts), (next_total, next_parts) in zip(identities, identities[1:]):
            if rng.random() < 0.5:
                values[next_total] += values[total]
                identities[identities.index((next_total, next_parts))] = (next_total, (*next_parts, total))
        hidden = reports.suppress(values, identities, N, implicit)
        small = {key for key, value in values.items() if 0 < value < N}
        assert small - implicit <= hidden, seed_
        unknown = hidden | {key for key in implicit if values[key] != 0}
        protected = hidden | (small & implicit)
        assert not _determined_by_brute_force(unknown, identities) & protected, (seed_, identities, values, hidden)
