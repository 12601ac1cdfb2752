"""Settings for edx-platform's own test runs with the plugin installed."""

from .common import plugin_settings as common_settings


def plugin_settings(settings):
    """The common settings: edx-platform's test runs need nothing of their own."""
    common_settings(settings)
