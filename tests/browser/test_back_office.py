"""The back office page and /docs in a real browser (see conftest): a counter's whole refund, a
draft posted, a field error beside its field, Arabic right to left, Swagger UI authorizing."""

from __future__ import annotations

import re

from browser_kit import DEMO_TOKEN, shoot, sign_in


def test_sign_in_find_an_invoice_preview_issue_see_the_journal_and_void(page):
    sign_in(page)
    assert page.locator("svg[role=img]").count() == 4  # the dashboard's charts
    shoot(page, "dashboard")
    page.get_by_role("link", name="Invoices").click()
    page.get_by_label("Invoice number").fill("INV-1001")
    page.keyboard.press("Enter")  # the search form works from the keyboard
    page.get_by_role("link", name="INV-1001").click()
    page.wait_for_url("**/app/invoices/INV-1001")
    page.get_by_label("Quantity to refund on line 2").fill("1")
    page.get_by_label("Reason", exact=True).fill("Chipped")
    total = page.locator("#preview-figures [data-k=total]")
    total.wait_for(state="visible")
    assert total.inner_text() == "8.93 EUR"  # the engine's own figures, before anything is written
    shoot(page, "refund-form")
    page.get_by_role("button", name="Issue the refund").click()
    page.wait_for_url(re.compile(r".*/app/refunds/[0-9a-f-]+\?done=issued"))
    assert page.locator("#done").inner_text() == "The refund was recorded."
    journal = page.locator("table.journal").first
    assert "4100" in journal.inner_text() and "Sales returns" in journal.inner_text()
    number = page.locator("h1 .code").inner_text()
    assert number.startswith("CN-")
    shoot(page, "refund")
    page.get_by_role("link", name="Void").click()
    assert page.get_by_role("heading", name="Void this refund?").is_visible()
    page.get_by_label("Reason for voiding").fill("Customer kept it")
    page.get_by_role("button", name="Yes, void it").click()
    page.wait_for_url("**done=void")
    assert page.locator("h1 .state").inner_text() == "voided"
    assert page.locator("table.journal").count() == 2  # the entry and its reversal


def test_a_draft_is_posted(page):
    sign_in(page)
    page.goto("/app/refunds?state=draft")
    page.locator("table.results a", has_text="draft").first.click()
    page.get_by_role("link", name="Post").click()
    page.get_by_role("button", name="Yes, post it").click()
    page.wait_for_url("**done=post")
    assert page.locator("h1 .state").inner_text() == "posted"
    assert page.locator("h1 .code").inner_text().startswith("CN-")


def test_a_field_error_is_shown_next_to_its_field(page):
    sign_in(page)
    page.goto("/app/invoices/INV-1001")
    field = page.get_by_label("Quantity to refund on line 1")
    field.fill("99")
    error = page.locator("#qty-1-error")
    error.wait_for(state="visible")  # live, from the preview
    assert "exceeds" in error.inner_text()
    assert field.get_attribute("aria-invalid") == "true"
    box, slot = field.bounding_box(), error.bounding_box()
    assert 0 <= slot["y"] - (box["y"] + box["height"]) < 40 and abs(slot["x"] - box["x"]) < 40  # right beneath it
    page.get_by_role("button", name="Issue the refund").click()  # and from the server, after sending
    assert "exceeds" in page.locator("#qty-1-error").inner_text()
    assert page.get_by_label("Quantity to refund on line 1").input_value() == "99"
    shoot(page, "field-error")


def test_arabic_is_right_to_left(page):
    sign_in(page)
    page.goto("/app/invoices/INV-1001")
    page.get_by_role("link", name="العربية").click()
    page.wait_for_url("**/app/invoices/INV-1001")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    brand, nav = page.locator(".brand").bounding_box(), page.locator(".top nav").first.bounding_box()
    assert brand["x"] > nav["x"]  # the header runs from the right
    cell = page.locator("table.lines tbody tr").first.locator("td").first.bounding_box()
    assert cell["x"] > 640  # the first column is on the right
    page.locator("#qty-1").fill("99")
    page.locator("#qty-1-error").wait_for(state="visible")
    assert "تتجاوز" in page.locator("#qty-1-error").inner_text()
    shoot(page, "arabic")
    page.get_by_role("link", name="English").click()


def test_docs_render_offline_and_authorize_with_a_token(page):
    page.goto("/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 30
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(DEMO_TOKEN)
    page.locator(".modal-ux button.modal-btn.authorize").click()
    assert page.locator(".modal-ux button.modal-btn.authorize").count() == 0  # now it offers "Logout"
    page.locator(".modal-ux button.btn-done").click()
    operation = page.locator("#operations-invoices-get_invoice_v1_invoices__number__get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click() if operation.get_by_role(
        "button", name="Try it out").count() else None
    operation.locator("input[placeholder=number]").fill("INV-1001")
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert "INV-1001" in operation.locator(".live-responses-table .microlight").first.inner_text()
    status.scroll_into_view_if_needed()
    shoot(page, "docs")
    page.goto("/redoc")
    page.get_by_text("Issue a refund", exact=False).first.wait_for()


def test_keyboard_only_sign_in_and_search(page):
    page.goto("/app/login")
    assert page.evaluate("document.activeElement.id") == "token"  # focus starts in the token field
    page.keyboard.type(DEMO_TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url("**/app/dashboard")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    page.goto("/app/invoices")
    assert page.evaluate("document.activeElement.id") == "number"
    page.keyboard.type("INV-100")
    page.keyboard.press("Enter")
    page.wait_for_url("**number=INV-100**")
    assert page.locator("table.results tbody tr").count() == 3


def test_a_tablet_needs_no_sideways_scrolling(browser, server):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, base_url=server, has_touch=True)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server) else route.abort())
    tab = context.new_page()
    sign_in(tab)
    for path in ("/app/dashboard", "/app/invoices/INV-1001", "/app/refunds"):
        tab.goto(path)
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    height = tab.get_by_role("button", name="Sign out").bounding_box()["height"]
    assert height >= 36  # big enough to tap
    context.close()
