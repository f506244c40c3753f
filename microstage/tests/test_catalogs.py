"""The translation checks that run with the suite: catalogues complete, template text marked."""
from pathlib import Path

import pytest

from microstage import catalogs


def _found(tmp_path: Path, source: str, name: str = "page.html") -> list[str]:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return [text for _, text in catalogs.untranslated_in_template(path)]


@pytest.mark.parametrize("source", [
    '{% load i18n %}<h1>{% translate "Tickets" %}</h1>',
    '{% load i18n %}<p>{% blocktranslate with n=count %}{{ n }} left{% endblocktranslate %}</p>',
    '<p>{{ event.title }} · {{ event.starts_at|date:"DATETIME_FORMAT" }}</p>',
    '{% load i18n %}<button aria-label="{% translate "Close" %}" title="{{ hint }}">×</button>',
    "<p>VIP · RTMP · HLS · QR — Microstage</p>",
    "{# a comment in English #}{% comment %}Also English{% endcomment %}<p>€</p>",
    "<script>const label = 'Not a page string';</script><style>.x:after{content:'y'}</style>",
    '{% block body_class %}watch-page{% endblock %}<input type="text" value="{{ v }}" name="email">',
    '<{% if href %}a href="{{ href }}"{% else %}button type="submit"{% endif %}>{{ label }}</a>',
    '{% load i18n %}<button type="submit" name="outcome" value="decline">{% translate "Decline" %}</button>',
])
def test_marked_or_not_prose_passes(tmp_path, source):
    assert _found(tmp_path, source) == []


@pytest.mark.parametrize(("source", "expected"), [
    ("<h1>Tickets</h1>", "Tickets"),
    ("<p>{{ n }} tickets left</p>", "tickets left"),
    ('<img src="x.png" alt="The stage">', 'alt="The stage"'),
    ('<input placeholder="Your email">', 'placeholder="Your email"'),
    ('<input type="submit" value="Pay now">', 'value="Pay now"'),
    ('<button type="submit" name="outcome" value="pay">Pay now</button>', "Pay now"),
    ('<a aria-label="Open menu" href="#">☰</a>', 'aria-label="Open menu"'),
    ("{% block head_title %}Too many attempts{% endblock %}", "Too many attempts"),
    ("<select><option>Any day</option></select>", "Any day"),
])
def test_unmarked_text_is_found(tmp_path, source, expected):
    assert _found(tmp_path, source) == [expected]


def test_plain_text_emails_are_read_line_by_line(tmp_path):
    found = _found(tmp_path, '{% load i18n %}{% translate "Hello" %}\nDoors open at {{ time }}\n', "mail.txt")
    assert found == ["Doors open at"]


def test_findings_name_the_line(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<div>\n\n  <p>Sold out</p>\n</div>\n", encoding="utf-8")
    assert catalogs.untranslated_in_template(path) == [(3, "Sold out")]


def test_catalogue_check_finds_untranslated_and_fuzzy(tmp_path):
    po = tmp_path / "de" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Tickets"\nmsgstr "Tickets"\n\n'
        'msgid "Sold out"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Waiting list"\nmsgstr "Warteliste"\n',
        encoding="utf-8",
    )
    found = catalogs.problems(tmp_path)
    assert any("'Sold out' is not translated" in line for line in found)
    assert any("'Waiting list' is fuzzy" in line for line in found)
    assert len(found) == 2
    catalogs.compile_all(tmp_path)
    assert po.with_suffix(".mo").exists()


def test_the_project_catalogues_are_complete():
    assert catalogs.problems() == []
