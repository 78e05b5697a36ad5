"""Routes of the back office page. See the package docstring."""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from .. import i18n
from ..domain.commands import Context
from ..domain.errors import Invalid, RefundError, Violation
from ..http import schemas
from ..http.native import office as _office  # the same per-app BackOffice the API uses
from ..http.problems import NativeResponder
from ..service import app_sessions
from ..service.app_sessions import PageSession
from . import charts

HERE = Path(__file__).parent
COOKIE = "sr_app"
LOGIN_COOKIE = "sr_app_login"
LANG_COOKIE = "sr_app_lang"
PAYMENT_ROWS = 3
LANGUAGES = {"en": "English", "ar": "العربية", "mn": "Монгол", "ms": "Bahasa Melayu"}
RTL = {"ar"}

router = APIRouter(prefix="/app", include_in_schema=False)
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        trim_blocks=True, lstrip_blocks=True)


def install(app: FastAPI) -> None:
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="app-static")
    app.include_router(router)


class NotSignedIn(Exception):
    pass


# -- plumbing --------------------------------------------------------------------------------------

def _language(request: Request, session: PageSession | None = None) -> str:
    if session is not None:
        return session.language
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return i18n.negotiate(request.headers.get("accept-language"), tuple(LANGUAGES))


def _session(request: Request) -> PageSession:
    session = app_sessions.resume(request.app.state.engine, request.cookies.get(COOKIE), request.app.state.clock)
    if session is None:
        raise NotSignedIn()
    return session


def _same_origin(request: Request) -> bool:
    """A POST must come from this site's own pages (Origin, else Referer, when the browser sends one)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def _check_csrf(request: Request, session: PageSession, given: str | None) -> None:
    if not _same_origin(request) or not given or not hmac.compare_digest(given, session.csrf):
        raise PermissionError("csrf")


def render(request: Request, name: str, session: PageSession | None, status: int = 200, **context) -> HTMLResponse:
    lang = _language(request, session)

    def _(text: str, **params) -> str:
        translated = i18n.translate(text, lang)
        return translated.format(**params) if params else translated

    def url(path: str, **params) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return path + ("?" + urlencode(clean) if clean else "")

    html = templates.get_template(name).render(
        _=_, lang=lang, dir="rtl" if lang in RTL else "ltr", languages=LANGUAGES, session=session,
        may=(session.principal.may if session else (lambda _p: False)), url=url, path=request.url.path,
        query=str(request.url.query), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/app/login?" + urlencode({"next": target}), status_code=303)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/app/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/app/dashboard"


def _message(violation: Violation, lang: str) -> str:
    return i18n.message(violation, lang)


def _forbidden(request: Request, session: PageSession, permission: str) -> HTMLResponse:
    return render(request, "error.html", session, status=403, title_key="Not allowed",
                  detail=i18n.translate("this credential lacks the {permission} permission", _language(request, session))
                  .format(permission=permission))


async def _page(request: Request, work):
    """Run a page handler in the thread pool with the caller's session; sign-in when there is none."""
    try:
        session = await run_in_threadpool(_session, request)
    except NotSignedIn:
        return _to_login(request)
    try:
        return await run_in_threadpool(work, session)
    except PermissionError:
        return render(request, "error.html", session, status=403, title_key="Not allowed",
                      detail=i18n.translate("The form has expired. Reload the page and try again.",
                                            session.language))
    except RefundError as error:
        if error.code == "not_found":
            return render(request, "error.html", session, status=404, title_key="Not found",
                          detail=_message(error.first, session.language))
        return render(request, "error.html", session, status=error.status, title_key="Not possible",
                      detail=_message(error.first, session.language))


# -- sign-in ---------------------------------------------------------------------------------------

@router.get("")
@router.get("/")
def home(request: Request):
    return RedirectResponse("/app/dashboard", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    nonce = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, next=_safe_next(next), nonce=nonce, error=None)
    _set_cookie(request, response, LOGIN_COOKIE, nonce, max_age=3600)
    return response


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    token, nonce = str(form.get("token", "")), str(form.get("nonce", ""))
    lang = str(form.get("language", "")) or _language(request)
    lang = lang if lang in LANGUAGES else "en"
    expected = request.cookies.get(LOGIN_COOKIE, "")
    target = _safe_next(str(form.get("next", "")))
    if not _same_origin(request) or not expected or not hmac.compare_digest(nonce, expected):
        error = i18n.translate("The form has expired. Reload the page and try again.", lang)
    else:
        signed = await run_in_threadpool(app_sessions.sign_in, request.app.state.engine, token, lang,
                                         request.app.state.clock)
        if signed is not None:
            session_id, _session_ = signed
            response = RedirectResponse(target, status_code=303)
            _set_cookie(request, response, COOKIE, session_id, max_age=int(app_sessions.LIFETIME.total_seconds()))
            _set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400, http_only=True)
            response.delete_cookie(LOGIN_COOKIE, path="/app")
            return response
        error = i18n.translate("This token is not valid: it is unknown, revoked or expired.", lang)
    fresh = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status=401, next=target, nonce=fresh, error=error)
    _set_cookie(request, response, LOGIN_COOKIE, fresh, max_age=3600)
    return response


@router.post("/logout")
async def logout(request: Request):
    form = await request.form()
    session = await run_in_threadpool(app_sessions.resume, request.app.state.engine, request.cookies.get(COOKIE),
                                      request.app.state.clock)
    if session is not None and _same_origin(request) and hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
        await run_in_threadpool(app_sessions.sign_out, request.app.state.engine, request.cookies.get(COOKIE))
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(COOKIE, path="/app")
    return response


@router.get("/language/{code}")
async def language(request: Request, code: str, next: str | None = None):
    code = code if code in LANGUAGES else "en"
    session_id = request.cookies.get(COOKIE)
    session = await run_in_threadpool(app_sessions.resume, request.app.state.engine, session_id,
                                      request.app.state.clock)
    if session is not None:
        await run_in_threadpool(app_sessions.set_language, request.app.state.engine, session_id, code)
    target = next if next and (next.startswith("/app/") or next == "/app") and not next.startswith("//") else "/app/login"
    response = RedirectResponse(target, status_code=303)
    _set_cookie(request, response, LANG_COOKIE, code, max_age=365 * 86400)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int,
                http_only: bool = True) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/app", httponly=http_only, samesite="strict",
                        secure=request.url.scheme == "https")


# -- dashboard -------------------------------------------------------------------------------------

@router.get("/dashboard")
async def dashboard(request: Request):
    def work(session: PageSession):
        if not session.principal.may("refund:read"):
            return _forbidden(request, session, "refund:read")
        data = _office(request).dashboard(session.principal.tenant_id)
        return render(request, "dashboard.html", session, data=data, charts=charts.dashboard(data))
    return await _page(request, work)


# -- invoices --------------------------------------------------------------------------------------

@router.get("/invoices")
async def invoices(request: Request, number: str = "", customer: str = "", barcode: str = "", day: str = "",
                   cursor: str | None = None):
    def work(session: PageSession):
        if not session.principal.may("refund:read"):
            return _forbidden(request, session, "refund:read")
        searched = any((number, customer, barcode, day))
        when, error = None, None
        if day:
            try:
                when = date.fromisoformat(day)
            except ValueError:
                error = i18n.translate("Enter a date as YYYY-MM-DD.", session.language)
        found = None
        if not error:
            found = _office(request).search_invoices(
                session.principal.tenant_id, number=number.strip() or None, customer=customer.strip() or None,
                barcode=barcode.strip() or None, day=when, cursor=_cursor(cursor), limit=20)
        return render(request, "invoices.html", session, found=found, searched=searched, error=error,
                      q={"number": number, "customer": customer, "barcode": barcode, "day": day})
    return await _page(request, work)


@router.get("/invoices/{number:path}")
async def invoice(request: Request, number: str):
    def work(session: PageSession):
        if not session.principal.may("refund:read"):
            return _forbidden(request, session, "refund:read")
        return _invoice_page(request, session, number, values={}, errors={}, general=[])
    return await _page(request, work)


def _invoice_page(request: Request, session: PageSession, number: str, *, values: dict, errors: dict,
                  general: list[str], status: int = 200, draft: dict | None = None) -> HTMLResponse:
    tenant_id = session.principal.tenant_id
    view = request.app.state.books.get_invoice(tenant_id, number)
    figures = _office(request).invoice_figures(tenant_id, number)
    methods = _office(request).list_payment_methods(tenant_id)["items"]
    locations = _office(request).list_locations(tenant_id, limit=200)["items"]
    refunds = request.app.state.books.list_refunds(tenant_id, cursor=None, limit=200, invoice=number)["items"]
    values = {"idem": str(uuid.uuid4()), "restock": "on", "state": "posted", **values}
    return render(request, "invoice.html", session, status=status, invoice=view, figures=figures, methods=methods,
                  locations=locations, refunds=refunds, values=values, errors=errors, general=general,
                  payment_rows=PAYMENT_ROWS, draft=draft)


# -- the refund form -------------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def form_body(form: dict, invoice_lines: list[dict]) -> tuple[dict, dict[str, str]]:
    """The native ``RefundIn`` body a refund form stands for, and where each of its JSON pointers
    came from in the form (so an error at ``/lines/1/quantity`` is shown beside ``qty-3``)."""
    where: dict[str, str] = {"/reason": "reason", "/posting_date": "posting_date", "/location": "location",
                             "/lines": "lines", "/payments": "pay-amount-0", "/state": "state"}
    lines = []
    restock = form.get("restock") == "on"
    location = str(form.get("location", "")).strip() or None
    for line in invoice_lines:
        qty, amount = form.get(f"qty-{line['line']}"), form.get(f"amt-{line['line']}")
        if _blank(qty) and _blank(amount):
            continue
        entry: dict[str, Any] = {"line": line["line"]}
        if not _blank(qty):
            entry["quantity"] = str(qty).strip()
        if not _blank(amount):
            entry["amount"] = str(amount).strip()
        if line.get("product"):
            entry["restock"] = restock
            if location and restock:
                entry["location"] = location
        i = len(lines)
        for key in ("", "/line", "/quantity", "/restock", "/location", "/unit_price"):
            where[f"/lines/{i}{key}"] = f"qty-{line['line']}"
        where[f"/lines/{i}/amount"] = f"amt-{line['line']}" if not _blank(amount) else f"qty-{line['line']}"
        lines.append(entry)
    if not _blank(form.get("free_amount")):
        i = len(lines)
        entry = {"amount": str(form["free_amount"]).strip(),
                 "tax_rate": str(form.get("free_tax_rate", "")).strip() or "0",
                 "description": str(form.get("free_description", "")).strip() or None}
        lines.append({k: v for k, v in entry.items() if v is not None})
        for key in ("", "/amount", "/description"):
            where[f"/lines/{i}{key}"] = "free_amount"
        where[f"/lines/{i}/tax_rate"] = "free_tax_rate"
    payments = []
    for i in range(PAYMENT_ROWS):
        method, amount = form.get(f"pay-method-{i}"), form.get(f"pay-amount-{i}")
        if _blank(amount):
            continue
        k = len(payments)
        payments.append({"method": str(method or "").strip() or "cash", "amount": str(amount).strip()})
        where[f"/payments/{k}"] = where[f"/payments/{k}/amount"] = f"pay-amount-{i}"
        where[f"/payments/{k}/method"] = f"pay-method-{i}"
    body: dict[str, Any] = {"lines": lines}
    for key in ("reason", "posting_date"):
        if not _blank(form.get(key)):
            body[key] = str(form[key]).strip()
    if location:
        body["location"] = location
    if payments:
        body["payments"] = payments
    body["state"] = "draft" if form.get("state") == "draft" else "posted"
    return body, where


def _errors(violations: list[Violation], where: dict[str, str], lang: str) -> tuple[dict[str, str], list[str]]:
    """Messages by form field (the first per field), and those that belong to no field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for violation in violations:
        name = where.get(violation.field)
        if name is None:  # the nearest enclosing pointer the form knows
            parts = violation.field.split("/")
            while len(parts) > 1 and name is None:
                parts.pop()
                name = where.get("/".join(parts))
        text = _message(violation, lang)
        if name:
            by_field.setdefault(name, text)
        else:
            general.append(text)
    return by_field, general


def _validated(body: dict, currency) -> "schemas.IssueRefund":
    if not body["lines"]:
        raise Invalid(Violation("/lines", "validation_error",
                                "choose a quantity or an amount on at least one line, or a free amount"))
    try:
        model = schemas.RefundIn.model_validate(body)
    except ValidationError as error:
        raise Invalid([Violation("/" + "/".join(str(p) for p in item["loc"]), "validation_error", "{detail}",
                                 {"detail": item["msg"]}) for item in error.errors()])
    return schemas.issue_refund(model, currency)


@router.post("/invoices/{number:path}/preview")
async def preview(request: Request, number: str):
    """The engine's own preview of what the form would issue, as JSON for the page's script."""
    form = dict(await request.form())

    def work(session: PageSession):
        _check_csrf(request, session, request.headers.get("x-csrf-token"))
        if not session.principal.may("refund:create"):
            return JSONResponse({"ok": False, "errors": {}, "general": ["forbidden"]}, status_code=403)
        view = request.app.state.books.get_invoice(session.principal.tenant_id, number)
        body, where = form_body(form, view["lines"])
        body["invoice"] = number
        try:
            command = _validated(body, session.principal.currency)
            ctx = Context(tenant_id=session.principal.tenant_id, channel="app",
                          credential_id=session.principal.credential_id)
            plan = request.app.state.refunds.preview(ctx, command)
        except RefundError as error:
            fields, general = _errors(error.violations, where, session.language)
            return JSONResponse({"ok": False, "errors": fields, "general": general})
        return JSONResponse({"ok": True, "preview": plan})

    try:
        return await _page(request, work)
    except PermissionError:
        return JSONResponse({"ok": False, "errors": {}, "general": ["csrf"]}, status_code=403)


@router.post("/invoices/{number:path}/refunds")
async def issue(request: Request, number: str):
    form = dict(await request.form())

    def work(session: PageSession):
        _check_csrf(request, session, form.get("csrf"))
        if not session.principal.may("refund:create"):
            return _forbidden(request, session, "refund:create")
        view = request.app.state.books.get_invoice(session.principal.tenant_id, number)
        body, where = form_body(form, view["lines"])
        body["invoice"] = number
        values = {k: str(v) for k, v in form.items() if k not in ("csrf", "idem")}  # a fresh key for the retry
        try:
            command = _validated(body, session.principal.currency)
            key = str(form.get("idem", "")).strip()[:200] or None
            ctx = Context(tenant_id=session.principal.tenant_id, channel="app",
                          credential_id=session.principal.credential_id, request_id=request.state.request_id,
                          request=body, idempotency_key=f"app:{key}" if key else None)
            responder = _PageResponder()
            answer = request.app.state.refunds.issue(ctx, command, responder)
        except RefundError as error:
            fields, general = _errors(error.violations, where, session.language)
            return _invoice_page(request, session, number, values=values, errors=fields, general=general, status=422)
        if answer.status >= 400:  # a stored rejection (a double submit of a refused form): shown as stored
            problem = json.loads(answer.body)
            violations = responder.error.violations if responder.error else [
                Violation(e["field"], e["code"], "{detail}", {"detail": e["message"]}) for e in problem["errors"]]
            fields, general = _errors(violations, where, session.language)
            return _invoice_page(request, session, number, values=values, errors=fields, general=general, status=422)
        refund = json.loads(answer.body)
        return RedirectResponse(f"/app/refunds/{refund['id']}?done=issued", status_code=303)

    return await _page(request, work)


class _PageResponder(NativeResponder):
    """The native responder (what is stored for a replay is the API's own JSON), remembering the
    error itself so the page can show it in the user's language."""

    def __init__(self):
        self.error: RefundError | None = None

    def failure(self, error: RefundError):
        self.error = error
        return super().failure(error)


# -- refunds ---------------------------------------------------------------------------------------

def _cursor(cursor: str | None) -> str | None:
    from ..service.views import decode_cursor
    try:
        decode_cursor(cursor)
    except ValueError:
        return None
    return cursor


@router.get("/refunds")
async def refunds(request: Request, state: str = "", invoice: str = "", customer: str = "", number: str = "",
                  date_from: str = "", date_to: str = "", cursor: str | None = None):
    def work(session: PageSession):
        if not session.principal.may("refund:read"):
            return _forbidden(request, session, "refund:read")
        dates, error = {}, None
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if value:
                try:
                    dates[name] = date.fromisoformat(value)
                except ValueError:
                    error = i18n.translate("Enter a date as YYYY-MM-DD.", session.language)
        page = request.app.state.books.list_refunds(
            session.principal.tenant_id, cursor=_cursor(cursor), limit=20, invoice=invoice.strip() or None,
            customer=customer.strip() or None, state=state if state in ("draft", "posted", "voided") else None,
            number=number.strip() or None, **dates) if not error else {"items": [], "next": None}
        q = {"state": state, "invoice": invoice, "customer": customer, "number": number, "date_from": date_from,
             "date_to": date_to}
        return render(request, "refunds.html", session, page=page, q=q, error=error,
                      request_done=request.query_params.get("done"))
    return await _page(request, work)


ACTIONS = {"post": "refund:post", "void": "refund:void", "delete": "refund:create"}


def _refund_page(request: Request, session: PageSession, refund_id: str, *, confirm: str | None = None,
                 status: int = 200, problem: str | None = None) -> HTMLResponse:
    tenant_id = session.principal.tenant_id
    refund = request.app.state.refunds.get(tenant_id, refund_id)
    journal = request.app.state.books.refund_journal(tenant_id, refund["id"])["items"]
    audit = request.app.state.books.audit_trail(tenant_id, refund["id"])
    extras = _office(request).refund_extras(tenant_id, refund["id"])
    return render(request, "refund.html", session, status=status, refund=refund, journal=journal, audit=audit,
                  extras=extras, confirm=confirm, problem=problem, done=request.query_params.get("done"),
                  idem=str(uuid.uuid4()))


@router.get("/refunds/{refund_id}")
async def refund(request: Request, refund_id: str):
    def work(session: PageSession):
        if not session.principal.may("refund:read"):
            return _forbidden(request, session, "refund:read")
        key = _office(request).refund_id(session.principal.tenant_id, refund_id)
        return _refund_page(request, session, key)
    return await _page(request, work)


@router.get("/refunds/{refund_id}/document.{kind}")
async def refund_document(request: Request, refund_id: str, kind: str, profile: str = "en16931"):
    """The credit note's PDF (in the page's language) or e-invoice XML, through the page's session:
    the same documents as ``GET /v1/refunds/{id}/document.pdf|xml`` (issue 11)."""
    from ..documents import ubl
    from ..http.documents import PDF, XML, documents, incomplete

    def work(session: PageSession):
        if not session.principal.may("refund:read"):
            return _forbidden(request, session, "refund:read")
        if kind not in ("pdf", "xml") or profile not in ("en16931", "zatca", "myinvois"):
            raise RefundError(Violation("/kind", "not_found", "no such document"))
        tenant_id = session.principal.tenant_id
        key = _office(request).refund_id(tenant_id, refund_id)
        try:
            content, number = (documents(request).pdf(tenant_id, key, session.language) if kind == "pdf"
                               else documents(request).xml(tenant_id, key, profile))
        except ubl.DocumentIncomplete as error:
            raise incomplete(error)
        name = f"{number}.pdf" if kind == "pdf" else f"{number}-{profile}.xml"
        return Response(content, media_type=PDF if kind == "pdf" else XML,
                        headers={"Content-Disposition": f'inline; filename="{name}"'})
    return await _page(request, work)


@router.get("/refunds/{refund_id}/confirm/{action}")
async def confirm(request: Request, refund_id: str, action: str):
    def work(session: PageSession):
        if action not in ACTIONS:
            raise RefundError(Violation("/action", "not_found", "no such action"))
        if not session.principal.may(ACTIONS[action]):
            return _forbidden(request, session, ACTIONS[action])
        return _refund_page(request, session, refund_id, confirm=action)
    return await _page(request, work)


@router.post("/refunds/{refund_id}/edit")
async def edit(request: Request, refund_id: str):
    form = dict(await request.form())

    def work(session: PageSession):
        _check_csrf(request, session, form.get("csrf"))
        if not session.principal.may("refund:create"):
            return _forbidden(request, session, "refund:create")
        draft = request.app.state.refunds.get(session.principal.tenant_id, refund_id)
        view = request.app.state.books.get_invoice(session.principal.tenant_id, draft["invoice"])
        body, where = form_body(form, view["lines"])
        body.pop("state", None)
        values = {k: str(v) for k, v in form.items() if k not in ("csrf", "idem")}  # a fresh key for the retry
        try:
            if not body["lines"]:
                _validated(body, session.principal.currency)
            patch = schemas.RefundPatch.model_validate(body)
            changes = schemas.refund_changes(patch, session.principal.currency)
            key = str(form.get("idem", "")).strip()[:200] or None
            ctx = Context(tenant_id=session.principal.tenant_id, channel="app",
                          credential_id=session.principal.credential_id, request_id=request.state.request_id,
                          request=body, idempotency_key=f"app:{key}" if key else None)
            responder = _PageResponder()
            answer = request.app.state.refunds.edit(ctx, refund_id, changes, responder)
        except ValidationError as error:
            violations = [Violation("/" + "/".join(str(p) for p in item["loc"]), "validation_error", "{detail}",
                                    {"detail": item["msg"]}) for item in error.errors()]
            fields, general = _errors(violations, where, session.language)
            return _invoice_page(request, session, draft["invoice"], values=values, errors=fields, general=general,
                                 status=422, draft=draft)
        except RefundError as error:
            fields, general = _errors(error.violations, where, session.language)
            return _invoice_page(request, session, draft["invoice"], values=values, errors=fields, general=general,
                                 status=422, draft=draft)
        if answer.status >= 400:
            violations = responder.error.violations if responder.error else []
            fields, general = _errors(violations, where, session.language)
            return _invoice_page(request, session, draft["invoice"], values=values, errors=fields,
                                 general=general or [json.loads(answer.body)["detail"]], status=422, draft=draft)
        return RedirectResponse(f"/app/refunds/{refund_id}?done=edited", status_code=303)

    return await _page(request, work)


@router.post("/refunds/{refund_id}/{action}")
async def act(request: Request, refund_id: str, action: str):
    form = dict(await request.form())

    def work(session: PageSession):
        _check_csrf(request, session, form.get("csrf"))
        if action not in ACTIONS:
            raise RefundError(Violation("/action", "not_found", "no such action"))
        if not session.principal.may(ACTIONS[action]):
            return _forbidden(request, session, ACTIONS[action])
        key = str(form.get("idem", "")).strip()[:200] or None
        ctx = Context(tenant_id=session.principal.tenant_id, channel="app",
                      credential_id=session.principal.credential_id, request_id=request.state.request_id,
                      idempotency_key=f"app:{key}" if key and action != "delete" else None)
        service = request.app.state.refunds
        try:
            if action == "delete":
                service.delete(ctx, refund_id)
                return RedirectResponse("/app/refunds?done=deleted", status_code=303)
            responder = _PageResponder()
            if action == "post":
                answer = service.post(ctx, refund_id, responder)
            else:
                answer = service.void(ctx, refund_id, responder, str(form.get("reason", "")).strip() or None)
        except RefundError as error:
            if error.code == "not_found":
                raise
            return _refund_page(request, session, refund_id, status=422,
                                problem=_message(error.first, session.language))
        if answer.status >= 400:
            text = (_message(responder.error.first, session.language) if responder.error
                    else json.loads(answer.body)["detail"])
            return _refund_page(request, session, refund_id, status=422, problem=text)
        return RedirectResponse(f"/app/refunds/{refund_id}?done={action}", status_code=303)

    return await _page(request, work)


@router.get("/refunds/{refund_id}/edit")
async def edit_page(request: Request, refund_id: str):
    def work(session: PageSession):
        if not session.principal.may("refund:create"):
            return _forbidden(request, session, "refund:create")
        draft = request.app.state.refunds.get(session.principal.tenant_id, refund_id)
        if draft["state"] != "draft" or not draft["invoice"]:
            return _refund_page(request, session, refund_id, status=422, problem=i18n.translate(
                "Only a draft against an invoice can be edited here.", session.language))
        values = {"reason": draft["reason"] or "", "posting_date": draft["posting_date"] or ""}
        for line in draft["lines"]:
            if line["invoice_line"]:
                values[f"qty-{line['invoice_line']}"] = line["quantity"]
        return _invoice_page(request, session, draft["invoice"], values=values, errors={}, general=[], draft=draft)
    return await _page(request, work)
