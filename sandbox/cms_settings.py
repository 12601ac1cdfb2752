"""The host playing Studio ("cms.djangoapp"): same plugin loading, Studio's project type."""

from edx_django_utils.plugins import get_plugin_apps

from sandbox.settings import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
from sandbox.settings import INSTALLED_APPS as _LMS_APPS

PROJECT_TYPE = "cms.djangoapp"
SERVICE_VARIANT = "cms"
# Studio's own queues, as in edx-platform: what Studio queues goes there unless MICROCRED_CELERY_QUEUE
# names an LMS queue (docs/workers.md).
CELERY_TASK_DEFAULT_QUEUE = "edx.cms.core.default"
CELERY_TASK_QUEUES = {"edx.cms.core.high": {}, "edx.cms.core.default": {}}
ROOT_URLCONF = "sandbox.cms_urls"
LOGIN_REDIRECT_URL = "/"
INSTALLED_APPS = [app for app in _LMS_APPS if app not in get_plugin_apps("lms.djangoapp") and app != "completion"]
INSTALLED_APPS += get_plugin_apps(PROJECT_TYPE)

from edx_django_utils.plugins import add_plugins  # noqa: E402

add_plugins(__name__, PROJECT_TYPE, "common")
