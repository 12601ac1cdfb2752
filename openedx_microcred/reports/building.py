"""
The report (pure): the figures of an uptake report from the raw counts, with suppression applied.

Suppressed figures are None in the result, so no page, chart or CSV can show them.
"""

from __future__ import annotations

from django.utils import timezone

from ..data import (
    CredentialUptake,
    LevelConversion,
    PlatformUptake,
    ReportCell,
    ReportFilters,
    RequirementUptake,
    UptakeReport,
)
from .suppression import suppress


def build_report(raws, conversions, minimum, filters=None, generated_at=None) -> UptakeReport:
    """The report's figures from the raw counts, with every cell under the minimum cohort suppressed."""
    values, implicit, identities = {}, set(), []

    def shown(key, value):
        values[key] = value
        return key

    def hidden(key, value):
        values[key] = value
        implicit.add(key)
        return key

    by_id = {raw.id: raw for raw in raws}
    for raw in raws:
        c = raw.id
        for name in ("enrolled", "not_started", "progressing", "earned", "revoked"):
            shown((name, c), getattr(raw, name))
        # enrolled = not started + started (the rest of the enrolled learners).
        started = hidden(("started", c), raw.enrolled - raw.not_started)
        identities.append((("enrolled", c), (("not_started", c), started)))
        for path, _label in raw.leaves:
            stuck = raw.stuck.get(path, 0)
            # progressing = missing this requirement + having met it.
            identities.append((("progressing", c), (
                shown(("stuck", c, path), stuck), hidden(("not_stuck", c, path), raw.progressing - stuck))))
        for platform, (delivered, accepted) in raw.deliveries.items():
            # earned = delivered to this platform + not; delivered = accepted upstream + not.
            identities.append((("earned", c), (shown(("delivered", c, platform), delivered),
                                               hidden(("undelivered", c, platform), raw.earned - delivered))))
            identities.append((("delivered", c, platform), (shown(("accepted", c, platform), accepted),
                                                            hidden(("unaccepted", c, platform), delivered - accepted))))
    for conv in conversions:
        lower, upper = by_id[conv.lower], by_id[conv.upper]
        edge = (conv.lower, conv.upper)
        # earned(lower) = holding both + lower only; earned(upper) = holding both + upper only.
        identities.append((("earned", conv.lower), (shown(("converted", *edge), conv.converted),
                                                    hidden(("lower_only", *edge), lower.earned - conv.converted))))
        identities.append((("earned", conv.upper), (("converted", *edge),
                                                    hidden(("upper_only", *edge), upper.earned - conv.converted))))

    suppressed = suppress(values, identities, minimum, implicit)

    def cell(key):
        if key in suppressed:
            return ReportCell(None, True)
        return ReportCell(values[key])

    credentials = []
    for raw in raws:
        c = raw.id
        median_hidden = 0 < raw.durations < minimum
        stuck = [RequirementUptake(path, label, cell(("stuck", c, path))) for path, label in raw.leaves]
        credentials.append(CredentialUptake(
            credential_slug=raw.slug, title=raw.title, org=raw.org, course_key=raw.course_key, state=raw.state,
            is_stack=raw.is_stack, stack_kind=raw.stack_kind,
            enrolled=cell(("enrolled", c)), not_started=cell(("not_started", c)),
            progressing=cell(("progressing", c)), earned=cell(("earned", c)), revoked=cell(("revoked", c)),
            median_days_to_earn=ReportCell(None, True) if median_hidden else ReportCell(raw.median_days),
            stuck=_stuck_order(stuck),
            deliveries=[PlatformUptake(platform, raw.platform_labels.get(platform, platform),
                                       cell(("delivered", c, platform)), cell(("accepted", c, platform)))
                        for platform in sorted(raw.deliveries)],
        ))
    levels = []
    for conv in conversions:
        lower, upper = by_id[conv.lower], by_id[conv.upper]
        base, converted = cell(("earned", conv.lower)), cell(("converted", conv.lower, conv.upper))
        if base.suppressed or converted.suppressed:
            rate = ReportCell(None, True)
        else:
            rate = ReportCell(round(100 * converted.value / base.value, 1) if base.value else None)
        levels.append(LevelConversion(
            from_slug=lower.slug, from_title=lower.title, to_slug=upper.slug, to_title=upper.title,
            vertical=conv.vertical, earned_from=base, converted=converted, rate=rate))
    report_cells = [*(c for u in credentials for c in _cells_of(u)),
                    *(c for lv in levels for c in (lv.converted, lv.rate))]
    return UptakeReport(
        min_cohort=minimum, filters=filters or ReportFilters(), generated_at=generated_at or timezone.now(),
        credentials=credentials, conversions=levels, suppressed=sum(1 for c in report_cells if c.suppressed),
    )


def _cells_of(uptake: CredentialUptake):
    """Every cell of a credential's uptake, for counting the suppressed ones."""
    yield from (uptake.enrolled, uptake.not_started, uptake.progressing, uptake.earned, uptake.revoked,
                uptake.median_days_to_earn)
    yield from (s.missing for s in uptake.stuck)
    for d in uptake.deliveries:
        yield from (d.delivered, d.accepted)


def _stuck_order(stuck):
    """
    Most missed first; suppressed ones after the rest, in criteria order, so that the order tells
    nothing about their size.
    """
    shown = sorted((s for s in stuck if not s.missing.suppressed), key=lambda s: -s.missing.value)
    return shown + [s for s in stuck if s.missing.suppressed]
