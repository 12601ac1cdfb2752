"""Uptake reports (being split into one module per concept; this commit only moves the file)."""

from .gathering import (  # noqa: F401
    CSV_HEADER,
    DAYS,
    DEFAULT_MIN_COHORT,
    COUNT,
    PERCENT,
    RawConversion,
    RawCredential,
    _determined,
    build_report,
    cell_text,
    conversion_chart,
    csv_rows,
    funnel_chart,
    gather,
    get_uptake_report,
    min_cohort,
    report_credentials,
    suppress,
)
