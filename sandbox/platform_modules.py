"""
The few edx-platform modules the plugin imports by name where they exist, provided by the host
under their real names so that the plugin connects to them at start-up as it does in the LMS.

Only ``openedx.core.djangoapps.user_api.accounts.signals``: edx-platform's user retirement
signals, plain Django signals that the retirement API views send with ``user=`` (retire_misc sends
USER_RETIRE_LMS_MISC, retire sends USER_RETIRE_LMS_CRITICAL; USER_RETIRE_MAILINGS is not ours).
``sandbox.host.retirement.retire_user`` sends them as the platform's retirement pipeline does.
Everything else of edx-platform stays absent, so the plugin's guarded imports fail here as they
would in any host without the platform.
"""

import sys
import types

from django.dispatch import Signal

RETIREMENT_SIGNALS_MODULE = "openedx.core.djangoapps.user_api.accounts.signals"


def _install(name, **attrs):
    parts = name.split(".")
    for depth in range(1, len(parts)):
        sys.modules.setdefault(".".join(parts[:depth]), types.ModuleType(".".join(parts[:depth])))
    module = sys.modules.get(name) or types.ModuleType(name)
    for attr, value in attrs.items():
        setattr(module, attr, value)
    sys.modules[name] = module
    return module


retirement_signals = _install(
    RETIREMENT_SIGNALS_MODULE,
    USER_RETIRE_MAILINGS=Signal(),
    USER_RETIRE_LMS_MISC=Signal(),
    USER_RETIRE_LMS_CRITICAL=Signal(),
)
