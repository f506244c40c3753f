"""A token client's sale made at the ASGI layer, inside its request slot (commerce/api/sale_asgi.py): the
same status, body and headers as Django's answer, by the same `reserve`, without Django's request
machinery; never sold twice, never oversold, and everything Django would answer otherwise left to it.

Commits for real: the sale runs on another thread's connection, as it does when served.
"""
import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from commerce import services
from commerce.api import sale_asgi
from commerce.api import serializers as s
from commerce.api.sale_asgi import SaleFastPath
from commerce.models import Order
from commerce.models.inventory import Hold
from microstage.admission import Admission
from microstage.asgi import application, django_asgi_app
from microstage.models import Role
from microstage.tests.factories import CreatorFactory, UserFactory, team_member

from .test_api_orders import make_tier
from .test_refusal_asgi import apost, lines, post, token_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fast(django_app):
    return SaleFastPath(django_app)


def shape(answer) -> dict:
    """An order's answer without what differs from one order to the next (ids, times)."""
    order = answer.json()
    for key in ("id", "email", "created_at", "expires_at"):
        assert order.pop(key)
    for line in order["lines"]:
        assert line.pop("id")
    return order


def without_date(headers):
    return [h for h in headers if h[0] != "date"]


def test_the_served_application_sells_inside_the_request_slots():
    http = application.application_mapping["http"]  # /healthz, cached pages, refusals, slots, sales, Django
    slots = http.app.app.app
    assert isinstance(slots, Admission) and type(slots.app) is SaleFastPath and slots.app.app is django_asgi_app


def test_the_served_application_sells_on_the_sale_threads(new_tier, monkeypatch):
    """Through everything in front of it as served (health, cached pages, refusals, slots), and back."""
    tier = new_tier(2)
    names = []
    real = services.reserve
    monkeypatch.setattr(services, "reserve", lambda **kw: names.append(threading.current_thread().name) or real(**kw))
    answer = post(application, lines(tier), token=token_of(UserFactory()))
    assert answer.status == 201 and answer.json()["lines"][0]["tier"] == tier
    assert len(names) == 1 and names[0].startswith("sale")
    assert post(application, lines(tier, 2), token=token_of(UserFactory())).status == 409  # one left: the snapshot
    assert post(application, lines(tier), token=token_of(UserFactory()), headers=[("cookie", "a=b")]).status == 201
    assert len(names) == 2 and not names[1].startswith("sale")  # with a cookie: sold by Django, on its thread


def test_a_sale_is_django_s_answer_without_django(fast, django_app, new_tier):
    tier = new_tier(5)
    user = UserFactory()
    answer = post(fast, lines(tier, 2), token=token_of(user))
    assert answer.status == 201, answer.body
    assert django_app.calls == 0
    by_django = post(django_asgi_app, lines(tier, 2), token=token_of(UserFactory()))
    assert by_django.status == 201
    assert shape(answer) == shape(by_django)
    assert without_date(answer.headers) == without_date(by_django.headers)
    order = Order.objects.get(pk=answer.json()["id"])
    assert (order.buyer_id, order.email, order.status) == (user.pk, user.email, "reserved")
    assert sum(h.quantity for h in Hold.objects.filter(order=order, inventory__key=f"tier:{tier}")) == 2


def test_the_sale_is_in_the_request_s_language_and_indent(fast, django_app, new_tier):
    tier = new_tier(5)
    asked = [("accept-language", "de-DE,de;q=0.9"), ("accept", "application/json; indent=2")]
    answer = post(fast, {**lines(tier), "email": "Fan@Example.org"}, token=token_of(UserFactory()), headers=asked)
    by_django = post(django_asgi_app, {**lines(tier), "email": "Fan@Example.org"}, token=token_of(UserFactory()),
                     headers=asked)
    assert django_app.calls == 0 and answer.status == by_django.status == 201
    assert shape(answer) == shape(by_django) and answer.json()["email"] == "fan@example.org"
    assert b'\n  "status"' in answer.body  # indented as asked
    assert without_date(answer.headers) == without_date(by_django.headers)
    assert dict(answer.headers)["content-language"] == "de"


@pytest.mark.parametrize("case", ["not_on_sale", "over_the_limit", "unpublished"])
def test_what_reserve_refuses_is_answered_as_django_answers_it(fast, django_app, new_tier, make_api, case):
    creator = CreatorFactory()
    owner = make_api(team_member(creator, Role.OWNER))
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    tier, quantity = {
        "not_on_sale": lambda: (make_tier(owner, creator, sales_start=tomorrow), 1),
        "over_the_limit": lambda: (make_tier(owner, creator, max_per_order=2), 3),
        "unpublished": lambda: (make_tier(owner, creator, publish=False), 1),
    }[case]()
    answer = post(fast, lines(tier, quantity), token=token_of(UserFactory()),
                  headers=[("accept-language", "de")])
    by_django = post(django_asgi_app, lines(tier, quantity), token=token_of(UserFactory()),
                     headers=[("accept-language", "de")])
    assert answer.status in (404, 409) and django_app.calls == 0
    assert (answer.status, answer.body) == (by_django.status, by_django.body)
    assert without_date(answer.headers) == without_date(by_django.headers)
    assert not Order.objects.exists()


@pytest.mark.parametrize("headers, token, status", [
    ([("cookie", "ms_vid=v_abcdefghijklmnopqrstuv")], "user", 201),  # a visitor: experiment prices
    ([("cookie", "sessionid=abc")], "user", 201),
    ([], "0" * 40, 401),  # unknown token
    ([], None, 401),
])
def test_a_request_django_may_answer_otherwise_reaches_django(fast, django_app, new_tier, headers, token, status):
    tier = new_tier(5)
    token = token_of(UserFactory()) if token == "user" else token
    answer = post(fast, lines(tier), token=token, headers=headers)
    assert answer.status == status and django_app.calls == 1
    assert Order.objects.count() == (1 if status == 201 else 0)  # sold once, by Django


def test_an_unknown_tier_is_django_s_404_and_a_bad_body_reaches_django(fast, django_app, new_tier):
    token = token_of(UserFactory())
    answer = post(fast, lines("tier_nosuchthing"), token=token)
    by_django = post(django_asgi_app, lines("tier_nosuchthing"), token=token)
    assert (answer.status, answer.body) == (by_django.status, by_django.body) and answer.status == 404
    assert without_date(answer.headers) == without_date(by_django.headers) and django_app.calls == 0
    assert post(fast, {"lines": [{"tier": new_tier(1), "quantity": 0}]}, token=token).status == 400
    assert post(fast, {"lines": [{"tier": new_tier(1)}], "email": "nope"}, token=token).status == 400
    assert django_app.calls == 2


def test_a_failure_after_the_reservation_is_a_500_here_never_a_second_sale(fast, django_app, new_tier, monkeypatch):
    tier = new_tier(5)

    def broken(self, order):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(s.OrderSerializer, "to_representation", broken)
    answer = post(fast, lines(tier), token=token_of(UserFactory()))
    assert answer.status == 500 and django_app.calls == 0
    assert Order.objects.count() == 1  # reserved once; Django never saw the request
    assert answer.json()["code"] == "server_error"
    by_django = post(django_asgi_app, lines(tier), token=token_of(UserFactory()))  # the view's own bug: the same
    assert (by_django.status, by_django.body) == (answer.status, answer.body)
    assert without_date(answer.headers) == without_date(by_django.headers)


def test_sales_run_on_the_few_sale_threads_not_a_thread_each(fast, new_tier, monkeypatch):
    tier = new_tier(20)
    names = []
    real = services.reserve
    monkeypatch.setattr(services, "reserve", lambda **kw: names.append(threading.current_thread().name) or real(**kw))
    for _ in range(6):
        assert post(fast, lines(tier), token=token_of(UserFactory())).status == 201
    assert len(names) == 6 and all(n.startswith("sale") for n in names)
    assert len(set(names)) <= sale_asgi.sale_threads()


def test_a_rush_through_the_slots_sells_exactly_the_stock(django_app, new_tier):
    """Thirty buyers at once for eight tickets, through the slots (four) and the sale path, as served."""
    tier = new_tier(8)
    app = Admission(SaleFastPath(django_app), 4)
    tokens = [token_of(UserFactory()) for _ in range(30)]

    async def rush():
        return await asyncio.gather(*(apost(app, lines(tier), token=t) for t in tokens))

    answers = async_to_sync(rush)()
    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * 8 + [409] * 22
    assert all(a.json()["code"] == "sold_out" for a in answers if a.status == 409)
    assert Order.objects.count() == 8 and django_app.calls == 0
    assert sum(h.quantity for h in Hold.objects.filter(inventory__key=f"tier:{tier}", status="active")) == 8


def test_a_buyer_who_queued_while_the_last_ticket_sold_is_refused_before_the_offer(fast, django_app, new_tier,
                                                                                     monkeypatch):
    tier = new_tier(1)
    assert post(fast, lines(tier), token=token_of(UserFactory())).status == 201  # the snapshot now says 0
    offers = []
    real = services._offer
    monkeypatch.setattr(services, "_offer", lambda *a, **kw: offers.append(a) or real(*a, **kw))
    answer = post(fast, lines(tier), token=token_of(UserFactory()))
    assert (answer.status, answer.json()["code"], answer.json()["available"]) == (409, "sold_out", 0)
    assert offers == [] and django_app.calls == 0  # refused from the snapshot: no tier read, no lock
    assert post(fast, lines(tier), token="0" * 40).status == 401 and django_app.calls == 1  # the token first


def counted(monkeypatch, cls, name) -> list:
    calls = []
    real = getattr(cls, name)
    monkeypatch.setattr(cls, name, lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    return calls


def test_a_rush_s_repeated_body_and_accept_are_checked_once_per_process(fast, django_app, new_tier, monkeypatch):
    """Most of a rush sends the same body with the same Accept: the second buyer's request is not validated or
    negotiated again, and is answered exactly as the first."""
    from rest_framework.negotiation import DefaultContentNegotiation

    tier = new_tier(5)
    validations = counted(monkeypatch, s.OrderInSerializer, "is_valid")
    negotiations = counted(monkeypatch, DefaultContentNegotiation, "select_renderer")
    first = post(fast, lines(tier), token=token_of(UserFactory()))
    second = post(fast, lines(tier), token=token_of(UserFactory()))
    assert (first.status, second.status) == (201, 201) and django_app.calls == 0
    assert shape(first) == shape(second)
    assert without_date(first.headers) == without_date(second.headers)
    assert (len(validations), len(negotiations)) == (1, 1)
    indent = [("accept", "application/json; indent=2")]
    indented = post(fast, lines(tier), token=token_of(UserFactory()), headers=indent)
    assert indented.status == 201 and indented.body.startswith(b"{\n  ")  # another Accept: negotiated for itself
    assert (len(validations), len(negotiations)) == (1, 2)
    assert Order.objects.count() == 3


def test_a_remembered_body_is_answered_in_each_request_s_language(fast, django_app, new_tier):
    tier = new_tier(1)
    assert post(fast, lines(tier), token=token_of(UserFactory())).status == 201  # 0 left
    english = post(fast, lines(tier, 2), token=token_of(UserFactory()))
    german = post(fast, lines(tier, 2), token=token_of(UserFactory()), headers=[("accept-language", "de")])
    by_django = post(django_asgi_app, lines(tier, 2), token=token_of(UserFactory()),
                     headers=[("accept-language", "de")])
    assert (english.status, german.status) == (409, 409) and django_app.calls == 0
    assert english.json()["detail"] == "Sold out: not enough left for this quantity."
    assert german.body == by_django.body and german.json()["detail"] != english.json()["detail"]


def test_a_body_or_accept_django_answers_is_checked_again_every_time(fast, django_app, new_tier, monkeypatch):
    """Failures are Django's to answer, each in its request's language: nothing about them is remembered."""
    tier = new_tier(3)
    validations = counted(monkeypatch, s.OrderInSerializer, "is_valid")
    bad = {"lines": [{"tier": tier, "quantity": 1}], "email": "not an address"}
    for _ in range(2):
        assert post(fast, bad, token=token_of(UserFactory())).status == 400
    assert len(validations) == 4  # here and by Django, each time
    for _ in range(2):
        assert post(fast, lines(tier), token=token_of(UserFactory()), headers=[("accept", "text/html")]).status == 406
    assert django_app.calls == 4 and Order.objects.count() == 0


def test_the_remembered_checks_are_bounded(fast, new_tier, monkeypatch):
    from commerce.api import refusal_asgi

    monkeypatch.setattr(refusal_asgi, "REMEMBERED", 2)
    tier = new_tier(10)
    for quantity in (1, 2, 3):
        assert post(fast, lines(tier, quantity), token=token_of(UserFactory())).status == 201
        assert len(fast.checks.bodies) <= 2
    assert post(fast, lines(tier, 1), token=token_of(UserFactory())).status == 201  # checked again: still right
    assert Order.objects.filter(lines__item_id=tier).count() == 4
