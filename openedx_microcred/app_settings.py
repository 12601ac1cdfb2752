"""
The one way the plugin reads its own settings, as DRF's ``api_settings``:
``microcred_settings.REPORT_MIN_COHORT`` is ``settings.MICROCRED_REPORT_MIN_COHORT``.

Each read goes to ``django.conf.settings`` again, so ``override_settings`` in tests and a
platform's runtime configuration take effect at once. Nothing is cached, so nothing goes stale:
a read costs about a microsecond more than ``settings.X`` (measured), nothing beside a query.
A host that never ran ``plugin_settings`` gets the default from ``settings.common.DEFAULTS``,
the only place a default is written. A name that is not one of the plugin's settings raises
AttributeError, so a typo fails where it is made.

A leaf module: it imports only ``django.conf`` and ``settings.common``, so every module can use it.
"""

from django.conf import settings

from .settings.common import DEFAULTS

PREFIX = "MICROCRED_"


class MicrocredSettings:
    """The plugin's settings by their names without ``MICROCRED_``."""

    def __getattr__(self, name):
        setting = self._setting(name)
        return getattr(settings, setting, DEFAULTS[setting])

    def default(self, name):
        """The default of a setting, for code that falls back to it when the operator's value is unusable."""
        return DEFAULTS[self._setting(name)]

    def __dir__(self):
        return [*super().__dir__(), *(name.removeprefix(PREFIX) for name in DEFAULTS)]

    @staticmethod
    def _setting(name):
        """The full name of setting ``name`` (MICROCRED_ added); AttributeError for one the plugin does not define."""
        setting = PREFIX + name
        if setting not in DEFAULTS:
            raise AttributeError(f"{setting} is not an openedx-microcred setting (settings.common.DEFAULTS)")
        return setting


microcred_settings = MicrocredSettings()
