"""Accessibility (RGAA, i.e. WCAG 2.1 AA) and layout, in a real Chromium over the whole site.

Every page of tests/site_pages.py (the routes of the site, filled with the demo's records of
the CHU de Valmont) is opened as every demo role; on each page that role may see:

- axe-core (vendored from npm, tests/vendor/axe-core/) finds no WCAG 2.0/2.1 A or AA
  violation;
- at 1280 px no table is cut (its frame does not scroll); at 320 px wide the page does not
  scroll sideways (scrollWidth <= the viewport's width), tables scroll inside their frame;
- every element reached with the Tab key (first ones of a sample of pages) shows a focus ring
  whose colour has at least 3:1 contrast against what is behind the ring.

Every page is walked as the platform's super-user, a subset as the other roles (ROLE_PAGES).

The menu is one line at 1280 and 1440 px and a "Menu" button on a phone. See
docs/accessibility.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from garant.core.models import Establishment
from tests.site_pages import demo_users, page_urls
from tests.test_browser import chromium  # noqa: F401  (the browser, once per module)

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 800}
FOCUS_TABS = 40  # focusable elements checked per page, from the top

# Every page is walked as the super-user (who may open them all). Each role sees the same
# templates with fewer links and buttons: the other roles walk the pages whose content
# depends most on the role (home, lists, the record pages with their action buttons), which
# keeps the test to a few minutes; the focus ring is checked on pages with every kind of
# control (menu, buttons, links, form fields, tabs, tables).
ROLE_PAGES = {
    "home",
    "registry:system_list",
    "registry:system_detail",
    "compliance:dashboard",
    "compliance:system",
    "lifecycle:portfolio",
    "lifecycle:project_detail",
    "lifecycle:idea_list",
    "monitoring:overview",
    "monitoring:feed_detail",
    "governance:committee_list",
    "governance:meeting_detail",
    "establishment_detail",
}
FOCUS_PAGES = {
    "home",
    "registry:system_list",
    "registry:system_edit",
    "lifecycle:project_detail",
    "governance:meeting_detail",
    "monitoring:feed_detail",
    "accounts:user_edit",
}

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " — " + n.failureSummary)
  }));
}"""

# The focused element, its ring's colour and the background behind the ring, sampled just
# outside the element on each of its four sides (what a sighted keyboard user sees around it)
FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const cs = getComputedStyle(el);
  const rgba = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const behind = (start) => {  // the colour painted behind: backgrounds composed upwards
    const layers = [];
    for (let node = start; node; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) {
      out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    }
    return out;
  };
  const r = el.getBoundingClientRect();
  const d = parseFloat(cs.outlineOffset || "0") + parseFloat(cs.outlineWidth || "0") / 2;
  const points = [[r.left - d, r.top + r.height / 2], [r.right + d, r.top + r.height / 2],
                  [r.left + r.width / 2, r.top - d], [r.left + r.width / 2, r.bottom + d]];
  const backgrounds = [];
  for (const [x, y] of points) {
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
    const under = document.elementsFromPoint(x, y).find(n => n !== el && !el.contains(n));
    if (under) backgrounds.push(behind(under));
  }
  const describe = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + " «" + (el.innerText || el.value || el.name || "").trim().slice(0, 40) + "»";
  return {element: describe, style: cs.outlineStyle, width: parseFloat(cs.outlineWidth),
          ring: rgba(cs.outlineColor), backgrounds: backgrounds};
}"""


# Element ids used twice, and form fields without an accessible name (a label, aria-label or
# aria-labelledby, or a button's text): axe-core 4 no longer reports duplicate ids
NAMES_AND_IDS = """() => {
  const count = {};
  for (const e of document.querySelectorAll("[id]")) count[e.id] = (count[e.id] || 0) + 1;
  const unnamed = [];
  for (const e of document.querySelectorAll(
      "input:not([type=hidden]), select, textarea, button")) {
    const labels = Array.from(e.labels || []).map(l => l.innerText).join(" ");
    const name = labels + (e.getAttribute("aria-label") || "") + (e.title || "")
      + (e.getAttribute("aria-labelledby") ? "labelledby" : "")
      + (e.tagName === "BUTTON" || ["submit", "button"].includes(e.type)
         ? (e.innerText || e.value || "") : "");
    if (!name.trim()) unnamed.push(e.outerHTML.slice(0, 100));
  }
  return {duplicates: Object.keys(count).filter(k => count[k] > 1), unnamed: unnamed};
}"""


# Tables cut at 1280 px: their frame scrolls and hides a column (the page does not)
CUT_TABLES = """() => Array.from(document.querySelectorAll(".table-wrap"))
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.querySelector("caption, th") || w).innerText.slice(0, 60))"""


def luminance(rgb) -> float:
    def channel(v):
        v = v / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula():
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((242, 183, 5), (255, 255, 255)), 2) < 2  # the old yellow ring


def _context(chromium, live_server, user, viewport=DESKTOP):  # noqa: F811
    """A browser context signed in as `user` (a session made by Django, no login form)."""
    client = Client()
    client.force_login(user)
    context = chromium.new_context(bypass_csp=True, locale="fr-FR", viewport=viewport)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


def _html_pages(context, live_server, urls):
    """The (name, url) that answer 200 with an HTML page to this context's user (not the
    files, redirects, refusals and POST-only actions)."""
    for name, url in urls:
        answer = context.request.get(live_server.url + url, max_redirects=0)
        if answer.status == 200 and "text/html" in answer.headers.get("content-type", ""):
            yield name, url


def _focus_problems(page) -> list:
    problems = []
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.mouse.click(1, page.viewport_size["height"] - 1)  # start from the page itself
    page.evaluate("() => window.scrollTo(0, 0)")
    seen = set()
    for _ in range(FOCUS_TABS):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring is None or ring["element"] in seen:
            if ring is None:
                break
            continue
        seen.add(ring["element"])
        if ring["style"] == "none" or ring["width"] < 2:
            problems.append((ring["element"], "no focus ring"))
            continue
        worst = min((contrast(ring["ring"], bg) for bg in ring["backgrounds"]), default=21)
        if worst < 3:
            problems.append((ring["element"], f"ring contrast {worst:.2f}:1"))
    return problems


def test_every_page_as_every_role(demo, live_server, chromium):  # noqa: F811
    """axe-core over every page as every demo role; no sideways scroll at 320 px; the focus
    ring contrasts (see ROLE_PAGES and FOCUS_PAGES)."""
    urls = page_urls(Establishment.objects.get(code="valmont"))
    violations, wide, focus, names, clipped = [], [], [], [], []
    walked, seen = {}, set()
    for label, user in demo_users().items():
        context = _context(chromium, live_server, user)
        page = context.new_page()
        page.set_default_timeout(15_000)
        walked[label] = 0
        mine = urls if label == "admin" else [(n, u) for n, u in urls if n in ROLE_PAGES]
        for name, url in _html_pages(context, live_server, mine):
            walked[label] += 1
            seen.add(name)
            page.set_viewport_size(DESKTOP)
            page.goto(live_server.url + url)
            page.add_script_tag(content=AXE)
            cut = page.evaluate(CUT_TABLES)
            if cut:
                clipped.append((label, name, cut))
            found = page.evaluate(NAMES_AND_IDS)
            if found["duplicates"] or found["unnamed"]:
                names.append((label, name, found))
            for v in page.evaluate(RUN_AXE, WCAG_AA):
                violations.append((label, name, v["id"], v["impact"], v["help"], v["nodes"]))
            if label == "admin" and name in FOCUS_PAGES:
                focus += [(name, *p) for p in _focus_problems(page)]
            page.set_viewport_size(PHONE)
            scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll[0] > scroll[1]:
                wide.append((label, name, url, scroll))
        context.close()
    assert walked["admin"] > 50, walked  # the whole site, not a part of it
    assert {"lifecycle:project_detail", "governance:meeting_detail"} <= seen, seen
    assert all(n >= 8 for n in walked.values()), walked
    assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)
    assert not names, names
    assert not clipped, clipped
    assert not wide, wide
    assert not focus, focus


def test_the_menu_is_one_line_on_a_screen_and_a_button_on_a_phone(live_server, chromium, world):  # noqa: F811
    admin = world["users"]["a"]["admin"]
    for width in (1280, 1440):
        context = _context(chromium, live_server, admin, {"width": width, "height": 800})
        page = context.new_page()
        page.goto(live_server.url + "/")
        tops = page.eval_on_selector_all(
            "nav.main a", "links => links.map(a => Math.round(a.getBoundingClientRect().top))"
        )
        assert len(tops) >= 10 and len(set(tops)) == 1, (width, tops)
        assert not page.get_by_role("button", name="Menu").is_visible()
        context.close()
    context = _context(chromium, live_server, admin, {"width": 390, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/")
    menu = page.get_by_role("button", name="Menu")
    assert menu.get_attribute("aria-expanded") == "false"
    assert (
        not page.locator("#main-nav")
        .get_by_role("link", name="Cartographie", exact=True)
        .is_visible()
    )
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    page.locator("#main-nav").get_by_role("link", name="Cartographie", exact=True).click()
    page.wait_for_url(f"{live_server.url}/systemes/")
    context.close()


def test_a_form_sent_back_starts_from_its_error_summary(live_server, chromium, world):  # noqa: F811
    context = _context(chromium, live_server, world["users"]["a"]["admin"])
    page = context.new_page()
    page.goto(live_server.url + "/comites/nouveau/")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert summary.evaluate("el => el === document.activeElement")
    assert "Ce champ est obligatoire." in summary.inner_text()
    summary.get_by_role("link", name="Nom", exact=True).click()  # the link leads to its field
    assert page.evaluate("document.activeElement.name") == "name"
    context.close()
