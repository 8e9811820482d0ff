"""The director's home page in a real headless Chromium, on the demo: the coordinator of care of
the group (`direction.gcs`, committee member in the four CHUs) sees the four establishments side
by side and downloads the board's PDF. With GARANT_SCREENSHOTS=1 it also writes
docs/img/home-director.png."""

import io
import os
from pathlib import Path

import pypdf
import pytest
from django.core.management import call_command

from garant.core.models import Establishment
from tests.conftest import PASSWORD
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def test_director_sees_four_establishments_and_exports_the_board(page, live_server, db):  # noqa: F811
    call_command("demo", "--password", PASSWORD, stdout=io.StringIO())
    names = sorted(Establishment.objects.values_list("name", flat=True))
    assert len(names) == 4

    login(page, live_server, "direction.gcs")
    table = page.get_by_role("table", name="État de la gouvernance de l'IA de chaque établissement")
    rows = table.locator("tbody tr")
    assert rows.count() == 4
    assert sorted(rows.locator("th").all_inner_texts()) == names
    assert page.get_by_role("heading", name="Gouvernance par établissement").is_visible()
    if os.environ.get("GARANT_SCREENSHOTS"):
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.get_by_role(
            "heading", name="Gouvernance par établissement"
        ).scroll_into_view_if_needed()
        page.screenshot(path=DOCS_IMG / "home-director.png", full_page=False)

    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter pour le conseil (PDF)").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    for name in names:
        assert name in text
