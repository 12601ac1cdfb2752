"""api.py is a façade: the names in ``__all__``, each returning data.py types (or JSON), never models."""

import inspect
import typing

from django.db import models

from openedx_microcred import api, data

# Plain values a function of the API may return besides data.py's dataclasses.
JSON_TYPES = (dict, list, str, int, float, bool, type(None))


def returned_types(hint):
    """The classes a return annotation names (through list[...], X | None and the like)."""
    arguments = typing.get_args(hint)
    if arguments:
        origin = typing.get_origin(hint)
        own = (origin,) if isinstance(origin, type) else ()
        return own + tuple(kind for argument in arguments for kind in returned_types(argument))
    return (hint,)


def test_every_name_of_the_api_exists_and_nothing_public_is_left_out():
    public = {name for name, value in vars(api).items()
              if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
              and getattr(value, "__module__", "") == api.__name__}
    assert set(api.__all__) == public | {"ExternalCredentialRefused"}
    assert all(hasattr(api, name) for name in api.__all__)


def test_every_function_of_the_api_says_it_returns_data_types_or_json_never_a_model():
    for name in api.__all__:
        function = getattr(api, name)
        if inspect.isclass(function):
            assert issubclass(function, Exception), name  # the one class: the refusal it raises
            continue
        hints = typing.get_type_hints(function)
        assert "return" in hints, f"api.{name} has no return annotation"
        for kind in returned_types(hints["return"]):
            assert not (isinstance(kind, type) and issubclass(kind, models.Model)), name
            assert kind in JSON_TYPES or getattr(kind, "__module__", "") == data.__name__, (name, kind)
