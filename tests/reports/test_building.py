"""The report's figures from raw counts (building.py), without a database."""

from openedx_microcred.data import ReportCell
from openedx_microcred.reports import building, gathering


def test_a_hidden_rate_never_reveals_its_base():
    raw = gathering.RawCredential(id=1, slug="a", title="A", org="O", course_key=None, state="active",
                                  stack_kind="", is_stack=False, earned=8)
    upper = gathering.RawCredential(id=2, slug="b", title="B", org="O", course_key=None, state="active",
                                    stack_kind="vertical", is_stack=True, earned=0)
    report = building.build_report([raw, upper], [gathering.RawConversion(1, 2, 0, True)], 10)
    (conversion,) = report.conversions
    assert conversion.earned_from.suppressed and conversion.rate == ReportCell(None, True)
    assert conversion.converted == ReportCell(0)
