from .celery_app import app as celery_app  # noqa: F401  (so shared_task binds to the host's app)
