"""Settings for edx-platform's own test runs with the plugin installed."""

from .common import plugin_settings as common_settings


def plugin_settings(settings):
    common_settings(settings)
