"""The ``manage.py microcred_*`` commands an operator runs (docs/operator-guide.md)."""
