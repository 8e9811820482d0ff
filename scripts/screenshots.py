"""Take the documentation's screenshots from a running Garant with the demo data.

    GARANT_DATA_DIR=/tmp/garant-shots python3 dev.py start --port 8077 &
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8077 [NAME.png ...]

Writes docs/img/*.png with Debian's Chromium (headless) through Playwright; with names,
only those (e.g. the monitoring ones: monitoring-overview.png monitoring-system-tab.png
monitoring-alerts.png monitoring-dashboard.png; the wizard's: compliance-wizard.png
compliance-wizard-review.png; the risk, incident, people, patients, oversight and ethics ones:
risk-analysis.png risk-matrix.png incidents-register.png incident-detail.png
people-habilitations.png patients-public-register.png patients-system-tab.png
oversight-alert.png ethics-system-tab.png).
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


def open_tab(page, base: str, query: str, tab: str) -> None:
    """The first system of the register filtered by `query`, then its tab named `tab`."""
    page.goto(f"{base}/systemes/?q={query}")
    page.locator("table#systems tbody a").first.click()
    page.get_by_role("navigation", name="Rubriques du système").get_by_role(
        "link", name=tab, exact=True
    ).click()
    page.wait_for_load_state("networkidle")


def element_shot(page, locator, name: str, wanted) -> None:
    if wanted(name):
        locator.screenshot(path=str(OUT / name))
        print("wrote", OUT / name)


def clip_shot(page, name: str, wanted, bottom, top=None) -> None:
    """The page's full width from `top` (a locator; default the page's top) down to the bottom
    of `bottom`: a system's tabs and the part of the tab worth showing, without the header
    above them or the forms below."""
    if not wanted(name):
        return
    margin = 12
    start = 0
    if top is not None:
        start = max(0, top.evaluate("e => e.getBoundingClientRect().top + scrollY") - margin)
    end = bottom.evaluate("e => e.getBoundingClientRect().bottom + scrollY") + margin
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": start, "width": width, "height": end - start}
    page.screenshot(path=str(OUT / name), full_page=True, clip=clip)
    print("wrote", OUT / name)


def tabs(page):
    return page.get_by_role("navigation", name="Rubriques du système")


def fracture_tab_shots(page_for, base: str, wanted) -> None:
    """The demo's fracture detection at Valmont: its frozen AMDEC (version 2) with the
    criticality matrix, its habilitations' coverage per service, its patients' notice and
    channels, and its ethics referral with the committee's opinion."""
    names = (
        "risk-analysis.png",
        "risk-matrix.png",
        "people-habilitations.png",
        "patients-system-tab.png",
        "ethics-system-tab.png",
    )
    if not any(wanted(name) for name in names):
        return
    page = page_for("referent.valmont")
    open_tab(page, base, "fractures", "Analyse de risques")
    page.locator("#risk-matrix").wait_for()
    versions = page.locator("section.card").filter(has=page.locator("#failure-modes"))
    clip_shot(page, "risk-analysis.png", wanted, versions, top=tabs(page))
    element_shot(
        page,
        page.locator("section.card").filter(has=page.locator("#risk-matrix")),
        "risk-matrix.png",
        wanted,
    )
    open_tab(page, base, "fractures", "Habilitations")
    coverage = page.locator("section").filter(has=page.get_by_role("heading", name="Couverture"))
    clip_shot(page, "people-habilitations.png", wanted, coverage, top=tabs(page))
    open_tab(page, base, "fractures", "Information des patients")
    notice = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Notice d'information")
    )
    clip_shot(page, "patients-system-tab.png", wanted, notice, top=tabs(page))
    open_tab(page, base, "fractures", "Éthique")
    referrals = page.locator("main table").first
    clip_shot(page, "ethics-system-tab.png", wanted, referrals, top=tabs(page))
    page.context.close()


def incident_shots(page_for, base: str, wanted) -> None:
    """The register of adverse events at Valmont (on-time rate, late reports, median times)
    and the EIGS on the sepsis model: its reports, one sent on time and one still to do."""
    names = ("incidents-register.png", "incident-detail.png")
    if not any(wanted(name) for name in names):
        return
    page = page_for("dpo.valmont")
    page.goto(f"{base}/evenements/")
    page.wait_for_load_state("networkidle")
    shot(page, "incidents-register.png", wanted)
    page.get_by_role("link", name="Détection précoce du sepsis").first.click()
    page.get_by_role("heading", name="Déclarations réglementaires").wait_for()
    page.wait_for_load_state("networkidle")
    declarations = page.locator("section").filter(
        has=page.get_by_role("heading", name="Déclarations réglementaires")
    )
    clip_shot(page, "incident-detail.png", wanted, declarations, top=tabs(page))
    page.context.close()


def public_register_shot(page_for, base: str, wanted) -> None:
    """Valmont's public register of AI as an anonymous visitor reads it; its address is
    taken from the DPO's register settings (« Voir la page publique »)."""
    if not wanted("patients-public-register.png"):
        return
    page = page_for("dpo.valmont")
    page.get_by_role("link", name="Registre public des IA — CHU de Valmont").click()
    href = page.get_by_role("link", name="Voir la page publique").get_attribute("href")
    page.context.close()
    page = page_for(None)
    page.goto(base + href)
    page.wait_for_load_state("networkidle")
    first = page.locator("article.card").first
    clip_shot(page, "patients-public-register.png", wanted, first)
    page.context.close()


def oversight_alert_shot(page_for, base: str, wanted) -> None:
    """The demo's oversight alert: the override rate of Rochebrune's emergency department
    on the stroke detection, on its own page."""
    if not wanted("oversight-alert.png"):
        return
    page = page_for("referent.rochebrune")
    open_tab(page, base, "AVC", "Supervision humaine")
    page.locator("#alertes tbody a").first.click()
    page.get_by_role("heading", name="Ce qui se passe").wait_for()
    page.wait_for_load_state("networkidle")
    follow_up = page.locator("section").filter(
        has=page.get_by_role("heading", name="Suivi de l'alerte")
    )
    clip_shot(page, "oversight-alert.png", wanted, follow_up, top=tabs(page))
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
        fracture_tab_shots(page_for, base, wanted)
        incident_shots(page_for, base, wanted)
        public_register_shot(page_for, base, wanted)
        oversight_alert_shot(page_for, base, wanted)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000", sys.argv[2:])
