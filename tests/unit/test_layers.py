"""The layers hold (issue 10): the domain imports only the standard library and itself; the store
is the only place with SQL (the service imports no sqlalchemy and names no table); nothing below
``http`` imports it. Read from the source, nothing is run."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "salesrefund"


def imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports made absolute (``salesrefund.…``)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
                found.update([module] if node.module else [f"{module}.{a.name}" for a in node.names])
            else:
                found.add(node.module)
    return found


def modules(package: str, skip=()):
    return [p for p in sorted((PACKAGE / package).glob("*.py")) if p.name not in skip]


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_the_domain_imports_only_the_standard_library(path):
    foreign = {m for m in imports(path) if not m.startswith("salesrefund.domain")
               and m.split(".")[0] not in sys.stdlib_module_names and m != "__future__"}
    assert not foreign, foreign


EDGES = [PACKAGE / "bulk.py", PACKAGE / "http" / "metrics.py"]  # the bulk tool and the metrics (issue 10)


@pytest.mark.parametrize("path", modules("service") + modules("http/dialects") + EDGES,
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_service_and_the_doors_write_no_sql(path):
    names = imports(path)
    assert not {m for m in names if m.split(".")[0] == "sqlalchemy"}
    assert "salesrefund.store.tables" not in names


@pytest.mark.parametrize("path", modules("service") + modules("store") + modules("domain"),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nothing_below_http_imports_it(path):
    assert not {m for m in imports(path) if m.startswith("salesrefund.http")}
