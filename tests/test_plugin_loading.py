"""The plugin loads the way edx-platform loads it: entry points, plugin_app, edx-django-utils."""

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils.functional import Promise
from edx_django_utils.plugins import get_plugin_apps

from openedx_microcred.checks import check_jwt_keys, check_shared_platform_targets
from openedx_microcred.models import Credential
from openedx_microcred.retirement import retire_on_platform_signal
from openedx_microcred.settings import common, production
from sandbox.celery_app import app
from sandbox.platform_modules import retirement_signals

ROOT = Path(__file__).resolve().parent.parent


def test_entry_points_for_lms_and_studio():
    for group in ("lms.djangoapp", "cms.djangoapp"):
        [ours] = [ep for ep in entry_points(group=group) if ep.name == "openedx_microcred"]
        assert ours.value == "openedx_microcred.apps:MicrocredConfig"


def test_host_got_the_app_only_through_get_plugin_apps():
    assert "openedx_microcred.apps.MicrocredConfig" in get_plugin_apps("lms.djangoapp")
    assert "openedx_microcred.apps.MicrocredConfig" in settings.INSTALLED_APPS
    assert apps.get_app_config("openedx_microcred").plugin_app


def test_plugin_settings_were_added():
    assert settings.MICROCRED_CELERY_QUEUE is None
    # The host's own value wins over the plugin's default.
    assert settings.MICROCRED_PLATFORM_ADAPTER == "sandbox.host.adapter.StandalonePlatformAdapter"


def test_urls_come_from_get_plugin_url_patterns():
    assert reverse("openedx_microcred:v1:my-progress") == "/microcred/api/v1/me/progress/"


def test_production_settings_read_env_tokens():
    fake = SimpleNamespace(ENV_TOKENS={"MICROCRED_CELERY_QUEUE": "edx.lms.core.high"})
    production.plugin_settings(fake)
    assert fake.MICROCRED_CELERY_QUEUE == "edx.lms.core.high"
    assert fake.MICROCRED_PLATFORM_ADAPTER.endswith("EdxPlatformAdapter")


def test_templates_and_migrations_ship_inside_the_package():
    package = ROOT / "openedx_microcred"
    assert (package / "migrations" / "0001_initial.py").exists()
    config = (ROOT / "setup.cfg").read_text()
    assert "templates/openedx_microcred/*.html" in config


def _in_studio_host(code, **env):
    """Run ``code`` in a fresh Studio host process (sandbox.cms_settings): the JSON its last line prints."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"DJANGO_SETTINGS_MODULE": "sandbox.cms_settings", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
             **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_studio_host_loads_the_plugin_with_only_the_enrolment_receivers():
    loaded = _in_studio_host(
        "import json; from django.conf import settings; from django.urls import reverse;"
        "from openedx_events.learning import signals;"
        "print(json.dumps({'apps': settings.INSTALLED_APPS,"
        "'url': reverse('openedx_microcred:studio-course', kwargs={'course_key': 'course-v1:DemoX+PY101+2026'}),"
        "'receivers': {name: len(getattr(signals, name).receivers) for name in dir(signals) if name.isupper()"
        " and hasattr(getattr(signals, name), 'receivers')}, 'setting': settings.MICROCRED_CELERY_QUEUE}))"
    )
    assert "openedx_microcred.apps.MicrocredConfig" in loaded["apps"]
    assert loaded["url"] == "/microcred/studio/course/course-v1:DemoX+PY101+2026/"  # the Studio pages
    connected = {name for name, count in loaded["receivers"].items() if count}
    # Grades and certificates are LMS matters; Studio enrols course creators.
    assert connected == {"COURSE_ENROLLMENT_CREATED", "COURSE_ENROLLMENT_CHANGED", "COURSE_UNENROLLMENT_COMPLETED"}
    assert loaded["setting"] is None


STUDIO_CREATES_A_COURSE = """
import json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Award, Credential, LearnerFact
from tests import events

call_command("migrate", verbosity=0)
save_credential(Credential(slug="author", title="Course author", org="DemoX", state=Credential.State.ACTIVE,
                           criteria={"type": "enrolled", "course": "course-v1:DemoX+PY101+2026"}))
creator = get_user_model().objects.create_user("author", "author@example.com", "pw")
# What Studio's course creation sends when it enrols the creator in the new course.
outcome = events.enrollment(creator, "course-v1:DemoX+PY101+2026", mode="honor")
print(json.dumps({"outcome": outcome,
                  "facts": list(LearnerFact.objects.filter(user=creator).values_list("kind", flat=True)),
                  "awards": list(Award.objects.filter(user=creator).values_list("credential__slug", flat=True))}))
"""


def test_an_enrolment_studio_makes_is_recorded_and_evaluated(tmp_path):
    """Studio enrols a course's creator in its own process: the fact is recorded there, not lost."""
    done = _in_studio_host(STUDIO_CREATES_A_COURSE, SANDBOX_SQLITE=str(tmp_path / "studio.sqlite3"),
                           SANDBOX_MEDIA_ROOT=str(tmp_path / "media"))
    assert done == {"outcome": "applied", "facts": ["enrollment"], "awards": ["author"]}


def test_migrations_are_complete(db):
    call_command("makemigrations", "openedx_microcred", "--check", "--dry-run", verbosity=0)


def test_system_check_passes(db):
    call_command("check")


def test_system_check_reports_a_broken_catalog(db, make_credential):
    """Criteria edited behind the plugin's back (SQL, a bad migration) are reported at start-up checks."""
    make_credential("a", {"type": "course_passed", "course": "course-v1:DemoX+PY101+2026"})
    make_credential("b", {"type": "credential", "credential": "a"})
    Credential.objects.filter(slug="a").update(criteria={"type": "credential", "credential": "b"})
    Credential.objects.filter(slug="b").update(criteria={"type": "all", "of": [
        {"type": "credential", "credential": "a"}, {"type": "course_grade", "course": "nope", "min_percent": 5}]})
    with pytest.raises(SystemCheckError) as caught:
        call_command("check", databases=["default"])
    message = str(caught.value)
    assert "openedx_microcred.E001" in message and "criteria.of[1].course: 'nope' is not a valid course key" in message


def test_a_missing_jwt_public_key_set_is_reported(settings):
    assert check_jwt_keys() == []  # the host configures one
    settings.JWT_AUTH = dict(settings.JWT_AUTH, JWT_PUBLIC_SIGNING_JWK_SET="")
    assert [w.id for w in check_jwt_keys()] == ["openedx_microcred.W001"]


def test_the_sweeps_are_scheduled_even_where_the_platform_defines_no_beat_schedule():
    bare = SimpleNamespace()
    common.plugin_settings(bare)
    assert set(bare.CELERYBEAT_SCHEDULE) == set(common.BEAT_SCHEDULE)
    existing = SimpleNamespace(CELERYBEAT_SCHEDULE={"platform.task": {"task": "x", "schedule": 60}})
    common.plugin_settings(existing)
    assert "platform.task" in existing.CELERYBEAT_SCHEDULE
    assert set(common.BEAT_SCHEDULE) <= set(existing.CELERYBEAT_SCHEDULE)


def test_system_check_warns_of_credentials_sharing_one_badge_upstream(db, make_credential, settings):
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly": {"backend": "credly", "organizations": ["DemoX"]},
                                            "accredible": {"backend": "accredible", "organizations": ["*"]}}

    course = {"type": "course_passed", "course": "course-v1:DemoX+PY101+2026"}
    make_credential("a", course, platform_targets=[{"account": "credly", "template_id": "t-1"}])
    make_credential("b", course, platform_targets=[{"account": "credly", "template_id": "t-2"}])
    make_credential("c", course, platform_targets=[{"account": "accredible", "group_id": 7}])
    assert check_shared_platform_targets() == []
    make_credential("d", course, platform_targets=[{"template_id": "t-1", "account": "credly"}])
    warnings = check_shared_platform_targets()
    assert [w.id for w in warnings] == ["openedx_microcred.W002"]
    assert "'a', 'd'" in warnings[0].msg and '"template_id": "t-1"' in warnings[0].msg
    Credential.objects.filter(slug="d").update(state=Credential.State.ARCHIVED)  # archived: no longer earned
    assert check_shared_platform_targets() == []


# --- The host is shaped like edx-platform where it matters to the plugin -----------------------


def test_the_host_has_the_platforms_lazy_name_features_and_celery_queues():
    assert isinstance(settings.PLATFORM_NAME, Promise)  # gettext_lazy, as in lms/envs/common.py
    assert isinstance(settings.FEATURES, dict) and settings.FEATURES["ENABLE_OPENBADGES"] is False
    assert app.conf.task_default_queue == "edx.lms.core.default"
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


def test_the_retirement_signals_of_the_platform_are_connected_at_start_up():
    for name in ("USER_RETIRE_LMS_MISC", "USER_RETIRE_LMS_CRITICAL"):
        receivers = [ref() for _key, ref, *_ in getattr(retirement_signals, name).receivers]
        assert retire_on_platform_signal in receivers, name
    assert not retirement_signals.USER_RETIRE_MAILINGS.has_listeners()
