"""
The Credly webhook the way Credly, a replayer and a forger call it: through Django's test client,
confirmed against the local Credly server (tests/fakes/credly_server.py) over real sockets.
"""

import json
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from openedx_microcred import delivery
from openedx_microcred.models import Award, Delivery

from . import events
from .conftest import C1

URL = "/microcred/webhooks/credly/credly/"
PROXY = "10.0.0.2"  # the LMS's own reverse proxy: every call reaches Django from it


@pytest.fixture
def delivered(learner, make_credential, credly, on_commit):
    """An award of ours delivered to Credly: its Delivery row, with the badge's external id."""
    make_credential("basics", {"type": "course_passed", "course": C1},
                    platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])
    with on_commit():
        events.passing(learner, C1)
    assert Award.objects.filter(user=learner).exists()
    row = Delivery.objects.get()
    assert row.state == "delivered" and row.external_id
    return row


@pytest.fixture(autouse=True)
def _one_minute(monkeypatch):
    """The rate limits count per minute: these tests never cross a minute's end."""
    monkeypatch.setattr(delivery, "_minute", lambda: 29_000_000, raising=False)


def notify(client, credly, event_id, forwarded_for=None, **fields):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    body = {"id": event_id, "organization_id": credly.organization_id, "event_type": "badge.state_changed",
            **fields}
    return client.post(URL, body, content_type="application/json", REMOTE_ADDR=PROXY, **headers)


def state_event(credly, badge_id, state, occurred_at):
    credly.badges[badge_id]["state"] = state
    return credly.add_event("badge.state_changed", badge_id=badge_id, occurred_at=occurred_at)


# --- Order: event time, not arrival time ------------------------------------------------------------


def test_replaying_an_older_genuine_notification_does_not_move_the_state_back(client, credly, delivered):
    badge = delivered.external_id
    accepted = state_event(credly, badge, "accepted", "2026-03-01T10:00:00.000Z")
    revoked = state_event(credly, badge, "revoked", "2026-03-02T10:00:00.000Z")

    assert notify(client, credly, accepted).json() == {"updated": True, "stale": False}
    assert notify(client, credly, revoked).json() == {"updated": True, "stale": False}
    # Someone who saw the first call (or Credly retrying it late) sends it again.
    replay = notify(client, credly, accepted)

    assert replay.status_code == 200  # acknowledged, so Credly stops retrying it
    assert replay.json() == {"updated": False, "stale": True}
    delivered.refresh_from_db()
    assert delivered.upstream_state == "revoked"
    assert delivered.upstream_at.isoformat() == "2026-03-02T10:00:00+00:00"


def test_notifications_that_arrive_out_of_order_end_in_the_newest_state(client, credly, delivered):
    badge = delivered.external_id
    # Credly's own format for times ("2014-04-01 09:41:00 -0500") is understood as well as ISO 8601.
    older = state_event(credly, badge, "accepted", "2026-03-01 09:00:00 -0500")
    newer = state_event(credly, badge, "rejected", "2026-03-01T15:00:00.000Z")

    assert notify(client, credly, newer).json()["updated"] is True
    assert notify(client, credly, older).json() == {"updated": False, "stale": True}
    delivered.refresh_from_db()
    assert delivered.upstream_state == "rejected"


# --- Rate limits: the account's confirmed events, and each client's refused calls --------------------


def test_a_forger_behind_the_proxy_cannot_use_up_credlys_share(client, credly, delivered, monkeypatch):
    monkeypatch.setattr(delivery, "WEBHOOK_REFUSED_PER_MINUTE", 3, raising=False)
    monkeypatch.setattr(delivery, "WEBHOOK_RATE_PER_MINUTE", 5)
    forger, credly_address = "203.0.113.9", "198.51.100.7"  # as the proxy reports them
    unknown_event = str(uuid.uuid4())
    answers = [notify(client, credly, unknown_event, forwarded_for=forger).status_code for _ in range(10)]
    assert answers == [403] * 3 + [429] * 7  # the forger is slowed down after three refusals...
    fetches = len(credly.requests_to("GET"))
    assert fetches == 3  # ...and costs no more confirmation requests after that

    delivered_badge = delivered.external_id
    event = state_event(credly, delivered_badge, "accepted", "2026-03-01T10:00:00.000Z")
    response = notify(client, credly, event, forwarded_for=credly_address)
    assert response.status_code == 200 and response.json()["updated"] is True  # Credly still gets through


def test_confirmed_notifications_are_limited_per_account(client, credly, delivered, monkeypatch):
    monkeypatch.setattr(delivery, "WEBHOOK_RATE_PER_MINUTE", 2)
    event = state_event(credly, delivered.external_id, "accepted", "2026-03-01T10:00:00.000Z")
    answers = [notify(client, credly, event, forwarded_for=f"198.51.100.{n}").status_code for n in range(4)]
    # Whatever address they come from: Credly retries a 429 later.
    assert answers == [200, 200, 429, 429]


def test_the_forwarded_for_header_is_read_the_way_the_platform_reads_it(client, credly, delivered, monkeypatch,
                                                                        settings):
    """With CLOSEST_CLIENT_IP_FROM_HEADERS (edx-django-utils), a spoofed leftmost address does not
    give a forger a fresh bucket: the address the trusted proxy appended is the one counted."""
    monkeypatch.setattr(delivery, "WEBHOOK_REFUSED_PER_MINUTE", 2, raising=False)
    settings.CLOSEST_CLIENT_IP_FROM_HEADERS = [{"name": "X-Forwarded-For", "index": -1}]
    unknown_event = str(uuid.uuid4())
    answers = [notify(client, credly, unknown_event, forwarded_for=f"192.0.2.{n}, 203.0.113.9").status_code
               for n in range(4)]
    assert answers == [403, 403, 429, 429]


# --- Ids: Credly's format before they go into a URL ------------------------------------------------


@pytest.mark.parametrize("forged", [".", "..", "../badges", "%2e%2e", "a/b", "x?filter=y", " ",
                                    "00000000-0000-0000-0000-000000000000/..", 12, ["x"]])
def test_an_event_id_that_is_not_a_credly_id_is_refused_without_asking_credly(client, credly, delivered, forged):
    response = notify(client, credly, forged)
    assert response.status_code == 400
    assert "not a Credly id" in response.json()["detail"] or "has an 'id'" in response.json()["detail"]
    assert credly.requests_to("GET") == []  # nothing was fetched, from any path


def test_an_organization_id_that_is_not_a_credly_id_is_refused(client, credly, delivered):
    response = notify(client, credly, str(uuid.uuid4()), organization_id="..")
    assert response.status_code == 400 and "organization_id" in response.json()["detail"]
    assert credly.requests_to("GET") == []


def test_an_event_about_a_badge_id_that_is_not_a_credly_id_changes_nothing(client, credly, delivered):
    delivered.external_id = "not-a-uuid"
    delivered.save(update_fields=["external_id"])
    before = delivered.upstream_state
    event = credly.add_event("badge.state_changed", badge={"id": "not-a-uuid", "state": "rejected"})
    response = notify(client, credly, event)
    assert response.status_code == 200 and response.json()["updated"] is False
    delivered.refresh_from_db()
    assert delivered.upstream_state == before != "rejected"


# --- Fuzz: whatever arrives, the answer is a 2xx or a 4xx -------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
# Bounded nesting: how deep a body may be is the body parser's business (it is bounded there).
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
_ids = st.one_of(st.uuids().map(str), st.sampled_from([".", "..", "", "../badges", "%2e", "\x00", "a" * 300]),
                 st.text(max_size=40), _scalars)
_headers = st.dictionaries(
    st.sampled_from(["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_USER_AGENT", "HTTP_CONTENT_ENCODING",
                     "HTTP_ACCEPT", "REMOTE_ADDR"]),
    st.one_of(st.ip_addresses().map(str), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255),
                                                  max_size=60),
              st.lists(st.ip_addresses().map(str), max_size=4).map(", ".join)),
    max_size=3)


@st.composite
def _bodies(draw, real_events):
    """A webhook body: random bytes, random JSON, or a notification-shaped object naming real or random ids."""
    kind = draw(st.sampled_from(["notification", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(_json)).encode()
    body = draw(st.dictionaries(st.sampled_from(["event_type", "occurred_at", "badge", "data"]), _json, max_size=3))
    body["id"] = draw(st.sampled_from(real_events) | _ids)
    body["organization_id"] = draw(st.sampled_from(real_events[:1]) | _ids)
    return json.dumps(body).encode()


# A key memcached would refuse is an error in production: here too.
@pytest.mark.filterwarnings("error::django.core.cache.backends.base.CacheKeyWarning")
def test_fuzzing_the_webhook_gives_only_2xx_or_4xx(client, credly, delivered, monkeypatch):
    monkeypatch.setattr(delivery, "WEBHOOK_REFUSED_PER_MINUTE", 10 ** 9, raising=False)
    monkeypatch.setattr(delivery, "WEBHOOK_RATE_PER_MINUTE", 10 ** 9)
    badge = delivered.external_id
    real_events = [credly.organization_id]  # first: a real organization id, for the organization field
    real_events += [state_event(credly, badge, state, when) for state, when in
                    [("accepted", "2026-03-01T10:00:00.000Z"), ("revoked", "2026-03-02T10:00:00Z"),
                     ("rejected", "not a time"), ("accepted", None)]]
    real_events.append(credly.add_event("badge.deleted", badge_id=badge, occurred_at=17))
    real_events.append(credly.add_event("badge.state_changed", badge={"id": [badge], "state": {"x": 1}}))

    @hypothesis_settings(max_examples=300, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(account=st.sampled_from(["credly", "nope", "x" * 100]), body=_bodies(real_events), headers=_headers,
           content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
    def call(account, body, headers, content_type):
        response = client.post(f"/microcred/webhooks/credly/{account}/", body, content_type=content_type,
                               **headers)
        assert 200 <= response.status_code < 500, (response.status_code, response.content[:200])
        assert response["Content-Type"].startswith("application/json")
        assert "Traceback" not in response.content.decode("utf-8", "replace")

    call()  # pylint: disable=no-value-for-parameter  (hypothesis's @given supplies the arguments)
