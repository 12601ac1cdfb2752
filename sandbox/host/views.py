from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from .models import Course


def index(request):
    links = [("Django admin", reverse("admin:index")),
             ("Sign in as a learner", reverse("login")),
             ("My credentials", reverse("openedx_microcred:my-credentials")),
             ("My progress (JSON)", reverse("openedx_microcred:v1:my-progress"))]
    items = format_html_join("", '<li><a href="{}">{}</a></li>', ((url, label) for label, url in links))
    return HttpResponse(format_html("<!doctype html><title>openedx-microcred demo</title>"
                                    "<h1>openedx-microcred demo host</h1><ul>{}</ul>", items))


def studio_index(request):
    """The demo Studio's home: its courses, each linking to the course team's credential pages."""
    items = format_html_join("", '<li><a href="{}">{}</a></li>', (
        (reverse("openedx_microcred:studio-course", kwargs={"course_key": str(c.course_key)}), c.display_name)
        for c in Course.objects.order_by("display_name")
    ))
    return HttpResponse(format_html(
        '<!doctype html><html lang="en"><title>openedx-microcred demo Studio</title><main>'
        '<h1>openedx-microcred demo Studio</h1><p><a href="{login}">Sign in</a> as carol / carol (course team of '
        'PY101 and PY201) or olivia / olivia (all DemoX courses).</p><h2>Courses</h2><ul>{items}</ul></main></html>',
        login=reverse("login"), items=items,
    ))


def course_page(request, course_key):
    """Stands in for the LMS course pages, so that the course links of the learner pages lead somewhere."""
    course = Course.objects.filter(course_key=course_key).first() if _is_course_key(course_key) else None
    if course is None:
        raise Http404("no such course")
    return HttpResponse(format_html(
        '<!doctype html><html lang="en"><title>{name}</title><h1>{name}</h1><p><code>{key}</code></p>'
        '<p>The demo host has no course content; in Open edX this is the course.</p>'
        '<p><a href="{back}">My credentials</a></p></html>',
        name=course.display_name, key=str(course.course_key), back=reverse("openedx_microcred:my-credentials"),
    ))


def _is_course_key(value):
    try:
        CourseKey.from_string(value)
    except InvalidKeyError:
        return False
    return True
