"""Languages (microstage/i18n.py): which language a page is in (account > cookie > Accept-Language >
the event's own > default), the footer switcher, German money and dates, the page cache per language,
the JavaScript catalogue, and messages sent in the person's language."""
import re
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from events.models import in_zone
from .factories import EventFactory, TicketFactory, TierFactory
from microstage import i18n
from microstage.models import User
from microstage.money import format_money
from microstage.tests.factories import UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db

LANG_RE = re.compile(rb'<html lang="([a-z-]+)">')


@pytest.fixture
def event():
    event = EventFactory(language="en")
    TierFactory(event=event, name="Front row", price=Decimal("12.50"), currency="EUR")
    return event


def page_language(response) -> str:
    assert response.status_code == 200, response.status_code
    found = LANG_RE.search(response.content)
    assert found, "no <html lang>"
    assert response["Content-Language"] == found.group(1).decode()
    return found.group(1).decode()


def get(client, url, accept=None):
    return client.get(url, **({"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}))


# --- which language -------------------------------------------------------------------------------

def test_default_without_any_choice(event):
    assert page_language(Client().get(event.get_absolute_url())) == settings.LANGUAGE_CODE == "en"


def test_the_events_own_language_when_the_visitor_chose_none(event):
    event.language = "de"
    event.save()
    response = Client().get(event.get_absolute_url())
    assert page_language(response) == "de"
    assert "12,50\xa0€".encode() in response.content
    # Only that event's pages: the discovery page stays in the default.
    assert page_language(Client().get(reverse("home"))) == "en"


def test_accept_language_beats_the_event_language(event):
    event.language = "de"
    event.save()
    assert page_language(get(Client(), event.get_absolute_url(), "en-GB,en;q=0.9")) == "en"
    assert page_language(get(Client(), reverse("home"), "de-AT,de;q=0.9,en;q=0.5")) == "de"
    # A language we do not offer is passed over for the next one the browser names.
    assert page_language(get(Client(), reverse("home"), "fr-FR,fr;q=0.9,de;q=0.5")) == "de"


def test_the_cookie_beats_accept_language(event):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert page_language(get(client, event.get_absolute_url(), "en")) == "de"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"  # not one of ours: ignored
    assert page_language(get(client, event.get_absolute_url(), "en")) == "en"


def test_the_account_beats_the_cookie(event):
    user = UserFactory(language="en")
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert page_language(get(client, event.get_absolute_url(), "de")) == "en"
    User.objects.filter(pk=user.pk).update(language="")  # "the browser's": the cookie decides again
    assert page_language(get(client, event.get_absolute_url(), "en")) == "de"


def test_responses_vary_on_accept_language_and_cookie(event):
    response = Client().get(event.get_absolute_url())
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary


# --- the footer switcher -------------------------------------------------------------------------

def test_the_footer_switcher_is_a_labelled_post_form(event):
    content = Client().get(event.get_absolute_url()).content.decode()
    form = re.search(r'<form class="language-switch" method="post" action="([^"]+)">(.*?)</form>', content, re.S)
    assert form and form.group(1) == reverse("set_language")
    body = form.group(2)
    assert 'name="csrfmiddlewaretoken"' in body and f'name="next" value="{event.get_absolute_url()}"' in body
    assert '<label for="language-select">' in body and '<select id="language-select" name="language"' in body
    assert '<option value="de" lang="de">Deutsch</option>' in body and 'type="submit"' in body


def test_switching_sets_the_cookie_and_returns_to_the_page(event):
    client = Client()
    response = client.post(reverse("set_language"), {"language": "de", "next": event.get_absolute_url()})
    assert response.status_code == 302 and response["Location"] == event.get_absolute_url()
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    page = client.get(event.get_absolute_url())
    assert page_language(page) == "de" and "12,50\xa0€".encode() in page.content


def test_switching_when_logged_in_also_saves_the_account(event):
    user = UserFactory()
    client = Client()
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "de", "next": "/"})
    user.refresh_from_db()
    assert user.language == "de"
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    assert page_language(get(client, event.get_absolute_url(), "en")) == "de"  # the account, on every device


def test_an_unknown_language_changes_nothing():
    user = UserFactory(language="en")
    client = Client()
    client.force_login(user)
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert response.status_code == 302 and settings.LANGUAGE_COOKIE_NAME not in response.cookies
    user.refresh_from_db()
    assert user.language == "en"
    assert client.get(reverse("set_language")).status_code == 405
    # An outside `next` is not followed.
    response = Client().post(reverse("set_language"), {"language": "de", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_account_page_sets_the_language():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    page = client.get(reverse("notification-preferences"))
    assert b'id="language-form"' in page.content
    response = client.post(reverse("notification-preferences"), {"action": "language", "language": "de"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "de"
    refused = client.post(reverse("notification-preferences"), {"action": "language", "language": "xx"})
    assert refused.status_code == 400
    user.refresh_from_db()
    assert user.language == "de"


# --- money, dates and numbers --------------------------------------------------------------------

def test_money_in_english_and_german():
    with translation.override("en"):
        assert format_money("12.5", "EUR") == "€12.50"
        assert format_money("-0.5", "EUR") == "−€0.50"
        assert format_money(0, "EUR", free=True) == "Free"
    with translation.override("de"):
        assert format_money("12.5", "EUR") == "12,50\xa0€"
        assert format_money("1234.5", "EUR") == "1.234,50\xa0€"
        assert format_money("-0.5", "EUR") == "−0,50\xa0€"
        assert format_money(0, "EUR", free=True) == "Kostenlos"


def test_dates_and_numbers_in_german_in_the_events_time_zone():
    when = in_zone(datetime(2026, 12, 5, 18, 30, tzinfo=dt_timezone.utc), ZoneInfo("Europe/Berlin"))
    template = Template('{{ when|date:"D j M Y, H:i" }}|{{ when|date:"j M" }}|{{ n }}|'
                        '{% load microstage %}{% money 12.5 "EUR" %}')
    with translation.override("en"):
        assert template.render(Context({"when": when, "n": 1234.5})) == "Sat 5 Dec 2026, 19:30|5 Dec|1234.5|€12.50"
    with translation.override("de"):
        assert template.render(Context({"when": when, "n": 1234.5})) == \
            "Sa, 5. Dez 2026, 19:30|5. Dez|1234,5|12,50\xa0€"


# --- the page cache ------------------------------------------------------------------------------

def test_the_page_cache_never_serves_one_languages_copy_to_another(event):
    english = get(Client(), event.get_absolute_url(), "en")
    assert english["X-Page-Cache"] == "miss" and page_language(english) == "en"
    german = get(Client(), event.get_absolute_url(), "de")
    assert german["X-Page-Cache"] == "miss" and page_language(german) == "de"
    assert "12,50\xa0€".encode() in german.content and b"\xe2\x82\xac12.50" not in german.content
    again = get(Client(), event.get_absolute_url(), "en")
    assert again["X-Page-Cache"] == "hit" and page_language(again) == "en"
    assert b"\xe2\x82\xac12.50" in again.content
    cookie = Client()
    cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    hit = get(cookie, event.get_absolute_url(), "en")
    assert hit["X-Page-Cache"] == "hit" and page_language(hit) == "de"


def test_a_changed_event_language_is_seen_at_once(event, django_capture_on_commit_callbacks):
    assert page_language(Client().get(event.get_absolute_url())) == "en"
    with django_capture_on_commit_callbacks(execute=True):
        event.language = "de"
        event.save()
    assert page_language(Client().get(event.get_absolute_url())) == "de"


# --- the JavaScript catalogue --------------------------------------------------------------------

def test_the_javascript_catalogue_is_served_cacheable_and_german():
    response = Client().get(reverse("js-catalogue", args=["de"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert f"max-age={i18n.CATALOGUE_MAX_AGE}" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert "Vary" not in response  # the language is in the URL
    body = response.content.decode()
    assert '"Ausverkauft"' in body and "Sold out" in body
    assert "const globals = globalThis;" in body  # it is loaded as a module
    english = Client().get(reverse("js-catalogue", args=["en"])).content.decode()
    assert "Ausverkauft" not in english
    assert Client().get("/jsi18n/xx.js").status_code == 404


def test_every_page_loads_the_catalogue_of_its_language_before_its_scripts(event):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    content = client.get(event.get_absolute_url()).content.decode()
    catalogue = content.index(f'src="/jsi18n/de.js?v={i18n.CATALOGUE_VERSION}"')
    assert catalogue < content.index("/static/js/")
    tag = content[content.rindex("<script", 0, catalogue):content.index(">", catalogue)]
    assert 'type="module"' in tag and 'nonce="' in tag  # modules run in document order: the catalogue first


def test_the_door_worker_keeps_the_catalogue_offline():
    worker = Client().get(reverse("door-sw")).content.decode()
    assert "url.pathname.startsWith('/jsi18n/')" in worker


# --- messages sent to a person -------------------------------------------------------------------

def test_language_for_prefers_the_account_then_the_event():
    event = EventFactory.build(language="de")
    assert i18n.language_for() == "en"
    assert i18n.language_for(event=event) == "de"
    assert i18n.language_for(UserFactory.build(language=""), event) == "de"
    assert i18n.language_for(UserFactory.build(language="en"), event) == "en"


def test_a_notification_is_rendered_in_the_persons_language(event, monkeypatch, django_capture_on_commit_callbacks):
    from microstage.notifications import services

    rendered = []
    real = services.render_to_string

    def spy(name, context):
        rendered.append((name, translation.get_language()))
        return real(name, context)

    monkeypatch.setattr(services, "render_to_string", spy)
    german, english = UserFactory(language="de"), UserFactory(language="")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.notify(german, "doors_open", event)
    assert rendered and {lang for _, lang in rendered} == {"de"}
    rendered.clear()
    event.language = "de"  # no account language: the event's
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.notify(english, "doors_open", event)
    assert rendered and {lang for _, lang in rendered} == {"de"}
    assert len(mail.outbox) == 2


def test_a_cancellation_email_is_in_each_holders_language(event, monkeypatch):
    from events.services import events as event_services

    rendered = []
    real = event_services.render_to_string
    monkeypatch.setattr(event_services, "render_to_string",
                        lambda name, context: rendered.append(translation.get_language()) or real(name, context))
    tier = event.tiers.get()
    TicketFactory(tier=tier, holder=UserFactory(email="anna@example.com", language="de"))
    TicketFactory(tier=tier, holder=None, holder_email="guest@example.com")  # no account: the event's (en)
    with translation.override("en"):
        event_services.cancel_event(event, reason="Storm.", actor=SYSTEM)
    assert rendered == ["de", "en"]  # anna@…, then guest@… (sorted by address)
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["anna@example.com"].endswith(f"{event.title} ist abgesagt")  # the subject too
    assert subjects["guest@example.com"].endswith(f"{event.title} is cancelled")
    assert i18n.language_for_address("ANNA@example.com") == "de"


def test_a_dispute_email_reaches_the_team_in_each_members_language(monkeypatch):
    from payouts import money
    from payouts.tests.factories import DisputeFactory
    from microstage.models import Role
    from microstage.tests.factories import team_member

    dispute = DisputeFactory()
    creator = dispute.order.creator
    owner = team_member(creator, Role.OWNER, UserFactory(language="de"))
    manager = team_member(creator, Role.MANAGER, UserFactory(language=""))
    team_member(creator, Role.DOOR, UserFactory(language="de"))  # door staff are not told
    rendered = []
    real = money.render_to_string
    monkeypatch.setattr(money, "render_to_string",
                        lambda name, context: rendered.append(translation.get_language()) or real(name, context))
    mail.outbox.clear()
    money._send_dispute_email(dispute.pk, "opened")
    assert [m.to for m in mail.outbox] == [[owner.email], [manager.email]]  # German first, then English
    assert rendered == ["de", "de", "en", "en"]


def test_machine_readable_amounts_stay_plain_in_german():
    """Form values and data attributes are read by browsers and scripts: "19.50", never "19,50"."""
    from catalog.tests.factories import ProductVariantFactory
    from microstage.models import Role
    from microstage.tests.factories import team_member

    variant = ProductVariantFactory(price=Decimal("19.50"))
    client = Client()
    client.force_login(team_member(variant.product.creator, Role.OWNER, UserFactory(language="de")))
    page = client.get(reverse("dash-product", args=[variant.product.pk]))
    assert page_language(page) == "de"
    assert f'id="vp-{variant.pk}" name="price" type="number" step="0.01" min="0" value="19.50"' in page.content.decode()
    money = client.get(reverse("dash-money")).content.decode()
    assert re.search(r'data-available="-?\d+(\.\d+)?"', money) and "," not in re.search(
        r'data-available="([^"]*)"', money).group(1)
