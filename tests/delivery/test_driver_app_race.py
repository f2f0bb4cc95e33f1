# ruff: noqa: F811 - the fixtures imported from order_fixtures and driver_fixtures are parameters of the tests
"""The phone's retries racing on PostgreSQL, on real connections: two copies of one action (the same key) have one
effect and one answer; two hand-overs of the same stop under different keys make one sale and one conflict."""

import threading
import uuid

import pytest
from django.db import connections

from delivery.driver_app import ActionInput, driver_action_apply
from delivery.models import DriverAction
from pos.models import Sale
from tests.delivery.driver_fixtures import route  # noqa: F401 - fixture
from tests.delivery.order_fixtures import (  # noqa: F401 - fixtures
    customer,
    now,
    package,
    product,
    zone,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(user, actions):
    barrier = threading.Barrier(len(actions))
    answers, lock = [], threading.Lock()

    def run(action):
        try:
            barrier.wait()
            answer = driver_action_apply(user=user, action=action)
            with lock:
                answers.append(answer)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(action,)) for action in actions]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return answers


def ready(user, stop):
    for kind, payload in (
        ("arrived", {}),
        ("id_checked", {"date_of_birth": "1990-05-17", "expires_on": "2030-01-01"}),
        ("proof", {"no_signature_reason": "Refused to sign"}),
    ):
        driver_action_apply(
            user=user, action=ActionInput(key=str(uuid.uuid4()), kind=kind, stop_id=stop.pk, payload=payload)
        )


def test_two_copies_of_one_key_have_one_effect(route):
    user = route["dana"].user
    stop = route["trip"].stops.first()
    ready(user, stop)
    key = str(uuid.uuid4())
    action = ActionInput(key=key, kind="delivered", stop_id=stop.pk, payload={"collected": "55.01"})
    answers = at_once(user, [action, action])
    assert len(answers) == 2
    assert sorted(a["replayed"] for a in answers) == [False, True]
    assert {a["message"] for a in answers} == {answers[0]["message"]}
    assert (Sale.objects.count(), DriverAction.objects.filter(key=key).count()) == (1, 1)


def test_two_hand_overs_of_one_stop_make_one_sale(route):
    user = route["dana"].user
    stop = route["trip"].stops.first()
    ready(user, stop)
    actions = [
        ActionInput(key=str(uuid.uuid4()), kind="delivered", stop_id=stop.pk, payload={"collected": "55.01"})
        for _ in range(2)
    ]
    answers = at_once(user, actions)
    assert sorted(a["outcome"] for a in answers) == ["applied", "conflict"]
    assert [a["reason"] for a in answers if a["outcome"] == "conflict"] == ["stop_closed"]
    assert Sale.objects.count() == 1
