"""Inline SVG bar charts for the dashboard: geometry from integers (minor units, counts, per
mille), so no figure is rounded through a float; labels are the exact strings the API shows."""

from __future__ import annotations

WIDTH, HEIGHT, PAD = 640, 180, 24


def bars(values: list[int], labels: list[str], titles: list[str]) -> dict:
    """Vertical bars scaled to the largest value: x, y, width, height per bar (integers)."""
    top = max(values + [1])
    n = max(len(values), 1)
    slot = (WIDTH - 2 * PAD) // n
    width = max(slot - 4, 2)
    out = []
    for i, (value, label, title) in enumerate(zip(values, labels, titles)):
        height = (HEIGHT - 2 * PAD) * value // top
        out.append({"x": PAD + i * slot + 2, "y": HEIGHT - PAD - height, "w": width, "h": height,
                    "label": label, "title": title})
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "bars": out, "base": HEIGHT - PAD}


def hbars(values: list[int], labels: list[str], texts: list[str]) -> dict:
    """Horizontal bars (one row per label) scaled to the largest value."""
    top = max(values + [1])
    row, label_w = 28, 200
    out = []
    for i, (value, label, text) in enumerate(zip(values, labels, texts)):
        out.append({"y": i * row + 4, "w": (WIDTH - label_w - 120) * value // top, "label": label, "text": text})
    return {"width": WIDTH, "height": max(len(out), 1) * row + 8, "label_w": label_w, "rows": out}


def dashboard(data: dict) -> dict:
    daily = data["daily"]
    return {
        "count": bars([d["refunds"] for d in daily], [d["date"][5:] for d in daily],
                      [f"{d['date']}: {d['refunds']}" for d in daily]),
        "amount": bars([d["amount_minor"] for d in daily], [d["date"][5:] for d in daily],
                       [f"{d['date']}: {d['amount']} {data['currency']}" for d in daily]),
        "products": hbars([p["rate_permille"] for p in data["products"]],
                          [p["product"] for p in data["products"]],
                          [f"{p['rate']} % ({p['refunded']} / {p['sold']})" for p in data["products"]]),
        "reasons": hbars([r["amount_minor"] for r in data["reasons"]], [r["reason"] for r in data["reasons"]],
                         [f"{r['amount']} {data['currency']} ({r['refunds']})" for r in data["reasons"]]),
    }
