"""Where Django finds the plugin's management commands (the ``commands`` package)."""
