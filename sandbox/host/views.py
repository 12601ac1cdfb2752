from django.http import HttpResponse
from django.urls import reverse


def index(request):
    links = [("Django admin", reverse("admin:index")),
             ("Sign in as a learner", reverse("login")),
             ("My progress (JSON)", reverse("openedx_microcred:my-progress"))]
    items = "".join(f'<li><a href="{url}">{label}</a></li>' for label, url in links)
    return HttpResponse(f"<!doctype html><title>openedx-microcred demo</title><h1>openedx-microcred demo host</h1>"
                        f"<ul>{items}</ul>")
