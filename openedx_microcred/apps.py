"""Django app configuration, including the Open edX plugin declaration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_EVENTS = "openedx_events.learning.signals"

# (signal name in openedx_events.learning.signals, receiver in handlers.py)
EVENT_RECEIVERS = (
    ("COURSE_PASSING_STATUS_UPDATED", "record_passing_status"),
    ("CCX_COURSE_PASSING_STATUS_UPDATED", "record_ccx_passing_status"),
    ("PERSISTENT_GRADE_SUMMARY_CHANGED", "record_persistent_grade"),
    ("CERTIFICATE_CREATED", "record_certificate"),
    ("CERTIFICATE_CHANGED", "record_certificate"),
    ("CERTIFICATE_REVOKED", "record_certificate_revoked"),
    ("COURSE_ENROLLMENT_CREATED", "record_enrollment"),
    ("COURSE_ENROLLMENT_CHANGED", "record_enrollment"),
    ("COURSE_UNENROLLMENT_COMPLETED", "record_unenrollment"),
)


# Studio enrols a course's creator (and a re-run's team) in the course from its own process, where
# only these receivers are connected: grades and certificates change in the LMS and its workers
# (ADR 0009). The evaluation they queue goes to MICROCRED_CELERY_QUEUE, an LMS queue in Studio too.
CMS_EVENTS = ("COURSE_ENROLLMENT_CREATED", "COURSE_ENROLLMENT_CHANGED", "COURSE_UNENROLLMENT_COMPLETED")


def _receivers(signals=None):
    return [
        {
            "receiver_func_name": func,
            "signal_path": f"{_EVENTS}.{signal}",
            "dispatch_uid": f"openedx_microcred.{func}.{signal}",
        }
        for signal, func in EVENT_RECEIVERS
        if signals is None or signal in signals
    ]


def _plugin_config():
    """
    The plugin declaration edx-django-utils reads: the LMS's and Studio's URLs and settings modules,
    and the openedx-events receivers each process connects (Studio only the enrollment ones).
    """
    settings_config = {
        "common": {"relative_path": "settings.common"},
        "production": {"relative_path": "settings.production"},
        "test": {"relative_path": "settings.test"},
    }
    return {
        # The LMS serves learners and the public side of credentials; Studio the course team's pages.
        "url_config": {
            project: {"namespace": "openedx_microcred", "regex": r"^microcred/", "relative_path": module}
            for project, module in (("lms.djangoapp", "urls"), ("cms.djangoapp", "cms_urls"))
        },
        "settings_config": {project: settings_config for project in ("lms.djangoapp", "cms.djangoapp")},
        "signals_config": {
            "lms.djangoapp": {"relative_path": "handlers", "receivers": _receivers()},
            "cms.djangoapp": {"relative_path": "handlers", "receivers": _receivers(CMS_EVENTS)},
        },
    }


class MicrocredConfig(AppConfig):
    """Stackable microcredentials."""

    name = "openedx_microcred"
    verbose_name = _("Microcredentials")
    default_auto_field = "django.db.models.BigAutoField"

    # ProjectType / SettingsType live in edx-platform, not edx-django-utils: use their string values.
    plugin_app = _plugin_config()

    def ready(self):
        # pylint: disable=import-outside-toplevel  (ready() is Django's place: the app registry is loaded)
        # The system checks register on import; so do the Celery tasks, in this process too, so that
        # an eager Celery (devstack, tests) runs them here.
        from . import checks, tasks  # noqa: F401  # pylint: disable=unused-import  (imported to register)
        from .handlers import connect_completion_receiver
        from .retirement import connect_retirement_receivers

        # edx-completion is optional: its model can only be named as a sender where it is
        # installed, so this receiver cannot go through signals_config.
        connect_completion_receiver()
        # edx-platform's user retirement signals (plain Django signals, not openedx-events): only
        # where edx-platform is installed; other hosts run `manage.py microcred_retire_user`.
        connect_retirement_receivers()
