"""Queueing tasks by name (dispatch.py): the registered task where there is one, the broker otherwise."""

import pytest
from celery import Celery, current_app

from openedx_microcred import dispatch


@pytest.fixture(name="lms_app")
def fixture_lms_app():
    """A Celery app on an in-memory broker, current while the test runs (as the LMS's app is in the LMS)."""
    previous = current_app._get_current_object()  # pylint: disable=protected-access  (celery's proxy)
    app = Celery("lms", broker="memory://", set_as_current=False)
    app.conf.task_always_eager = False
    app.set_current()
    yield app
    previous.set_current()


def read_message(app, queue):
    """The next message on the broker's `queue` (waiting up to 2 s), acknowledged."""
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        message = simple.get(timeout=2)
        message.ack()
        simple.close()
        return message


def test_a_task_this_process_never_imported_is_sent_to_the_broker_by_name_on_the_plugin_queue(lms_app, settings):
    # An LMS web process need not import openedx_microcred.tasks: the worker, which does, runs it.
    settings.MICROCRED_CELERY_QUEUE = "microcred.evaluations"
    lms_app.tasks.unregister(dispatch.EVALUATE_LEARNER)

    dispatch.enqueue_evaluation(7, "course-v1:Org+C1+2026")

    message = read_message(lms_app, "microcred.evaluations")
    assert message.headers["task"] == "openedx_microcred.evaluate_learner"
    args, kwargs, _embed = message.decode()
    assert (args, kwargs) == ([7, "course-v1:Org+C1+2026"], {})


def test_a_registered_task_is_queued_through_its_own_apply_async_with_the_countdown(lms_app, settings, monkeypatch):
    settings.MICROCRED_CELERY_QUEUE = None
    sent = []
    task = lms_app.tasks[dispatch.DELIVER]
    monkeypatch.setattr(task, "apply_async", lambda args, **options: sent.append((args, options)))

    dispatch.enqueue_delivery(42, countdown=30)

    assert sent == [((42,), {"countdown": 30})]


def test_a_broker_that_refuses_the_task_is_logged_and_never_raised(lms_app, monkeypatch, caplog):
    def refused(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(lms_app.tasks[dispatch.ISSUE_AWARD], "apply_async", refused)

    assert dispatch.send_task(dispatch.ISSUE_AWARD, (5,), "the issuing of award 5") is False
    assert "could not queue the issuing of award 5" in caplog.text


def test_every_name_dispatch_sends_is_a_task_the_plugin_registers():
    names = {value for name, value in vars(dispatch).items() if name.isupper() and isinstance(value, str)
             and value.startswith("openedx_microcred.")}
    assert names and names <= set(current_app.tasks)
