"""Take the documentation's screenshots from a running Garant with the demo data.

    GARANT_DATA_DIR=/tmp/garant-shots python3 dev.py start --port 8077 &
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8077

Writes docs/img/*.png with Debian's Chromium (headless) through Playwright.
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
    ("audit.png", "admin.valmont", "/audit/", False),
    ("users.png", "admin.valmont", "/utilisateurs/", False),
    ("import.png", "referent.valmont", "/systemes/importer/", False),
    ("api-docs.png", "referent.valmont", "/api/docs", False),
]


def main(base: str) -> None:
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
            page = page_for(user)
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / name), full_page=full)
            print("wrote", OUT / name)
            page.context.close()
        # a system page: the first system of the filtered list
        page = page_for("referent.valmont")
        page.goto(f"{base}/systemes/?q=fractures")
        page.locator("table#systems tbody a").first.click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / "system-detail.png"), full_page=True)
        page.get_by_role("link", name="Historique").click()
        page.screenshot(path=str(OUT / "system-history.png"), full_page=False)
        print("wrote system-detail.png, system-history.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
