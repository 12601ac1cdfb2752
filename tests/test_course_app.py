"""
The "Microcredentials" course app: declared under edx-platform's ``openedx.course_app`` entry point,
found the way Studio's CourseAppsPluginManager finds course apps, and linking to the Studio page.
"""

import configparser
import importlib
import sys
import types
from abc import ABC
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve
from edx_django_utils.plugins import PluginManager
from opaque_keys.edx.keys import CourseKey

from openedx_microcred import course_app
from openedx_microcred.course_app import MicrocredentialsCourseApp
from openedx_microcred.studio import views as studio_views
from sandbox.host.models import CourseAccessRole

from .conftest import C1, C2

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "openedx.course_app"  # edx-platform's COURSE_APPS_PLUGIN_NAMESPACE
ENTRY_POINT = "openedx_microcred.course_app:MicrocredentialsCourseApp"


class CourseAppsPluginManager(PluginManager):
    """As edx-platform's openedx.core.djangoapps.course_apps.plugins.CourseAppsPluginManager."""

    NAMESPACE = NAMESPACE


def test_setup_cfg_declares_the_course_app_entry_point():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = dict(
        line.split("=", 1) for line in config["options.entry_points"][NAMESPACE].strip().splitlines()
    )
    assert {name.strip(): value.strip() for name, value in declared.items()} == {"microcredentials": ENTRY_POINT}


def test_the_installed_entry_point_loads_the_app():
    """Needs the package installed from the current setup.cfg (pip install -e .)."""
    [ours] = [ep for ep in entry_points(group=NAMESPACE) if ep.value == ENTRY_POINT]
    assert ours.load() is MicrocredentialsCourseApp
    # Studio's plugin manager keys apps by entry point name, which must be the app id.
    assert ours.name == MicrocredentialsCourseApp.app_id
    assert CourseAppsPluginManager.get_plugin(MicrocredentialsCourseApp.app_id) is MicrocredentialsCourseApp


def test_class_attributes_and_switches():
    key = CourseKey.from_string(C1)
    assert MicrocredentialsCourseApp.app_id == "microcredentials"
    assert str(MicrocredentialsCourseApp.name) == "Microcredentials"
    assert "Open Badges 3.0" in str(MicrocredentialsCourseApp.description)
    assert MicrocredentialsCourseApp.documentation_links == {}
    assert MicrocredentialsCourseApp.is_available(key) is True
    assert MicrocredentialsCourseApp.is_enabled(key) is True
    with pytest.raises(ValueError, match="cannot be enabled or disabled"):
        MicrocredentialsCourseApp.set_enabled(key, False, None)


def test_only_the_course_team_may_configure_it(db, settings):
    key = CourseKey.from_string(C1)
    staff = get_user_model().objects.create_user("staff")
    CourseAccessRole.objects.create(user=staff, org="DemoX", course_key=C1, role="staff")
    learner = get_user_model().objects.create_user("learner")
    assert MicrocredentialsCourseApp.get_allowed_operations(key, staff) == {"enable": False, "configure": True}
    assert MicrocredentialsCourseApp.get_allowed_operations(CourseKey.from_string(C2), staff)["configure"] is False
    assert MicrocredentialsCourseApp.get_allowed_operations(key, learner)["configure"] is False
    assert MicrocredentialsCourseApp.get_allowed_operations(key) == {"enable": False, "configure": True}


def test_legacy_link_is_the_studio_course_page(settings, db, client):
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    key = CourseKey.from_string(C1)
    link = MicrocredentialsCourseApp.legacy_link(key)
    assert link == "/microcred/studio/course/course-v1:DemoX+PY101+2026/"
    match = resolve(link)
    assert match.func.__name__ == studio_views.course_credentials.__name__
    assert match.kwargs == {"course_key": C1}
    staff = get_user_model().objects.create_user("staff")
    CourseAccessRole.objects.create(user=staff, org="DemoX", course_key=C1, role="staff")
    client.force_login(staff)
    assert client.get(link).status_code == 200


def test_it_subclasses_edx_platforms_course_app_when_there_is_one():
    """Inside edx-platform the app is a real CourseApp; a stand-in module plays the platform here."""

    class CourseApp(ABC):  # the shape of openedx.core.djangoapps.course_apps.plugins.CourseApp
        app_id = name = description = ""

    names = ["openedx", "openedx.core", "openedx.core.djangoapps", "openedx.core.djangoapps.course_apps",
             "openedx.core.djangoapps.course_apps.plugins"]
    saved = {name: sys.modules.get(name) for name in names}
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    sys.modules[names[-1]].CourseApp = CourseApp
    try:
        platform_version = importlib.reload(course_app).MicrocredentialsCourseApp
        assert issubclass(platform_version, CourseApp)
        assert platform_version.app_id == "microcredentials"
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        importlib.reload(course_app)
    assert course_app.MicrocredentialsCourseApp.__mro__[1] is object
