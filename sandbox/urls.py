from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.conf import settings
from django.urls import path, re_path
from django.contrib.staticfiles.views import serve as serve_static
from django.views.static import serve
from edx_django_utils.plugins import get_plugin_url_patterns

from sandbox.host import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.index, name="index"),
    path("courses/<str:course_key>/", views.course_page, name="course"),  # stands in for the LMS course pages
    # The demo serves uploaded badge images itself; a real LMS serves media through its storage.
    # ...and the plugin's CSS and JavaScript (a real LMS collects static files to its CDN or nginx).
    re_path(r"^static/(?P<path>.*)$", lambda request, path: serve_static(request, path, insecure=True)),
    re_path(r"^media/(?P<path>.*)$", lambda request, path: serve(request, path, document_root=settings.MEDIA_ROOT)),
] + get_plugin_url_patterns("lms.djangoapp")
