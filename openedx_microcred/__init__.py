"""Stackable microcredentials for Open edX."""

__version__ = "0.1.0"
