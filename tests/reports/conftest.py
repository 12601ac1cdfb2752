"""
The uptake reports' seeded data set, what its report says, and how the pages are read.

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
import io
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from lxml import html

from openedx_microcred.models import Award, Credential, Delivery, LearnerFact, Progress
from openedx_microcred.reports import csv_export
from sandbox.host.models import Course

from ..conftest import C1, C2, C3
from ..users import client_for, make_user

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
    """Progress rows of ``credential`` for the users ``numbers``, ``met_paths`` met, at ``fraction``."""
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
    """Awards of ``credential`` to the users ``numbers`` (revoked at ``revoked`` when given), by user id."""
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

    of0 = "criteria.of[0]"
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


# --- What the seeded report says -----------------------------------------------------------------------

H = None  # a suppressed figure

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


# --- Reading it on the pages ---------------------------------------------------------------------------

LMS_REPORT = "/microcred/reports/"


@pytest.fixture
def operator_page(seed):
    response = client_for(make_user("admin", is_staff=True)).get(LMS_REPORT)
    assert response.status_code == 200
    return html.fromstring(response.content)


def read_csv(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="microcred-uptake')
    return list(csv.reader(io.StringIO(response.content.decode())))


def expected_csv_rows(expected=None, expected_conversions=None, order=("bronze", "gold", "silver", "ml")):
    """The rows the CSV export should have for the figures ``expected`` and ``expected_conversions`` (EXPECTED...)."""
    expected = EXPECTED if expected is None else expected
    expected_conversions = EXPECTED_CONVERSIONS if expected_conversions is None else expected_conversions
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

    rows = [list(csv_export.CSV_HEADER)]
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
