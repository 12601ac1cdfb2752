"""
The uptake report pages (the ``reports`` package computes them):

* ``/microcred/reports/`` in the LMS, for operators: global staff see every organization, an
  organization's staff (``permissions.can_manage_org``) the credentials of their organizations.
  Filters: organization, course (its credentials and the stacks built on it), period.
* ``/microcred/studio/course/<course_key>/reports/`` in Studio, for the course team
  (``permissions.can_manage_course``): the course's credentials and the stacks that build on it.
  Filter: period.

Both answer ``?format=csv`` with the same figures and the same suppression. Charts are SVG drawn on
the server, each with a title, a description and the table it comes from; no script is needed.
"""

import csv

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import permissions, reports
from .models import Credential
from .platform import get_platform
from .studio.forms import AccessibleFormMixin
from .studio.views import course_label, managed_course, studio_view

TEMPLATES = "openedx_microcred/reports/"


class ReportFilterForm(AccessibleFormMixin, forms.Form):
    """The report's filters, read from the query string."""

    org = forms.ChoiceField(label=gettext_lazy("Organization"), required=False)
    course = forms.CharField(
        label=gettext_lazy("Course"), required=False, max_length=255,
        help_text=gettext_lazy("A course key such as course-v1:Org+Course+Run: its credentials and the stacks "
                               "built on it."))
    start = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=gettext_lazy("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, data, *, orgs=None, scoped=True):
        super().__init__(data)
        if scoped:
            self.fields["org"].choices = [("", _("All organizations"))] + [(org, org) for org in orgs or ()]
        else:  # a course's own report: the course is given, only the period can change
            del self.fields["org"]
            del self.fields["course"]

    def clean_course(self):
        """The course key typed, None when the field is empty; a course key that does not parse is an error."""
        text = self.cleaned_data.get("course", "").strip()
        if not text:
            return None
        try:
            return CourseKey.from_string(text)
        except InvalidKeyError as exc:
            raise forms.ValidationError(_("“%(key)s” is not a valid course key.") % {"key": text}) from exc

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end of the period is before its start."))
        return data


def _report_orgs(user):
    """The organizations whose reports ``user`` may read: None for all (global staff), else a list."""
    if permissions.is_global_staff(user):
        return None
    orgs = sorted(set(Credential.objects.exclude(state=Credential.State.DRAFT).values_list("org", flat=True)))
    return [org for org in orgs if permissions.can_manage_org(user, org)]


def _all_orgs():
    return sorted(set(Credential.objects.exclude(state=Credential.State.DRAFT).values_list("org", flat=True)))


def _csv_response(report, name):
    """The report as a CSV attachment named ``name`` and today's date, marked for no cache to keep."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y-%m-%d}.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    for row in reports.csv_rows(report):
        writer.writerow(row)
    return response


def _csv_url(request):
    query = {key: value for key, value in request.GET.items() if key != "format"}
    query["format"] = "csv"
    return f"{request.path}?{urlencode(query)}"


def _figure(key, label, cell, unit=reports.COUNT):
    return {"key": key, "label": label, "text": reports.cell_text(cell, unit), "suppressed": cell.suppressed}


def _credential_rows(report):
    """What the template shows of each credential: texts only, so no number of a suppressed cell reaches it."""
    rows = []
    for i, u in enumerate(report.credentials):
        slug = u.credential_slug
        rows.append({
            "uptake": u,
            "anchor": f"credential-{i}",
            "figures": [
                _figure(f"{slug}:enrolled", _("Enrolled"), u.enrolled),
                _figure(f"{slug}:not_started", _("Enrolled, not started"), u.not_started),
                _figure(f"{slug}:progressing", _("Progressing"), u.progressing),
                _figure(f"{slug}:earned", _("Earned"), u.earned),
                _figure(f"{slug}:revoked", _("Revoked"), u.revoked),
                _figure(f"{slug}:median_days_to_earn", _("Median time to earn"), u.median_days_to_earn, reports.DAYS),
            ],
            "stuck": [dict(_figure(f"{slug}:missing:{s.path}", s.label, s.missing), path=s.path) for s in u.stuck],
            "deliveries": [{
                "label": d.label,
                "delivered": _figure(f"{slug}:delivered:{d.platform}", d.label, d.delivered),
                "accepted": _figure(f"{slug}:accepted:{d.platform}", d.label, d.accepted),
            } for d in u.deliveries],
            "chart": reports.funnel_chart(u, f"chart-{i}"),
        })
    return rows


def _conversion_rows(report):
    return [{
        "conversion": c,
        "earned_from": _figure(f"{c.from_slug}>{c.to_slug}:earned_from", c.from_title, c.earned_from),
        "converted": _figure(f"{c.from_slug}>{c.to_slug}:converted", c.to_title, c.converted),
        "rate": _figure(f"{c.from_slug}>{c.to_slug}:rate", c.to_title, c.rate, reports.PERCENT),
    } for c in report.conversions]


def _context(request, report, form, **extra):
    """
    A report page's template context: the form (validated, so that its errors show), and the report's
    rows and conversion chart when there is a report (None when the filters are not valid).
    """
    form.is_valid()
    form.describe_fields()
    context = {"form": form, "report": report, "min_cohort": reports.min_cohort(), "csv_url": _csv_url(request)}
    if report is not None:
        context.update(rows=_credential_rows(report), conversions=_conversion_rows(report),
                       conversion_chart=reports.conversion_chart(report, "chart-conversions"),
                       min_cohort=report.min_cohort)
    context.update(extra)
    return context


@require_GET
@login_required
def operator_report(request):
    """Uptake of every credential and stack of the organizations the user is staff of (all for global staff)."""
    orgs = _report_orgs(request.user)
    if orgs is not None and not orgs:
        return render(request, TEMPLATES + "error.html", {
            "status": 403,
            "message": _("Uptake reports are for global staff and for an organization's staff. A course team "
                         "finds its course's report in Studio."),
        }, status=403)
    form = ReportFilterForm(request.GET, orgs=_all_orgs() if orgs is None else orgs)
    if not form.is_valid():
        return render(request, TEMPLATES + "operator.html", _context(request, None, form), status=400)
    data = form.cleaned_data
    report = reports.get_uptake_report(orgs=orgs, org=data.get("org") or None, course_key=data.get("course"),
                                       start=data.get("start"), end=data.get("end"))
    if request.GET.get("format") == "csv":
        return _csv_response(report, "microcred-uptake")
    return render(request, TEMPLATES + "operator.html", _context(request, report, form))


@require_GET
@login_required
@studio_view
def course_report(request, course_key):
    """Uptake of a course's credentials and of the stacks built on the course, for its team."""
    key = managed_course(request, course_key)
    form = ReportFilterForm(request.GET, scoped=False)
    names = get_platform().course_names([str(key)])
    extra = {
        "course_key": key,
        "course_label": course_label(key, names),
        "course_url": reverse("openedx_microcred:studio-course", kwargs={"course_key": str(key)}),
    }
    if not form.is_valid():
        return render(request, TEMPLATES + "course.html", _context(request, None, form, **extra), status=400)
    report = reports.get_uptake_report(course_key=key, start=form.cleaned_data.get("start"),
                                       end=form.cleaned_data.get("end"))
    if request.GET.get("format") == "csv":
        return _csv_response(report, f"microcred-uptake-{key.org}-{key.course}-{key.run}")
    return render(request, TEMPLATES + "course.html", _context(request, report, form, **extra))
