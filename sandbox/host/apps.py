from django.apps import AppConfig


class HostConfig(AppConfig):
    """Stands in for edx-platform: courses and roles, and the plugin receivers connected at start-up."""

    name = "sandbox.host"
    label = "sandbox_host"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from edx_django_utils.plugins import connect_plugin_receivers

        connection_created.connect(tune_sqlite, dispatch_uid="sandbox.tune_sqlite")

        # edx-platform connects plugin receivers at start-up the same way.
        connect_plugin_receivers(settings.PROJECT_TYPE)


def tune_sqlite(sender, connection, **kwargs):  # pylint: disable=unused-argument
    """The demo's SQLite file in WAL mode: readers do not block the writer, commits do not fsync twice."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
