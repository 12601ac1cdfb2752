"""
Plugin loading for the host, through edx-django-utils exactly as edx-platform does it.

Other installed packages register plugins too (edx-completion registers an LMS plugin whose
receivers import edx-platform modules), which a bare host cannot load; the host therefore shows
the plugin registry only the plugins it names in SANDBOX_PLUGINS.
"""

from collections import OrderedDict

from edx_django_utils.plugins.registry import DjangoAppRegistry

SANDBOX_PLUGINS = ("openedx_microcred",)

_all_plugins = DjangoAppRegistry.get_available_plugins


def _only_sandbox_plugins(cls, namespace=None):  # pylint: disable=unused-argument
    return OrderedDict((name, app) for name, app in _all_plugins(namespace).items() if name in SANDBOX_PLUGINS)


DjangoAppRegistry.get_available_plugins = classmethod(_only_sandbox_plugins)
