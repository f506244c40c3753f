"""The whole ticketing journey in real browsers on phones: a creator creates and publishes an event
through the dashboard, an attendee buys in the sandbox and gets a QR ticket, and the door scanner
admits it once and refuses it the second time."""
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, Ticket
from microstage.models import Role
from microstage.tests.factories import PASSWORD, CreatorFactory, UserFactory, team_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/**")


def new_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def test_create_publish_buy_and_admit_once(browser, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url  # the sandbox returns to the order page on this server
    creator = CreatorFactory(name="Moth Club")
    owner = team_member(creator, Role.OWNER)
    door = team_member(creator, Role.DOOR)
    fan = UserFactory()
    start = timezone.localtime(timezone.now() + timedelta(days=10), timezone.get_fixed_timezone(60))

    # 1. The creator creates the event and a tier, then publishes.
    ctx_creator, page, creator_errors = new_phone(browser, live_server)
    log_in(page, owner)
    page.goto("/dashboard/events/new/")
    page.get_by_label("Title").fill("Moth Club Unplugged")
    page.get_by_role("textbox", name="Description (optional)").fill("Songs from the **new record**, in a small room.")
    page.get_by_label("Timezone").select_option("Europe/Berlin")
    page.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT20:00"))
    page.get_by_label("Ends").fill(start.strftime("%Y-%m-%dT23:00"))
    page.get_by_label("Hybrid").check()
    page.get_by_label("Venue name").fill("The Moth Room")
    page.get_by_label("Room capacity").fill("40")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("link", name="+ Add a tier").click()
    page.get_by_label("Name").fill("Standard")
    page.get_by_label("Price").fill("12.50")
    page.get_by_label("Quantity").fill("30")
    page.get_by_role("button", name="Add tier").click()
    page.get_by_role("button", name="Publish now").click()
    event = Event.objects.get(title="Moth Club Unplugged")
    assert event.status == Event.Status.PUBLISHED
    assert event.local_starts_at.hour == 20 and event.timezone == "Europe/Berlin"
    page.screenshot(path=str(artifacts / "journey-1-published.png"), full_page=True)

    # 2. An attendee finds it, reserves, pays in the sandbox and gets a QR ticket.
    ctx_fan, fan_page, fan_errors = new_phone(browser, live_server)
    log_in(fan_page, fan)
    fan_page.goto(event.get_absolute_url())
    fan_page.get_by_label("How many Standard tickets").select_option("1")
    fan_page.get_by_role("button", name="Reserve tickets").click()
    fan_page.wait_for_url("**/orders/**")
    fan_page.get_by_role("button", name="Pay €12.50").click()
    assert "TEST MODE" in fan_page.content().upper()
    fan_page.get_by_role("button", name="Pay 12.50 EUR").click()
    fan_page.wait_for_url("**/orders/**")
    ticket = Ticket.objects.get(event=event)
    assert ticket.holder_id == fan.pk and ticket.status == Ticket.Status.VALID
    fan_page.goto("/tickets/")
    assert fan_page.locator("figure.qr svg").count() == 1
    fan_page.screenshot(path=str(artifacts / "journey-2-ticket.png"), full_page=True)
    payload = fan_page.request.get("/api/v1/tickets").json()["results"][0]["qr_payload"]

    # 3. The door admits the ticket once and refuses it the second time.
    ctx_door, door_page, door_errors = new_phone(browser, live_server)
    log_in(door_page, door)
    door_page.goto(f"/door/{event.pk}/")
    result = door_page.locator("#door-result")
    for expected in ("ADMITTED", "ALREADY IN"):
        door_page.get_by_label("Ticket code").fill(payload)
        door_page.get_by_role("button", name="Check ticket").click()
        door_page.wait_for_function("(want) => document.querySelector('#door-result').innerText.toUpperCase()"
                                    ".includes(want)", arg=expected)
    assert "ALREADY IN" in result.inner_text().upper()
    door_page.screenshot(path=str(artifacts / "journey-3-door.png"), full_page=True)
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None
    assert ticket.checkins.filter(result="ok").count() == 1
    assert ticket.checkins.filter(result="already_checked_in").count() == 1
    assert creator_errors == [] and fan_errors == [] and door_errors == []
    for ctx in (ctx_creator, ctx_fan, ctx_door):
        ctx.close()
