"""Production settings: values from the operator's YAML (ENV_TOKENS) override the defaults."""

from .common import DEFAULTS
from .common import plugin_settings as common_settings


def plugin_settings(settings):
    """The common settings, then every MICROCRED_ setting the operator's YAML (ENV_TOKENS) gives."""
    common_settings(settings)
    env_tokens = getattr(settings, "ENV_TOKENS", {}) or {}
    for name in DEFAULTS:
        if name in env_tokens:
            setattr(settings, name, env_tokens[name])
