"""The plugin's REST API (docs/rest-api.md), one package a version."""
