"""Validation of a document by the authorities' own artefacts, offline: the OASIS UBL 2.1 schema
(lxml) and the compiled Schematron rules (XSLT 2.0, run with Saxon-HE through ``saxonche``,
allowed to read local files only). Each stylesheet is compiled once per process.

The artefacts are not copied into this repository; their folders are configurable:
``SALESREFUND_UBL_SCHEMAS`` (default ``../shared/ubl-2.1/xsdrt`` beside the repository) and
``SALESREFUND_VALIDATION_RULES`` (default ``../shared/validation``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

REPOSITORY = Path(__file__).resolve().parents[3]
SCHEMAS_ENV = "SALESREFUND_UBL_SCHEMAS"
RULES_ENV = "SALESREFUND_VALIDATION_RULES"
SVRL = "http://purl.oclc.org/dsdl/svrl"

# profile -> (schema file, [(rules file, flags that fail)])
PROFILES = {
    "en16931": ("maindoc/UBL-CreditNote-2.1.xsd", [("en16931/EN16931-UBL-validation.xslt", {"fatal"})]),
    "zatca": ("maindoc/UBL-Invoice-2.1.xsd", [("zatca/20210819_ZATCA_E-invoice_Validation_Rules.xsl", {"error"}),
                                              ("zatca/CEN-EN16931-UBL.xsl", {"fatal"})]),
    "myinvois": ("maindoc/UBL-Invoice-2.1.xsd", []),
    "ubl-invoice": ("maindoc/UBL-Invoice-2.1.xsd", []),
}


class ArtefactsMissing(RuntimeError):
    """The schemas or rules are not where the configuration says."""


def schemas_dir() -> Path:
    return Path(os.environ.get(SCHEMAS_ENV) or REPOSITORY.parent / "shared" / "ubl-2.1" / "xsdrt")


def rules_dir() -> Path:
    return Path(os.environ.get(RULES_ENV) or REPOSITORY.parent / "shared" / "validation")


@dataclass(frozen=True)
class Failure:
    source: str  # "schema" or the rules file
    rule: str  # the rule id (BR-CO-16, BR-KSA-56 …) or "XSD"
    flag: str  # fatal | error | warning
    text: str
    location: str = ""


@dataclass
class Report:
    profile: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.flag != "warning"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.flag == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors


@lru_cache(maxsize=None)
def _schema(path: str) -> etree.XMLSchema:
    file = Path(path)
    if not file.exists():
        raise ArtefactsMissing(f"UBL schema not found: {file} (set {SCHEMAS_ENV})")
    return etree.XMLSchema(etree.parse(str(file)))


_saxon_lock = threading.Lock()
_processor = None


@lru_cache(maxsize=None)
def _stylesheet(path: str):
    global _processor
    file = Path(path)
    if not file.exists():
        raise ArtefactsMissing(f"validation rules not found: {file} (set {RULES_ENV})")
    from saxonche import PySaxonProcessor
    if _processor is None:
        _processor = PySaxonProcessor(license=False)
        # never fetch anything remote (an empty value would block the local stylesheet too)
        _processor.set_configuration_property("http://saxon.sf.net/feature/allowedProtocols", "file")
    return _processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(file))


def profile_of(xml: bytes) -> str:
    """Guess the profile of a document: a CreditNote is EN 16931; an Invoice with ZATCA's
    extensions (ICV) is ZATCA; another Invoice is validated against the schema only."""
    root = etree.fromstring(xml)
    if etree.QName(root).localname == "CreditNote":
        return "en16931"
    if b"urn:oasis:names:specification:ubl:dsig:enveloped:xades" in xml or b">ICV<" in xml:
        return "zatca"
    if b"MyInvois" in xml or b'listVersionID="1.1"' in xml:
        return "myinvois"
    return "ubl-invoice"


def validate(xml: bytes, profile: str | None = None) -> Report:
    profile = profile or profile_of(xml)
    schema_file, rules = PROFILES[profile]
    report = Report(profile)
    try:
        doc = etree.fromstring(xml)
    except etree.XMLSyntaxError as error:
        report.failures.append(Failure("schema", "XML", "fatal", str(error)))
        return report
    schema = _schema(str(schemas_dir() / schema_file))
    if not schema.validate(doc):
        for entry in schema.error_log:
            report.failures.append(Failure("schema", "XSD", "fatal", entry.message, f"line {entry.line}"))
    for rules_file, failing in rules:
        report.failures.extend(_run_rules(str(rules_dir() / rules_file), xml, failing))
    return report


def _run_rules(path: str, xml: bytes, failing: set[str]) -> list[Failure]:
    with _saxon_lock:  # one Saxon processor per process; its transforms are not run concurrently
        stylesheet = _stylesheet(path)
        node = _processor.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = stylesheet.transform_to_string(xdm_node=node)
    out = []
    for item in etree.fromstring(svrl.encode("utf-8")).iter(f"{{{SVRL}}}failed-assert"):
        flag = item.get("flag") or "fatal"
        text = " ".join("".join(item.find(f"{{{SVRL}}}text").itertext()).split()) if item.find(
            f"{{{SVRL}}}text") is not None else ""
        out.append(Failure(Path(path).name, item.get("id") or "?", flag if flag in failing else "warning",
                           text, item.get("location") or ""))
    return out
