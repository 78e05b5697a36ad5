"""The command line: ``salesrefund serve | migrate | demo | tenant | token``."""

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
tenant_app = typer.Typer(help="Create tenants.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")

Db = Annotated[Optional[str], typer.Option("--db", help=f"database URL (default: ${ENV_DATABASE_URL} or a "
                                                     "SQLite file in the user data directory)")]
AsJson = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _engine(db: str | None):
    from .bootstrap import engine_for
    return engine_for(db)


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
    result = {"tenant": loaded["tenant"], "token": loaded["token"], "created": loaded["created"]}
    typer.echo(json.dumps(result) if as_json else f"demo tenant '{result['tenant']}', token {result['token']}")


@app.command()
def check(db: Db = None, as_json: AsJson = False):
    """Verify the database end to end; exit 1 on any violation."""
    from .service.check import run_checks
    results = run_checks(_engine(db))
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


@tenant_app.command("create")
def tenant_create(name: str, currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR")],
                  country: Annotated[Optional[str], typer.Option(help="ISO 3166 code")] = None,
                  timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
                  prices_include_tax: Annotated[bool, typer.Option("--prices-include-tax")] = False,
                  cash_rounding: Annotated[Optional[str], typer.Option(help="e.g. 0.05")] = None,
                  cash_rounding_all_methods: Annotated[bool, typer.Option("--cash-rounding-all-methods")] = False,
                  allow_unlinked_refunds: Annotated[bool, typer.Option("--allow-unlinked-refunds")] = False,
                  currency_exponent: Annotated[Optional[int], typer.Option(help="decimals used (MNT: 0)")] = None,
                  db: Db = None, as_json: AsJson = False):
    """Create a tenant with its chart of accounts, payment methods and first admin token."""
    from .service.tenants import create_tenant
    try:
        created = create_tenant(_engine(db), name, currency=currency.upper(),
                                country=country.upper() if country else None, timezone=timezone,
                                prices_include_tax=prices_include_tax, cash_rounding=cash_rounding,
                                cash_rounding_all_methods=cash_rounding_all_methods,
                                allow_unlinked_refunds=allow_unlinked_refunds, currency_exponent=currency_exponent)
    except RefundError as error:
        _fail(error)
    if as_json:
        typer.echo(json.dumps(created))
    else:
        typer.echo(f"tenant {created['tenant']} created ({created['currency']})")
        typer.echo(f"admin token (shown once): {created['token']}")


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
        state = "revoked" if tok["revoked"] else "active"
        typer.echo(f"{tok['id']:>5}  {state:<8} {tok['name']:<16} {' '.join(tok['permissions'])}")


@token_app.command("revoke")
def token_revoke(token_id: int, db: Db = None):
    """Revoke a token: it is refused from its next request on."""
    from .service.tenants import revoke_token
    if not revoke_token(_engine(db), token_id):
        typer.echo(f"error: no active token {token_id}", err=True)
        raise typer.Exit(2)
    typer.echo(f"token {token_id} revoked")


def main() -> None:
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
