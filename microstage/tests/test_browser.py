"""Real browser, phone first: sign up, log out, log in, create a creator page; public pages at two widths.

Screenshots go to test-artifacts/ (gitignored) so a person can look at the layout.
"""
import io
import re

import pytest
from django.core.management import call_command

from microstage.models import Creator, Role, TeamMembership, User

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "violet-lantern-harbour-42"

# Checked on every page we visit: nothing wider than the screen, every control at least 44px tall,
# every form control with a label.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) problems.push(`page is ${doc.scrollWidth}px wide`);
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
      && getComputedStyle(el).visibility !== 'hidden' && !el.closest('.visually-hidden'); };
  const controls = 'button, a.button, a.link-button, input, select, textarea, .dash-nav a, .tabs a, .account-nav a';
  for (const el of document.querySelectorAll(controls)) {
    if (!visible(el) || el.type === 'hidden') continue;
    const r = el.getBoundingClientRect();
    const name = (el.id || el.name || el.textContent || el.tagName).trim().slice(0, 40);
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.labels[0];
      if (!label || label.getBoundingClientRect().height < 43.5) problems.push(`small label: ${name}`);
    } else if (r.height < 43.5) {
      problems.push(`small target (${Math.round(r.height)}px): ${name}`);
    }
    if (r.right > window.innerWidth + 1) problems.push(`off screen: ${name}`);
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && !el.labels.length && !el.getAttribute('aria-label'))
      problems.push(`no label: ${name}`);
  }
  return problems;
}"""


def assert_good_layout(page):
    page.wait_for_load_state()  # styles applied before measuring
    assert page.evaluate(LAYOUT_PROBLEMS) == [], page.url
    assert page.js_errors == []


def assert_focus_is_visible(page, selector):
    """Keyboard focus on the element shows an outline (not just the browser default being removed)."""
    page.focus(selector)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    style = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                          " return [s.outlineStyle, s.outlineWidth]; }")
    assert style[0] != "none" and style[1] != "0px", style


def test_phone_sign_up_log_out_log_in_and_create_a_creator(phone, artifacts):
    page = phone
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.wait_for_url("**/accounts/signup/")
    assert_good_layout(page)
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/dashboard/")
    assert page.get_by_role("heading", name="Welcome").is_visible()
    assert User.objects.filter(email="nia@example.com").exists()
    assert_good_layout(page)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("link", name="Log in").is_visible()

    page.get_by_role("link", name="Log in").click()
    page.wait_for_url("**/accounts/login/")
    assert page.get_by_role("link", name="Send me a sign-in code").is_visible()
    assert page.get_by_role("link", name="Forgot your password?").is_visible()
    assert_good_layout(page)
    assert_focus_is_visible(page, "#id_login")
    # A wrong password first: the error is announced and tied to the form.
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    page.screenshot(path=artifacts / "login-error-phone.png", full_page=True)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")
    page.screenshot(path=artifacts / "dashboard-welcome-phone.png", full_page=True)

    # An empty name is refused in place, then a real one creates the page.
    page.get_by_role("button", name="Create creator page").click()
    expect(page.locator("#id_name[aria-invalid=true]")).to_be_visible()
    assert "This field is required." in page.locator("#id_name_error").inner_text()
    assert not Creator.objects.exists()
    page.get_by_label("Name").fill("Night Owls")
    page.get_by_label("Bio").fill("Late sets in a small room.")
    page.get_by_role("button", name="Create creator page").click()
    page.wait_for_url("**/dashboard/")
    assert page.get_by_role("heading", name="Night Owls", level=1).is_visible()
    assert page.get_by_role("heading", name="Next steps").is_visible()
    assert page.get_by_role("navigation", name="Sections").is_visible()
    assert TeamMembership.objects.get(user__email="nia@example.com").role == Role.OWNER
    assert_good_layout(page)
    page.screenshot(path=artifacts / "dashboard-phone.png", full_page=True)

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Team").click()
    page.wait_for_url("**/dashboard/team/")
    assert_good_layout(page)
    page.screenshot(path=artifacts / "team-phone.png", full_page=True)

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Account").click()
    page.wait_for_url("**/accounts/email/")
    expect(page.get_by_role("radio", name=re.compile("nia@example.com"))).to_be_checked()
    assert_good_layout(page)
    page.get_by_role("navigation", name="Account settings").get_by_role("link", name="Password").click()
    page.wait_for_url("**/accounts/password/change/")
    assert_good_layout(page)

    page.get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    page.screenshot(path=artifacts / "login-phone.png", full_page=True)


def test_small_phone_account_pages(phone, artifacts):
    """The narrowest common phone (360px): every account page still fits, with full-size targets."""
    page = phone
    page.set_viewport_size({"width": 360, "height": 740})
    for path, heading in [("/accounts/login/code/", "Send me a sign-in code"),
                          ("/accounts/password/reset/", "Password Reset"),
                          ("/accounts/signup/", "Sign Up")]:
        page.goto(path)
        assert page.get_by_role("heading", name=heading, level=1).is_visible()
        assert_good_layout(page)
    page.get_by_role("button", name="Sign Up").click()  # empty form: errors in place
    expect(page.locator("#id_email[aria-invalid=true]")).to_be_visible()
    assert page.get_by_role("alert").first.is_visible()
    assert_good_layout(page)
    page.screenshot(path=artifacts / "signup-errors-phone.png", full_page=True)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_public_event_pages(request, size, artifacts):
    page = request.getfixturevalue(size)
    call_command("demo", stdout=io.StringIO())  # the demo prints its logins
    page.goto("/")
    assert page.get_by_role("heading", name="Upcoming shows").is_visible()
    assert_good_layout(page)
    page.screenshot(path=artifacts / f"discover-{size}.png", full_page=True)
    page.locator(".event-card a").first.click()
    page.wait_for_url("**/e/*/")
    assert page.get_by_role("heading", name="Tickets").is_visible()
    assert page.locator(".tier").count() >= 1
    assert_good_layout(page)
    page.screenshot(path=artifacts / f"event-{size}.png", full_page=True)
