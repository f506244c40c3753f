"""Browser code in one style, checked on the source (no browser, no database).

- Templates run no inline code: a <script> either loads a file (`type="module"`, with the request's
  nonce) or is a data block (`type="application/json"` from `json_script`, `application/ld+json`),
  which the browser never executes. No `on…=` event handler attributes, no `hx-on` (htmx would eval
  it), no `javascript:` URLs. This is what lets the Content-Security-Policy refuse inline script.
- Every file in static/js is an ES module: loaded by a template with type="module" or imported by
  another module, written with import/export, never a classic script (an IIFE, "use strict"), and
  sharing nothing through `window`. The one exception is the service worker (offline-sw.js), which
  is no page script: microstage.pwa serves it as a worker, and no template may load it.
- Every relative import names a file that exists (a renamed module cannot leave a caller behind),
  and every websocket is opened by the one client (lib/socket.js), every chart drawn by the one
  helper (lib/chart.js).
"""
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
JS = ROOT / "static" / "js"
SERVICE_WORKER = JS / "offline-sw.js"
STATIC = ROOT / "static"

DATA_TYPES = {"application/json", "application/ld+json"}
SCRIPT_TAG = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.I | re.S)
TYPE_ATTR = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.I)
# An attribute in a tag: on<event>= (onclick, onload, onerror, …) or htmx's hx-on / hx-on:<event>.
HANDLER_ATTR = re.compile(r"<[a-zA-Z][^<>]*?\s(on[a-z]+|hx-on(?::[\w:.-]*)?|data-hx-on(?::[\w:.-]*)?)\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)
STATIC_JS = re.compile(r"""\{%\s*static\s+["']js/([^"']+\.js)["']\s*%\}""")
IMPORT = re.compile(r"""(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}/[^'"]+)['"]"""
                    r"""|(?:^|[;\s])import\s*['"](\.{1,2}/[^'"]+)['"]"""
                    r"""|\bimport\(\s*['"](\.{1,2}/[^'"]+)['"]\s*\)""", re.M)


def templates():
    return sorted(TEMPLATES.rglob("*.html"))


def modules():
    return sorted(p for p in JS.rglob("*.js") if p != SERVICE_WORKER)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def script_problems(text: str) -> list[str]:
    problems = []
    for tag in SCRIPT_TAG.finditer(text):
        attrs, body = tag["attrs"], tag["body"]
        kind = (TYPE_ATTR.search(attrs) or [None, ""])[1].lower()
        if kind in DATA_TYPES:
            continue  # data, never executed
        if not re.search(r"\bsrc\s*=", attrs, re.I) or body.strip():
            problems.append(f"inline script: <script{attrs}>")
        elif kind != "module":
            problems.append(f"classic script (needs type=\"module\"): <script{attrs}>")
        elif "csp_nonce" not in attrs:
            problems.append(f"script without the request's nonce: <script{attrs}>")
    return problems


def handler_problems(text: str) -> list[str]:
    found = [f"inline event handler {m[1]}=" for m in HANDLER_ATTR.finditer(text)]
    return found + [f"javascript: URL: {m[0]}" for m in JS_URL.finditer(text)]


def test_the_checks_catch_what_they_are_for():
    assert script_problems('<script>alert(1)</script>')
    assert script_problems('<script type="text/javascript">alert(1)</script>')
    assert script_problems('<script type="module">import "./x.js";</script>')
    assert script_problems('<script src="/static/js/x.js"></script>')
    assert script_problems('<script type="module" src="/static/js/x.js"></script>')  # no nonce
    good = '<script type="module" src="{% static \'js/x.js\' %}" nonce="{{ request.csp_nonce }}"></script>'
    assert not script_problems(good)
    assert not script_problems('<script id="d" type="application/json">{"a": 1}</script>')
    assert not script_problems('<script type="application/ld+json">{{ json_ld }}</script>')
    assert handler_problems('<img src="x" onerror="boom()">')
    assert handler_problems('<button class="a"\n        onclick="go()">')
    assert handler_problems('<form hx-on::after-request="this.reset()">')
    assert handler_problems('<a href="javascript:void(0)">')
    assert not handler_problems('<p>Come on=in</p><button data-online="x" class="button">')


def test_templates_run_no_inline_code():
    problems = []
    for path in templates():
        text = path.read_text()
        problems += [f"{rel(path)}: {p}" for p in script_problems(text) + handler_problems(text)]
    assert problems == []


def test_every_script_is_an_es_module():
    loaded = set()
    for path in templates():
        loaded |= set(STATIC_JS.findall(path.read_text()))
    imported = set()
    problems = []
    for path in modules():
        text = path.read_text()
        name = rel(path)
        if not re.search(r"^\s*(import|export)\b", text, re.M):
            problems.append(f"{name}: neither imports nor exports (not written as an ES module)")
        if re.search(r"^\s*['\"]use strict['\"]", text, re.M) or re.search(r"^\(\s*(function\b|\(\)\s*=>)", text, re.M):
            problems.append(f"{name}: a classic script (IIFE / 'use strict')")
        if re.search(r"\bwindow\.[A-Za-z_$][\w$]*\s*=(?!=)", text) or re.search(r"\bglobalThis\.[\w$]+\s*=(?!=)", text):
            problems.append(f"{name}: puts a global on window (modules share code by import/export)")
        for match in IMPORT.finditer(text):
            target = (path.parent / next(g for g in match.groups() if g)).resolve()
            # A library from npm is a static file of its own (STATICFILES_DIRS), e.g. vendor/htmx/….
            if not target.is_file() and not finders.find(str(target.relative_to(STATIC))):
                problems.append(f"{name}: imports {target.relative_to(ROOT)}, which does not exist")
            elif JS in target.parents:
                imported.add(str(target.relative_to(JS)))
    problems += [f"static/js/{m}: loaded by a template but missing" for m in loaded if not (JS / m).is_file()]
    used = loaded | imported
    problems += [f"{rel(p)}: neither loaded by a template nor imported" for p in modules()
                 if str(p.relative_to(JS)) not in used]
    assert "offline-sw.js" not in loaded, "the service worker is registered by lib/pwa.js, never loaded as a script"
    assert problems == []


def test_one_websocket_client_and_one_chart_helper():
    problems = []
    for path in modules():
        text = path.read_text()
        if "new WebSocket(" in text and path != JS / "lib" / "socket.js":
            problems.append(f"{rel(path)}: opens a websocket itself (use lib/socket.js)")
        if re.search(r"new\s+Chart\s*\(", text) and path != JS / "lib" / "chart.js":
            problems.append(f"{rel(path)}: draws a chart itself (use lib/chart.js)")
    assert problems == []
