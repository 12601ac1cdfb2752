"""
URLs of the host playing Studio: the admin, sign-in, static and media files, and the plugins'
"cms.djangoapp" URLs (the plugin's Studio pages under /microcred/studio/).
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path
from django.views.static import serve
from edx_django_utils.plugins import get_plugin_url_patterns

from sandbox.host import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.studio_index, name="studio-index"),
    # The demo serves the plugin's CSS and JavaScript and the uploaded badge images itself; a real
    # Studio collects static files to its CDN or nginx and serves media through its storage.
    re_path(r"^static/(?P<path>.*)$", lambda request, path: serve_static(request, path, insecure=True)),
    re_path(r"^media/(?P<path>.*)$", lambda request, path: serve(request, path, document_root=settings.MEDIA_ROOT)),
] + get_plugin_url_patterns("cms.djangoapp")
