"""The plugin's settings, one module per edx-platform settings type (common, production, test: apps.py)."""
