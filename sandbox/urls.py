from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve
from edx_django_utils.plugins import get_plugin_url_patterns

from sandbox.host import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.index, name="index"),
    # The demo serves uploaded badge images itself; a real LMS serves media through its storage.
    re_path(r"^media/(?P<path>.*)$", lambda request, path: serve(request, path, document_root=settings.MEDIA_ROOT)),
] + get_plugin_url_patterns("lms.djangoapp")
