"""Helpers of the Vodo door tests: the form of the document's example, and the message templates
used anywhere in ``src/`` (for the Arabic catalog's completeness test)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "salesrefund"

# The document's curl example, field by field, in its order.
DOCUMENT_FORM = [
    ("description", "credit note Desc"), ("discount_type", "0"), ("item_id[]", ""), ("item_price[]", "100"),
    ("item_qty[]", "1"), ("item_discount[]", ""), ("item_desc[]", "item1_desc"), ("employee_id[]", ""),
    ("pos_session_id", "8511111"), ("pos_id", "181"),
]

# Functions whose string arguments are message templates (the engine's and the doors' helpers).
_HELPERS = re.compile(r"^(reject|_?error|Violation|_?bad|_?invalid|invalid|broken|_?violation|_?fail\w*|_?missing)$")
_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")
# Templates built with an f-string in domain.money.scaled: the values it can take.
_MONEY_VARIANTS = [f"{{field_name}} allows at most {places} for this {what}" for places, what in (
    ("4 decimals", "quantity"), ("4 decimals", "price"), ("4 decimals", "tax rate"))] + [
    f"{{field_name}} allows at most {places} for this currency ({code})" for places, code in (
        ("2 decimals", "SAR"), ("2 decimals", "EUR"), ("2 decimals", "USD"), ("2 decimals", "MYR"),
        ("0 decimals", "MNT"), ("2 decimals", "MNT"), ("3 decimals", "KWD"), ("0 decimals", "JPY"))]


def _strings(node, constants: dict[str, str]) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body, constants), _strings(node.orelse, constants)
        return a + b if a is not None and b is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _strings(node.left, constants), _strings(node.right, constants)
        if a is not None and b is not None and len(a) == len(b) == 1:
            return [a[0] + b[0]]
    return None


def message_templates() -> set[str]:
    """Every English message template passed to an error helper in ``src/`` (with spaces: codes and
    field names have none), plus the variants of the one f-string template in domain.money."""
    found: set[str] = set(_MONEY_VARIANTS)
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                     for target in node.targets if isinstance(target, ast.Name)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if not _HELPERS.match(name) or (isinstance(func, ast.Attribute) and name == "error"):
                continue  # log.error(...) is not a message template
            for arg in node.args:
                for text in _strings(arg, constants) or ():
                    if " " not in text:
                        continue
                    if path.name == "money.py" and name == "_bad":
                        text = "{field_name} " + text
                    found.add(text)
    return {text for text in found if _PLACEHOLDER.sub("", text).strip()}  # not a bare "{detail}"


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))
