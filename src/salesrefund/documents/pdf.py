"""The printable credit note: HTML laid out by WeasyPrint into a PDF with its fonts embedded.

Labels come from the gettext catalogs (``salesrefund/i18n/*.po``) like every message of the
server. Arabic is laid out right to left (``dir="rtl"``) and shaped by HarfBuzz through Pango;
the font is DejaVu Sans (Latin, Cyrillic with Mongolian's Ө and Ү, Arabic), found through
fontconfig and embedded as a subset. Nothing is fetched: every URL but ``data:`` is refused.
"""

from __future__ import annotations

import html
from io import BytesIO

from .. import i18n
from ..domain.money import format_amount, format_quantity, format_rate
from .record import CreditNoteRecord, Party

FONT = "DejaVu Sans"
RTL = {"ar"}

LABELS = (
    "Credit note", "Number", "Date", "Original invoice", "Invoice date", "Seller", "Buyer", "VAT number",
    "Description", "Quantity", "Unit price", "Tax rate", "Net", "Tax", "Amount", "Tax per rate",
    "Taxable amount", "Total net", "Total tax", "Rounding", "Total", "Payments", "Reason", "VOIDED",
    "This credit note was voided on {date}.", "Customer", "Refund id", "Scan to verify with ZATCA",
)


def _(text: str, lang: str) -> str:
    return i18n.translate(text, lang)


def html_of(record: CreditNoteRecord, lang: str, zatca_qr: str | None = None) -> str:
    """The credit note as an HTML page (what the PDF is laid out from)."""
    cur = record.currency
    e = html.escape
    amount = lambda minor: format_amount(minor, cur)  # noqa: E731
    rows = "".join(
        f"<tr><td>{e(line.description or line.product or '')}</td>"
        f"<td class=n>{format_quantity(line.quantity) if line.quantity else ''}</td>"
        f"<td class=n>{_price(line, cur) if line.quantity else ''}</td>"
        f"<td class=n>{format_rate(line.tax_rate)}%</td><td class=n>{amount(line.net_minor)}</td>"
        f"<td class=n>{amount(line.tax_minor)}</td><td class=n>{amount(line.gross_minor)}</td></tr>"
        for line in record.lines)
    taxes = "".join(f"<tr><td class=n>{format_rate(x.rate)}%</td><td class=n>{amount(x.net_minor)}</td>"
                    f"<td class=n>{amount(x.tax_minor)}</td></tr>" for x in record.taxes)
    payments = "".join(f"<tr><td>{e(p.method)}</td><td class=n>{amount(p.amount_minor)}</td></tr>"
                       for p in record.payments)
    void = ""
    if record.voided:
        day = record.voided_at.date().isoformat() if record.voided_at else ""
        void = (f"<div class=void><b>{e(_('VOIDED', lang))}</b> — "
                f"{e(_('This credit note was voided on {date}.', lang).format(date=day))}</div>")
    invoice = ""
    if record.invoice is not None:
        invoice = (f"<tr><th>{e(_('Original invoice', lang))}</th><td>{e(record.invoice.number)}</td></tr>"
                   f"<tr><th>{e(_('Invoice date', lang))}</th><td>{record.invoice.date.isoformat()}</td></tr>")
    qr = ""
    if zatca_qr:
        qr = (f"<div class=qr><img src=\"data:image/svg+xml;base64,{zatca_qr}\" alt=QR>"
              f"<div>{e(_('Scan to verify with ZATCA', lang))}</div></div>")
    rounding = ""
    if record.rounding_minor:
        rounding = f"<tr><th>{e(_('Rounding', lang))}</th><td class=n>{amount(record.rounding_minor)}</td></tr>"
    reason = f"<p><b>{e(_('Reason', lang))}:</b> {e(record.reason)}</p>" if record.reason else ""
    direction = "rtl" if lang in RTL else "ltr"
    return f"""<!doctype html>
<html lang="{lang}" dir="{direction}"><head><meta charset="utf-8"><title>{e(_('Credit note', lang))} {e(record.number)}</title>
<style>
@page {{ size: A4; margin: 16mm 14mm; }}
body {{ font-family: "{FONT}"; font-size: 9.5pt; color: #111; }}
h1 {{ font-size: 17pt; margin: 0 0 4mm 0; }}
table {{ border-collapse: collapse; width: 100%; margin: 2mm 0 4mm 0; }}
th, td {{ padding: 1.2mm 1.5mm; text-align: start; vertical-align: top; }}
.lines th {{ border-bottom: 0.6pt solid #444; }}
.lines td {{ border-bottom: 0.3pt solid #bbb; }}
.n {{ text-align: end; white-space: nowrap; direction: ltr; unicode-bidi: embed; }}
.parties td {{ width: 50%; }}
.totals {{ width: 45%; margin-inline-start: auto; }}
.totals .grand th, .totals .grand td {{ font-size: 12pt; font-weight: bold; border-top: 0.8pt solid #111; }}
.void {{ border: 1.5pt solid #b00; color: #b00; padding: 2mm; margin-bottom: 4mm; font-size: 11pt; }}
.qr {{ float: inline-end; text-align: center; font-size: 7pt; }}
.qr img {{ width: 32mm; height: 32mm; }}
.muted {{ color: #555; }}
</style></head><body>
{qr}
<h1>{e(_('Credit note', lang))}</h1>
{void}
<table class=meta>
<tr><th>{e(_('Number', lang))}</th><td>{e(record.number)}</td></tr>
<tr><th>{e(_('Date', lang))}</th><td>{record.issue_date.isoformat()}</td></tr>
{invoice}
</table>
<table class=parties><tr>
<td><b>{e(_('Seller', lang))}</b><br>{_party(record.seller, lang)}</td>
<td><b>{e(_('Buyer', lang))}</b><br>{_party(record.buyer, lang)}</td>
</tr></table>
<table class=lines>
<tr><th>{e(_('Description', lang))}</th><th class=n>{e(_('Quantity', lang))}</th><th class=n>{e(_('Unit price', lang))}</th>
<th class=n>{e(_('Tax rate', lang))}</th><th class=n>{e(_('Net', lang))}</th><th class=n>{e(_('Tax', lang))}</th>
<th class=n>{e(_('Amount', lang))}</th></tr>
{rows}
</table>
<b>{e(_('Tax per rate', lang))}</b>
<table class=lines><tr><th class=n>{e(_('Tax rate', lang))}</th><th class=n>{e(_('Taxable amount', lang))}</th>
<th class=n>{e(_('Tax', lang))}</th></tr>{taxes}</table>
<table class=totals>
<tr><th>{e(_('Total net', lang))}</th><td class=n>{amount(record.net_minor)}</td></tr>
<tr><th>{e(_('Total tax', lang))}</th><td class=n>{amount(record.tax_minor)}</td></tr>
{rounding}
<tr class=grand><th>{e(_('Total', lang))}</th><td class=n>{amount(record.total_minor)} {e(cur.code)}</td></tr>
</table>
<b>{e(_('Payments', lang))}</b>
<table class=lines>{payments}</table>
{reason}
<p class=muted>{e(_('Refund id', lang))}: {e(record.id)}</p>
</body></html>"""


def _price(line, cur) -> str:
    from ..domain.money import format_price
    return format_price(line.unit_price, cur) if line.unit_price is not None else ""


def _party(party: Party, lang: str) -> str:
    e = html.escape
    parts = [f"<b>{e(party.name)}</b>"]
    street = " ".join(x for x in (party.building_number, party.street) if x)
    city = " ".join(x for x in (party.postal_code, party.city) if x)
    for text in (street, party.district, city, party.region, party.country):
        if text:
            parts.append(e(text))
    if party.vat_number:
        parts.append(f"{e(_('VAT number', lang))}: <span dir=ltr>{e(party.vat_number)}</span>")
    if party.code:
        parts.append(f"{e(_('Customer', lang))}: {e(party.code)}")
    return "<br>".join(parts)


def render(record: CreditNoteRecord, lang: str, *, zatca_qr: str | None = None) -> bytes:
    """The PDF (bytes) of ``record`` in ``lang``; ``zatca_qr`` is the QR as a base64 SVG."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher
    lang = lang if lang in i18n.LANGUAGES else "en"
    out = BytesIO()
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)  # no network, no files
    HTML(string=html_of(record, lang, zatca_qr), url_fetcher=fetcher).write_pdf(out)
    return out.getvalue()
