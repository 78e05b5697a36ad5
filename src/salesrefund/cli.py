"""The command line: ``salesrefund serve | migrate | demo | tenant | token | document | validate``."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Annotated, Optional

import typer

from .config import ENV_DATABASE_URL, database_url
from .domain.errors import RefundError

app = typer.Typer(help="salesrefund: refunds and credit notes recorded exactly right.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_show_locals=False)
tenant_app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")
door_app = typer.Typer(help="Create, list and revoke the doors' credentials (Vodo, CRM.COM, BeansBooks, SnR2U).",
                       no_args_is_help=True)
app.add_typer(door_app, name="door")

Db = Annotated[Optional[str], typer.Option("--db", help=f"database URL (default: ${ENV_DATABASE_URL} or a "
                                                     "SQLite file in the user data directory)")]
AsJson = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _engine(db: str | None, *, writing: bool = True):
    from .bootstrap import engine_for
    if writing:
        _writable_or_exit(db)
    try:
        return engine_for(db)
    except Exception as error:  # a database that cannot be written: one line, not a traceback
        from .service.uow import unwritable
        if not (unwritable(error) or isinstance(error, PermissionError)):
            raise
        typer.echo(f"salesrefund: cannot write the database {database_url(db)}: {getattr(error, 'orig', error)}",
                   err=True)
        raise typer.Exit(2)


def _writable_or_exit(db: str | None) -> None:
    """Say in one line what keeps the server from writing its SQLite database, and exit 2
    (issue 9, item 14: a read-only data directory used to end in a traceback)."""
    from .store.engine import sqlite_write_problem
    problem = sqlite_write_problem(database_url(db))
    if problem is not None:
        typer.echo(f"salesrefund: {problem}", err=True)
        raise typer.Exit(2)


def _fail(error: RefundError) -> None:
    typer.echo(f"error: {error.first.text()} ({error.code})", err=True)
    raise typer.Exit(2)


@app.command()
def serve(db: Db = None, host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
          demo: Annotated[bool, typer.Option("--demo", help="load the demo tenant first")] = False,
          access_log: Annotated[bool, typer.Option(help="log every request")] = True):
    """Run the HTTP server (migrations run first)."""
    from .http import serving

    url = database_url(db)
    engine = _engine(url)
    base = f"http://{host}:{port}"
    if demo:
        from .demo import first_curl, load_demo
        loaded = load_demo(engine)
        typer.echo(f"demo tenant '{loaded['tenant']}' ready; API token: {loaded['token']}")
        typer.echo(f"try:  {first_curl(base)}")
        typer.echo(f"back office: {base}/app (sign in with that token); `salesrefund demo` lists every demo "
                   "tenant's credentials")
    engine.dispose()
    typer.echo(f"salesrefund on {base}  (docs: {base}/docs, database: {url})")
    os.environ[ENV_DATABASE_URL] = url
    serving.run(host=host, port=port, workers=workers, access_log=access_log)


@app.command()
def migrate(db: Db = None):
    """Apply the database migrations and exit."""
    _engine(db)
    typer.echo("migrations applied")


@app.command()
def demo(db: Db = None, as_json: AsJson = False):
    """Load the demo data (idempotent)."""
    from .demo import load_demo
    loaded = load_demo(_engine(db))
    from .demo import demo_credentials
    result = {"tenant": loaded["tenant"], "token": loaded["token"], "created": loaded["created"],
              "tenants": demo_credentials()}
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"demo tenant '{result['tenant']}', token {result['token']}")
    _echo_demo_credentials(result["tenants"])


def _check_engine(db: str | None, primary: bool):
    """``check`` only reads: without ``--db`` it reads the replica when
    ``SALESREFUND_READ_DATABASE_URL`` is set (``--primary`` reads the primary anyway)."""
    from .bootstrap import read_engine_for
    from .config import read_database_url
    if db is None and not primary and read_database_url():
        return read_engine_for()
    return _engine(db, writing=False)


@app.command()
def check(db: Db = None, as_json: AsJson = False,
          primary: Annotated[bool, typer.Option("--primary", help="read the primary even when "
                                                "SALESREFUND_READ_DATABASE_URL names a replica")] = False):
    """Verify the database end to end; exit 1 on any violation."""
    from .service.check import run_checks
    results = run_checks(_check_engine(db, primary))
    failed = sum(len(findings) for findings in results.values())
    if as_json:
        typer.echo(json.dumps({"ok": failed == 0, "checks": {
            name: [{"tenant_id": f.tenant_id, "detail": f.detail} for f in findings]
            for name, findings in results.items()}}))
    else:
        for name, findings in results.items():
            typer.echo(f"{'ok  ' if not findings else 'FAIL'}  {name}" + (f"  ({len(findings)})" if findings else ""))
            for finding in findings[:20]:
                typer.echo(f"        tenant {finding.tenant_id}: {finding.detail}")
        typer.echo("all checks passed" if not failed else f"{failed} violation(s)")
    if failed:
        raise typer.Exit(1)


@tenant_app.command("settings")
def tenant_settings(name: str,
                    tax_rate: Annotated[Optional[list[str]], typer.Option(
                        "--tax-rate", help="replace the tax rates refunds without an invoice may use (repeat)")] = None,
                    refund_to_other_methods: Annotated[Optional[bool], typer.Option(
                        "--refund-to-other-methods/--no-refund-to-other-methods",
                        help="allow refunds by a method the invoice was not paid by")] = None,
                    db: Db = None, as_json: AsJson = False):
    """Show a tenant's refund settings, or change them."""
    from .service.tenants import set_tenant_settings
    try:
        settings = set_tenant_settings(_engine(db), name, tax_rates=tax_rate,
                                       refund_to_other_methods=refund_to_other_methods)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(settings))
    else:
        typer.echo(f"tenant {name}: tax rates {' '.join(settings['tax_rates']) or '(0 % only)'}; refunds to other "
                   f"methods {'allowed' if settings['refund_to_other_methods'] else 'not allowed'}")


@tenant_app.command("create")
def tenant_create(name: str, currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR")],
                  country: Annotated[Optional[str], typer.Option(help="ISO 3166 code")] = None,
                  timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
                  prices_include_tax: Annotated[bool, typer.Option("--prices-include-tax")] = False,
                  cash_rounding: Annotated[Optional[str], typer.Option(help="e.g. 0.05")] = None,
                  cash_rounding_all_methods: Annotated[bool, typer.Option("--cash-rounding-all-methods")] = False,
                  allow_unlinked_refunds: Annotated[bool, typer.Option("--allow-unlinked-refunds")] = False,
                  currency_exponent: Annotated[Optional[int], typer.Option(help="decimals used (MNT: 0)")] = None,
                  tax_rate: Annotated[Optional[list[str]], typer.Option(
                      "--tax-rate", help="a tax rate in percent refunds without an invoice may use (repeat)")] = None,
                  refund_to_other_methods: Annotated[bool, typer.Option(
                      "--refund-to-other-methods", help="allow refunds by a method the invoice was not paid by")] = False,
                  db: Db = None, as_json: AsJson = False):
    """Create a tenant with its chart of accounts, payment methods and first admin token."""
    from .service.tenants import create_tenant
    try:
        created = create_tenant(_engine(db), name, currency=currency.upper(),
                                country=country.upper() if country else None, timezone=timezone,
                                prices_include_tax=prices_include_tax, cash_rounding=cash_rounding,
                                cash_rounding_all_methods=cash_rounding_all_methods,
                                allow_unlinked_refunds=allow_unlinked_refunds, currency_exponent=currency_exponent,
                                tax_rates=tax_rate or (), refund_to_other_methods=refund_to_other_methods)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(created))
    else:
        typer.echo(f"tenant {created['tenant']} created ({created['currency']})")
        typer.echo(f"admin token (shown once): {created['token']}")


@tenant_app.command("move")
def tenant_move(tenant: Annotated[str, typer.Option(help="tenant name")],
                to: Annotated[str, typer.Option("--to", help="the target database URL (migrated first)")],
                db: Db = None, as_json: AsJson = False):
    """Move a tenant to another database: copy, verify (row counts and check), switch; the
    tenant's writes are refused (503, retry) while it is fenced."""
    from .service.moves import move_tenant
    source, target = _engine(db), _engine(to)
    try:
        moved = move_tenant(source, target, tenant)
    except RefundError as error:
        _fail(error)
    finally:
        source.dispose()
        target.dispose()
    if as_json:
        typer.echo(json.dumps(moved))
    else:
        typer.echo(f"tenant {moved['tenant']} moved: {moved['total_rows']} rows copied and verified, "
                   f"writes fenced for {moved['fenced_seconds']} s; it now lives in {to}")


@token_app.command("create")
def token_create(tenant: Annotated[str, typer.Option(help="tenant name")],
                 permission: Annotated[Optional[list[str]], typer.Option(help="repeat for several")] = None,
                 name: str = "token",
                 expires: Annotated[Optional[datetime], typer.Option(help="expiry, ISO date-time")] = None,
                 db: Db = None, as_json: AsJson = False):
    """Create a token; default permissions: refund:create refund:read."""
    from .service.tenants import create_token
    try:
        created = create_token(_engine(db), tenant, permissions=tuple(permission or ()), name=name,
                               expires_at=expires)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(created))
    else:
        typer.echo(f"token {created['id']} ({' '.join(created['permissions'])}), shown once: {created['token']}")


@token_app.command("list")
def token_list(tenant: Annotated[str, typer.Option(help="tenant name")], db: Db = None, as_json: AsJson = False):
    """List a tenant's tokens (never their secrets)."""
    from .service.tenants import list_tokens
    try:
        tokens = list_tokens(_engine(db), tenant)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(tokens))
        return
    for tok in tokens:
        expires = f"  expires {tok['expires_at']}" if tok["expires_at"] else ""
        typer.echo(f"{tok['id']:>5}  {tok['state']:<8} {tok['name']:<16} {' '.join(tok['permissions'])}{expires}")


@token_app.command("revoke")
def token_revoke(token_id: int, db: Db = None):
    """Revoke a token: it is refused from its next request on."""
    from .service.tenants import revoke_token
    if not revoke_token(_engine(db), token_id):
        typer.echo(f"error: no active token {token_id}", err=True)
        raise typer.Exit(2)
    typer.echo(f"token {token_id} revoked")


@tenant_app.command("keys")
def tenant_keys(tenant: Annotated[str, typer.Option(help="tenant name")],
                rotate: Annotated[bool, typer.Option("--rotate", help="replace an existing key")] = False,
                db: Db = None, as_json: AsJson = False):
    """Generate the tenant's ZATCA signing key (ECDSA secp256k1) and a self-signed certificate,
    used until onboarding with ZATCA replaces it (see docs/documents/zatca.md)."""
    from .service.tenants import tenant_id_by_name
    from .service.zatca_chain import create_keys
    engine = _engine(db)
    try:
        created = create_keys(engine, None, tenant_id_by_name(engine, tenant), rotate=rotate)
    except RefundError as error:
        _fail(error)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps({"tenant": tenant, "certificate": created["certificate"]}))
    else:
        typer.echo(f"signing key created for {tenant}; self-signed certificate:")
        typer.echo(created["certificate"].rstrip())


# -- credit-note documents (issue 11) ---------------------------------------------------------------

@app.command("document")
def document(refund: Annotated[str, typer.Argument(help="the refund's id (or its number with --tenant)")],
             profile: Annotated[str, typer.Option(help="en16931 | zatca | myinvois | pdf")] = "en16931",
             lang: Annotated[Optional[str], typer.Option(help="the PDF's language: en, ar, mn, ms")] = None,
             out: Annotated[Optional[str], typer.Option(help="write to this file (default: standard output)")] = None,
             tenant: Annotated[Optional[str], typer.Option(help="tenant name (needed for a number)")] = None,
             db: Db = None):
    """Write a refund's credit note: an e-invoice XML (EN 16931, ZATCA, MyInvois) or the PDF."""
    import sys
    from .documents.ubl import DocumentIncomplete
    from .service.documents import Documents, tenant_of_refund
    if profile not in ("en16931", "zatca", "myinvois", "pdf"):
        typer.echo("error: --profile is one of en16931, zatca, myinvois, pdf", err=True)
        raise typer.Exit(2)
    engine = _engine(db)
    try:
        tenant_id = tenant_of_refund(engine, refund, tenant)
        service = Documents(engine)
        content, _ = (service.pdf(tenant_id, refund, lang) if profile == "pdf"
                      else service.xml(tenant_id, refund, profile))
    except RefundError as error:
        _fail(error)
    except DocumentIncomplete as error:
        typer.echo(f"error: {error} (document_incomplete)", err=True)
        raise typer.Exit(2)
    if out:
        with open(out, "wb") as handle:
            handle.write(content)
        typer.echo(f"{out}: {len(content)} bytes")
    else:
        sys.stdout.buffer.write(content)


@app.command("validate")
def validate_file(file: Annotated[str, typer.Argument(help="an e-invoice XML file")],
                  profile: Annotated[Optional[str], typer.Option(
                      help="en16931 | zatca | myinvois (default: guessed from the document)")] = None,
                  warnings: Annotated[bool, typer.Option("--warnings", help="print warnings too")] = False,
                  as_json: AsJson = False):
    """Validate a document by the UBL 2.1 schema and the official rules; print the failed rules
    and exit 1 when any error (EN 16931 fatal, ZATCA error) is raised."""
    from .documents import validate
    try:
        with open(file, "rb") as handle:
            report = validate.validate(handle.read(), profile)
    except (OSError, validate.ArtefactsMissing) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2)
    shown = report.failures if warnings else report.errors
    if as_json:
        typer.echo(json.dumps({"profile": report.profile, "valid": report.valid, "failures": [
            {"rule": f.rule, "flag": f.flag, "source": f.source, "text": f.text, "location": f.location}
            for f in shown]}))
    else:
        for f in shown:
            typer.echo(f"{f.flag:<8} {f.rule:<14} {f.text}" + (f"  [{f.location}]" if f.location else ""))
        typer.echo(f"{file}: {report.profile}: " + ("valid" if report.valid else f"{len(report.errors)} error(s)")
                   + (f", {len(report.warnings)} warning(s)" if report.warnings else ""))
    if not report.valid:
        raise typer.Exit(1)
def _echo_demo_credentials(tenants: list[dict]) -> None:
    for item in tenants:
        extra = "  ".join(f"{key}: {value}" for key, value in item["credentials"].items())
        typer.echo(f"  {item['tenant']:<11} admin token {item['token']}" + (f"\n{'':13}{item['door']} door: {extra}"
                                                                           if extra else ""))


@tenant_app.command("list")
def tenant_list(db: Db = None, as_json: AsJson = False):
    """List the tenants (name, currency, country, time zone, active tokens)."""
    from .service.tenants import list_tenants
    tenants = list_tenants(_engine(db))
    if as_json:
        typer.echo(json.dumps(tenants))
        return
    for item in tenants:
        typer.echo(f"{item['id']:>5}  {item['name']:<16} {item['currency']}  {item['country'] or '--'}  "
                   f"{item['timezone']:<20} {item['active_tokens']} active token(s)")


@door_app.command("create")
def door_create(door: Annotated[str, typer.Argument(help="vodo, crmcom, beansbooks or snr2u")],
                tenant: Annotated[str, typer.Option(help="tenant name")],
                login: Annotated[str, typer.Option(help="the door's key id: Vodo secure-business-key, CRM.COM "
                                                        "username, BeansBooks auth_uid, SnR2U key name")],
                secret: Annotated[Optional[str], typer.Option(help="the secret (generated when omitted)")] = None,
                settings: Annotated[Optional[str], typer.Option(help="JSON object merged over the door's "
                                                                     "default settings")] = None,
                db: Db = None, as_json: AsJson = False):
    """Create a door credential; its secret is printed once."""
    from .service import door_admin
    try:
        parsed = json.loads(settings) if settings else None
    except ValueError as error:
        typer.echo(f"error: --settings is not JSON ({error})", err=True)
        raise typer.Exit(2)
    try:
        created = door_admin.create(_engine(db), tenant, door, login=login, secret=secret, settings=parsed)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(created))
    else:
        typer.echo(f"{door} credential {created['id']} for {tenant}: login {created['login']}, "
                   f"secret (shown once): {created['secret']}")
        if created["settings"]:
            typer.echo(f"settings: {json.dumps(created['settings'])}")


@door_app.command("list")
def door_list(tenant: Annotated[str, typer.Option(help="tenant name")], db: Db = None, as_json: AsJson = False):
    """List a tenant's door credentials (never their secrets)."""
    from .service import door_admin
    try:
        items = door_admin.list_credentials(_engine(db), tenant)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(items))
        return
    for item in items:
        typer.echo(f"{item['id']:>8}  {item['door']:<11} {'revoked' if item['revoked'] else 'active':<8} {item['login']}")


@door_app.command("revoke")
def door_revoke(credential: Annotated[str, typer.Argument(help="the id `door list` shows")],
                tenant: Annotated[str, typer.Option(help="tenant name")], db: Db = None):
    """Revoke a door credential: the door refuses it from its next request on."""
    from .service import door_admin
    try:
        door_admin.revoke(_engine(db), tenant, credential)
    except RefundError as error:
        _fail(error)
    typer.echo(f"door credential {credential} revoked")


def _hide_flag_types() -> None:
    """Typer's help labels every option with its type; a flag's ``<bool>`` says nothing a user
    can type, so flags show none (options keep theirs)."""
    from typer.core import TyperOption
    if getattr(TyperOption, "_salesrefund_flags", False):
        return
    shown = TyperOption.display_type_rich

    def display_type_rich(self, ctx):
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich
    TyperOption._salesrefund_flags = True


def spread_permissions(argv: list[str]) -> list[str]:
    """``--permission a b c`` (as the README writes it) and ``--permission a,b`` become
    ``--permission a --permission b --permission c``; repeating the option works as before."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--permission" or arg.startswith("--permission="):
            values = [arg.partition("=")[2]] if "=" in arg else []
            i += 1
            if not values:
                while i < len(argv) and not argv[i].startswith("-"):
                    values.append(argv[i])
                    i += 1
            for value in values:
                for part in value.replace(",", " ").split():
                    out += ["--permission", part]
            if not values:
                out.append("--permission")  # no value: click reports it
            continue
        out.append(arg)
        i += 1
    return out


_hide_flag_types()


def main() -> None:
    import sys
    sys.argv[1:] = spread_permissions(sys.argv[1:])
    app()


# -- events and webhooks (issue 13) ---------------------------------------------------------------

events_app = typer.Typer(help="The event log: replay events, list dead letters.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@app.command()
def dispatch(db: Db = None,
             once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False):
    """Deliver webhooks (as every `serve` worker does) until interrupted; several may run at once."""
    import signal
    import threading

    from .service.dispatch import Dispatcher, DispatchSettings

    from .http import logs
    logs.configure()
    dispatcher = Dispatcher(_engine(db), settings=DispatchSettings.from_environment())
    if once:
        while dispatcher.run_once():
            pass
        typer.echo(f"{dispatcher.delivered} delivered")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo("dispatching webhooks (Ctrl-C to stop)")
    dispatcher.run(stop)


@events_app.command("replay")
def events_replay(tenant: Annotated[str, typer.Option(help="tenant name")],
                  event: Annotated[Optional[str], typer.Option(help="one event id (evt_…)")] = None,
                  date_from: Annotated[Optional[datetime], typer.Option("--from", formats=["%Y-%m-%d"])] = None,
                  date_to: Annotated[Optional[datetime], typer.Option("--to", formats=["%Y-%m-%d"])] = None,
                  endpoint: Annotated[Optional[str], typer.Option(help="only to this webhook endpoint id")] = None,
                  db: Db = None, as_json: AsJson = False):
    """Queue one event (--event) or every event from --from to --to (UTC days) again."""
    from .service.events import Webhooks
    from .service.tenants import tenant_id_by_name

    if (event is None) == (date_from is None or date_to is None):
        typer.echo("error: give --event, or --from and --to", err=True)
        raise typer.Exit(2)
    engine = _engine(db)
    try:
        result = Webhooks(engine).replay(tenant_id_by_name(engine, tenant), event=event, endpoint=endpoint,
                                         date_from=date_from.date() if date_from else None,
                                         date_to=date_to.date() if date_to else None)
    except RefundError as error:
        _fail(error)
    typer.echo(json.dumps(result) if as_json else f"{result['events']} event(s) queued as "
                                                   f"{result['deliveries']} delivery(ies)")


@events_app.command("dead")
def events_dead(tenant: Annotated[str, typer.Option(help="tenant name")], db: Db = None, as_json: AsJson = False):
    """List the dead letters: deliveries given up after retrying for 24 hours."""
    from .service.events import Webhooks
    from .service.tenants import tenant_id_by_name

    engine = _engine(db)
    try:
        hooks = Webhooks(engine)
        tenant_id = tenant_id_by_name(engine, tenant)
        dead = [{"endpoint": hook["id"], "url": hook["url"], **item} for hook in hooks.list(tenant_id)["items"]
                for item in hooks.deliveries(tenant_id, hook["id"], state="dead", limit=200)["items"]]
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(dead))
        return
    for item in dead:
        typer.echo(f"{item['event']}  {item['type']:<16} {item['url']}  {item['attempts']} attempts: {item['last_error']}")
    typer.echo(f"{len(dead)} dead letter(s)")


# -- bulk data (issue 13) -------------------------------------------------------------------------------

Tenant = Annotated[str, typer.Option("--tenant", help="tenant name")]
Format = Annotated[Optional[str], typer.Option("--format", help="csv or json (default: from the file name; csv)")]


@app.command("import")
def import_(kind: Annotated[str, typer.Argument(help="invoices, customers, products, locations or stock")],
            file: Annotated[str, typer.Argument(help="a CSV or JSON file, or - for stdin")],
            tenant: Tenant, fmt: Format = None,
            row_by_row: Annotated[bool, typer.Option("--row-by-row", help="commit each record on its own and go "
                                                     "on past refused ones (default: all or nothing)")] = False,
            db: Db = None, as_json: AsJson = False):
    """Import records; those already there (by number or code) are skipped, so it is safe to re-run."""
    import sys

    from . import bulk
    from .service.tenants import tenant_id_by_name

    if kind not in bulk.KINDS:
        typer.echo(f"error: KIND must be one of {', '.join(bulk.KINDS)}", err=True)
        raise typer.Exit(2)
    fmt = fmt or ("json" if file.lower().endswith((".json", ".jsonl", ".ndjson")) else "csv")
    if fmt not in ("csv", "json"):
        typer.echo("error: --format must be csv or json", err=True)
        raise typer.Exit(2)
    try:
        if file == "-":
            records = bulk.read_records(kind, bulk.stdin_text(sys.stdin.buffer), fmt)
        else:
            with open(file, encoding="utf-8-sig", newline="") as stream:
                records = bulk.read_records(kind, stream, fmt)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        typer.echo(f"error: cannot read {file}: {error}", err=True)
        raise typer.Exit(2)
    engine = _engine(db)
    try:
        tenant_id = tenant_id_by_name(engine, tenant)
    except RefundError as error:
        _fail(error)
    with typer.progressbar(length=len(records), label=f"importing {kind}", file=sys.stderr) as bar:
        report = bulk.import_records(engine, tenant_id, kind, records, atomic=not row_by_row, progress=bar.update)
    result = report.as_dict()
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for problem in report.problems:
            typer.echo(f"row {problem.row}, {problem.field}: {problem.message} ({problem.code})", err=True)
        nothing = "" if report.written else " (nothing written: the file is imported all or nothing)"
        typer.echo(f"{result['created']} created, {result['skipped']} skipped (already there), "
                   f"{result['failed']} refused{nothing}")
    if report.problems:
        raise typer.Exit(1)


@app.command("export")
def export_(what: Annotated[str, typer.Argument(help="refunds, journal or stock")], tenant: Tenant,
            date_from: Annotated[Optional[datetime], typer.Option("--from", formats=["%Y-%m-%d"])] = None,
            date_to: Annotated[Optional[datetime], typer.Option("--to", formats=["%Y-%m-%d"])] = None,
            fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
            output: Annotated[Optional[str], typer.Option("--output", "-o", help="a file (default: stdout)")] = None,
            db: Db = None):
    """Stream refunds (by posting date), journal lines or stock moves (by date) as CSV or JSON."""
    import sys

    from . import bulk
    from .service.tenants import tenant_id_by_name

    if what not in bulk.EXPORTS or fmt not in ("csv", "json"):
        typer.echo(f"error: export {' | '.join(bulk.EXPORTS)} --format csv|json", err=True)
        raise typer.Exit(2)
    engine = _engine(db)
    try:
        found = bulk.export(engine, tenant_id_by_name(engine, tenant), what,
                            date_from=date_from.date() if date_from else None, date_to=date_to.date() if date_to else None)
    except RefundError as error:
        _fail(error)
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with typer.progressbar(found.rows, length=found.count, label=f"exporting {what}", file=sys.stderr) as rows:
            bulk.write(rows, found.columns, fmt, out)
    finally:
        if output:
            out.close()
