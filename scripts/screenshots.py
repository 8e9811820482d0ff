"""Take the documentation's screenshots from a running Garant with the demo data.

    GARANT_DATA_DIR=/tmp/garant-shots python3 dev.py start --port 8077 &
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8077 [NAME.png ...]

Writes docs/img/*.png with Debian's Chromium (headless) through Playwright; with names,
only those (e.g. the monitoring ones: monitoring-overview.png monitoring-system-tab.png
monitoring-alerts.png monitoring-dashboard.png; the wizard's: compliance-wizard.png
compliance-wizard-review.png).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"
PASSWORD = "garant-demo-2026"

# (file name, user, path or callable, full page?)
SHOTS = [
    ("login.png", None, "/connexion/", False),
    ("home.png", "referent.valmont", "/", True),
    ("register-list.png", "direction.gcs", "/systemes/?domain=D1&sort=name", False),
    ("system-form.png", "terrain.valmont", "/systemes/nouveau/", False),
    ("declaration-form.png", "terrain.valmont", "/systemes/declarations/declarer/", False),
    ("home-contributor.png", "terrain.valmont", "/", True),
    ("home-phone.png", "referent.valmont", "/", False),
    ("audit.png", "admin.valmont", "/audit/", False),
    ("users.png", "admin.valmont", "/utilisateurs/", False),
    ("import.png", "referent.valmont", "/systemes/importer/", False),
    ("api-docs.png", "referent.valmont", "/api/docs", False),
    ("monitoring-overview.png", "direction.gcs", "/suivi/", False),
]


def monitoring_shots(page_for, base: str, wanted) -> None:
    """The demo's drifting sepsis feed: the system's Suivi tab with its open alerts, the
    feed's alerts section, and its dashboard."""
    names = (
        "monitoring-system-tab.png",
        "monitoring-alerts.png",
        "monitoring-alert-detail.png",
        "monitoring-dashboard.png",
    )
    if not any(wanted(name) for name in names):
        return
    page = page_for("referent.valmont")
    page.goto(f"{base}/systemes/?q=sepsis")
    page.locator("table#systems tbody a").first.click()
    page.get_by_role("navigation", name="Rubriques du système").get_by_role(
        "link", name="Suivi"
    ).click()
    page.get_by_role("heading", name="Alertes ouvertes").wait_for()
    shot(page, "monitoring-system-tab.png", wanted)
    page.get_by_role("listitem").filter(has_text="Score de sepsis horaire").get_by_role(
        "link"
    ).first.click()
    page.wait_for_load_state("networkidle")
    if wanted("monitoring-alerts.png"):
        page.locator("#alertes").screenshot(path=str(OUT / "monitoring-alerts.png"))
        print("wrote", OUT / "monitoring-alerts.png")
    dashboard = page.url
    # an alert's own page: what changed, since when, how much, what to do, and its actions
    page.locator("#alertes tbody a").first.click()
    page.wait_for_load_state("networkidle")
    shot(page, "monitoring-alert-detail.png", wanted, full=True)
    page.goto(dashboard)
    page.get_by_role("link", name="Tableau de bord").click()
    page.wait_for_load_state("networkidle")
    shot(page, "monitoring-dashboard.png", wanted, full=True)
    page.context.close()


def wizard_shots(page_for, base: str, wanted) -> None:
    """Requalifying the demo's fracture detection: the first step, with the previous answers
    reused, and the review page before saving (nothing is saved)."""
    names = ("compliance-wizard.png", "compliance-wizard-review.png")
    if not any(wanted(name) for name in names):
        return
    page = page_for("referent.valmont")
    page.goto(f"{base}/systemes/?q=fractures")
    page.locator("table#systems tbody a").first.click()
    page.get_by_role("navigation", name="Rubriques du système").get_by_role(
        "link", name="Conformité"
    ).click()
    page.goto(page.url.rstrip("/") + "/qualifier/")
    page.get_by_role("heading", name="Est-ce un système d'IA ?").wait_for()
    shot(page, "compliance-wizard.png", wanted)
    for _ in range(20):  # every step is answered already: Enter up to the review
        if page.get_by_role("heading", name="Récapitulatif", exact=False).count():
            break
        with page.expect_navigation():
            page.locator("form.wizard input:checked").first.press("Enter")
    if wanted("compliance-wizard-review.png"):  # its obligations: due dates and proposed owners
        page.locator("section.card").filter(
            has=page.get_by_role("heading", name="Obligations qui seront suivies")
        ).screenshot(path=str(OUT / "compliance-wizard-review.png"))
        print("wrote", OUT / "compliance-wizard-review.png")
    page.context.close()


def shot(page, name: str, wanted, full: bool = False) -> None:
    if wanted(name):
        page.screenshot(path=str(OUT / name), full_page=full)
        print("wrote", OUT / name)


def main(base: str, only: list[str]) -> None:
    def wanted(name: str) -> bool:
        return not only or name in only

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )

        def page_for(user):
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="fr-FR")
            page = context.new_page()
            if user:
                page.goto(f"{base}/connexion/")
                page.fill("#id_username", user)
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
            return page

        for name, user, path, full in SHOTS:
            if not wanted(name):
                continue
            page = page_for(user)
            if name.endswith("-phone.png"):  # a phone's width: the menu collapses
                page.set_viewport_size({"width": 390, "height": 844})
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            shot(page, name, wanted, full)
            page.context.close()
        # a system page: the first system of the filtered list
        if wanted("system-detail.png") or wanted("system-history.png"):
            page = page_for("referent.valmont")
            page.goto(f"{base}/systemes/?q=fractures")
            page.locator("table#systems tbody a").first.click()
            page.wait_for_load_state("networkidle")
            shot(page, "system-detail.png", wanted, full=True)
            page.get_by_role("link", name="Historique").click()
            page.wait_for_load_state("networkidle")
            shot(page, "system-history.png", wanted)
            page.context.close()
        monitoring_shots(page_for, base, wanted)
        wizard_shots(page_for, base, wanted)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000", sys.argv[2:])
