"""The printable credit note in en, ar, mn and ms, tested by its text layer (pypdf): the number,
the total and the translated labels are there; Arabic comes out in logical order and was shaped
(one letter drawn with several contextual glyphs); fonts are embedded; a void says so."""

from __future__ import annotations

import re
import unicodedata
from io import BytesIO

import pytest
from pypdf import PdfReader

from test_documents_en16931 import golden_refund

EXPECTED = {
    "en": ["Credit note", "Original invoice", "Total", "Tax per rate"],
    "ar": ["إشعار دائن", "الفاتورة الأصلية", "الإجمالي", "الضريبة حسب النسبة"],
    "mn": ["Кредит нот", "Анхны нэхэмжлэх", "Нийт дүн", "Татвар хувиар"],
    "ms": ["Nota kredit", "Invois asal", "Jumlah", "Cukai mengikut kadar"],
}


def text_of(pdf: bytes) -> str:
    reader = PdfReader(BytesIO(pdf))
    return unicodedata.normalize("NFKC", "\n".join(page.extract_text() for page in reader.pages))


def fonts_of(pdf: bytes) -> list:
    reader = PdfReader(BytesIO(pdf))
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.append(font.get_object())
    return fonts


def glyphs_per_character(pdf: bytes) -> dict[str, set[int]]:
    """From each embedded font's ToUnicode map: character -> the glyph ids drawn for it."""
    out: dict[str, set[int]] = {}
    for font in fonts_of(pdf):
        cmap = font.get("/ToUnicode")
        if cmap is None:
            continue
        data = cmap.get_object().get_data().decode("latin-1")
        for glyph, code in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", data):
            if len(code) == 4:
                out.setdefault(chr(int(code, 16)), set()).add(int(glyph, 16))
    return out


@pytest.mark.parametrize("lang", ["en", "ar", "mn", "ms"])
def test_the_pdf_in_each_language_shows_the_number_total_and_labels(shop, lang):
    g = golden_refund(shop)
    r = g["api"].get(f"/v1/refunds/{g['refund']['id']}/document.pdf", lang=lang)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    text = text_of(r.content)
    assert "CN-2026-000001" in text and "39.43" in text and "INV-100" in text
    for label in EXPECTED[lang]:
        assert label in text, (label, text)
    assert "Damaged in transit" in text
    for font in fonts_of(r.content):  # every font is embedded (a subset), none is only named
        descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        descriptor = descriptor.get_object()
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font


def test_arabic_is_shaped_and_in_logical_order(shop):
    g = golden_refund(shop)
    pdf = g["api"].get(f"/v1/refunds/{g['refund']['id']}/document.pdf", lang="ar").content
    text = text_of(pdf)
    # logical order: the words read right to left come out first letter first
    assert "الفاتورة الأصلية" in text and "ةيلصلأا" not in text
    # shaped: lam (ل) and alef-less letters are drawn with more than one contextual glyph
    glyphs = glyphs_per_character(pdf)
    shaped = [c for c in "لعيتبن" if len(glyphs.get(c, ())) > 1]
    assert shaped, {c: glyphs.get(c) for c in "لعيتبن"}


def test_the_default_language_is_the_tenants(shop):
    g = golden_refund(shop)
    api = g["api"]
    assert api.client.put("/v1/seller", json={"language": "ms"}, headers=api.headers()).status_code == 200
    text = text_of(api.get(f"/v1/refunds/{g['refund']['id']}/document.pdf").content)
    assert "Nota kredit" in text
    assert api.get(f"/v1/refunds/{g['refund']['id']}/document.pdf", lang="xx").status_code == 422


def test_a_voided_refund_s_pdf_says_so(shop):
    g = golden_refund(shop)
    api = g["api"]
    assert api.post(f"/v1/refunds/{g['refund']['id']}/void").status_code == 200
    text = text_of(api.get(f"/v1/refunds/{g['refund']['id']}/document.pdf", lang="mn").content)
    assert "ХҮЧИНГҮЙ" in text and "2026-06-15" in text
