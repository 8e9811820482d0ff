"""Take the governance screenshots of docs/governance.md from a running Garant with the demo.

    GARANT_DATA_DIR=/tmp/garant-shots python3 dev.py start --port 8077 &
    .venv/bin/python scripts/screenshots_governance.py http://127.0.0.1:8077

Writes, with Debian's Chromium (headless) through Playwright:

- docs/img/governance-decision.png: a signed decision "généraliser sous conditions" of the
  demo (CHU de Valmont's Copil IA, read by its committee member), with its conditions, the
  frozen assessment it rests on and its actions;
- docs/img/governance-register.png: the decision register as the group's coordinator reads
  it, across the establishments.

The demo (`garant demo`) signs these decisions once the lifecycle demo has given its projects
frozen assessments; the script stops with a message if there is none.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"
PASSWORD = "garant-demo-2026"
VIEWPORT = {"width": 1280, "height": 860}


def signed_in(browser, base: str, username: str):
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/connexion/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")
    return page


def decision_shot(browser, base: str) -> None:
    page = signed_in(browser, base, "comite.valmont")
    page.goto(f"{base}/comites/decisions/?outcome=generalise_with_conditions")
    links = page.get_by_role("link", name="généraliser sous conditions")
    if links.count() == 0:
        sys.exit("no decision « généraliser sous conditions » in the demo: load it first")
    links.first.click()
    page.get_by_text("Cette décision ne peut plus être modifiée.").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "governance-decision.png"), full_page=True)
    print("wrote", OUT / "governance-decision.png")
    page.context.close()


def register_shot(browser, base: str) -> None:
    page = signed_in(browser, base, "direction.gcs")
    page.goto(f"{base}/comites/decisions/")
    page.get_by_role("heading", name="Relevé de décisions").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "governance-register.png"), full_page=False)
    print("wrote", OUT / "governance-register.png")
    page.context.close()


def main(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        decision_shot(browser, base)
        register_shot(browser, base)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
