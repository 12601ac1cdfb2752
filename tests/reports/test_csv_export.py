"""The report as CSV (csv_export.py), downloaded from the pages: every figure, the same suppression, no formula."""

from django.utils.http import urlencode

from openedx_microcred.models import Credential

from ..conftest import C2
from ..users import client_for, make_user
from .conftest import EXPECTED_CONVERSIONS, LMS_REPORT, expected_csv_rows, read_csv


def test_csv_export_has_every_figure_and_the_same_suppression(seed):
    rows = read_csv(client_for(make_user("admin", is_staff=True)).get(LMS_REPORT + "?format=csv"))
    assert rows == expected_csv_rows()
    hidden_rows = [row for row in rows[1:] if row[7] == "true"]
    assert len(hidden_rows) == 16 and all(row[6] == "" for row in hidden_rows)


def test_csv_export_follows_the_filters(seed):
    client = client_for(make_user("admin", is_staff=True))
    rows = read_csv(client.get(LMS_REPORT + "?" + urlencode({"format": "csv", "course": C2})))
    assert rows == expected_csv_rows(order=("gold", "silver"), expected_conversions=EXPECTED_CONVERSIONS[1:])


def test_csv_never_writes_a_formula(seed):
    Credential.objects.filter(slug="bronze").update(title='=HYPERLINK("http://evil.example","x")')
    rows = read_csv(client_for(make_user("admin", is_staff=True)).get(LMS_REPORT + "?format=csv"))
    assert {row[3] for row in rows if row[2] == "bronze"} == {"'=HYPERLINK(\"http://evil.example\",\"x\")"}
