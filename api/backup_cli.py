"""``foodtrace backup`` and ``foodtrace restore``: one file holding the store and the service database.

A backup is a tar archive (gzip-compressed when its name ends in ``.gz`` or ``.tgz``) of

* ``store.sqlite`` (the embedded store, copied by SQLite's online backup API) or ``store.jsonl.gz`` (every
  foodtrace node of a Neo4j store, read in one transaction that holds the write lock every foodtrace
  write takes first), made while loads and the service go on (:meth:`graph.store.Store.backup_to`);
* ``service.sqlite``: API keys, the audit log and capture jobs (the public read model is left out: it is
  rebuilt from the store);
* ``manifest.json``: when, by whom, the backend, counts per table, the change-log position and the
  SHA-256 of each member.

It is written beside its final name and renamed when complete, so a crash never leaves a half-written
backup under that name. ``foodtrace backup --dir DIR`` names it by the time and keeps the latest
``--keep-daily`` backups plus the latest of each month for ``--keep-monthly`` months (the schedule and
retention in the README's operations section).

``foodtrace restore FILE`` checks the manifest and every member's SHA-256, then replaces the store's
content (recorded as a ``restore`` batch; the change log goes on from its highest number, so the public
read model never serves an answer from before the restore). The live service database — keys and the audit
log — is kept unless ``--with-service-db`` (disaster recovery: an audit trail is never rolled back by
default); an entry saying what was restored is added to its audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import click

from ontology.errors import FoodtraceError
from ontology.times import now_iso

from .cli_common import cli_actor, cli_context, open_cli_store, store_option
from .render import text_table
from .settings import get_settings

__all__ = ["COMMANDS", "backup", "restore", "make_backup", "restore_backup", "prune_backups"]

_FORMAT = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_backup(store: Any, out: Path, service_db: str | None) -> dict[str, Any]:
    """Write a backup of ``store`` (and the service database at ``service_db``, if it exists) to ``out``."""
    from .service.servicedb import ServiceDB

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        store_part = work / ("store.sqlite" if store.name == "sqlite" else "store.jsonl.gz")
        info = store.backup_to(store_part)
        members = [store_part]
        service: dict[str, int] | None = None
        if service_db and Path(service_db).exists():
            db = ServiceDB(service_db)
            try:
                service = db.backup_to(str(work / "service.sqlite"))
            finally:
                db.close()
            members.append(work / "service.sqlite")
        manifest = {"format": _FORMAT, "created": now_iso(), "by": cli_actor(), "backend": store.name,
                    "store": store.url, "store_info": info, "service_db": service_db if service else None,
                    "service": service,
                    "members": {p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for p in members}}
        (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        partial = work / "backup.part"
        mode = "w:gz" if out.name.endswith((".gz", ".tgz")) else "w"
        with tarfile.open(partial, mode, **({"compresslevel": 1} if mode == "w:gz" else {})) as tar:
            for p in [work / "manifest.json", *members]:
                tar.add(p, arcname=p.name)
        with open(partial, "rb") as fh:  # on disk before it takes its name
            os.fsync(fh.fileno())
        os.replace(partial, out)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _extract(path: Path, into: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path) as tar:
            names = tar.getnames()
            if "manifest.json" not in names:
                raise FoodtraceError(f"{path} is not a foodtrace backup (no manifest.json)")
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
            for name in manifest.get("members", {}):
                if name not in names or "/" in name or name.startswith("."):
                    raise FoodtraceError(f"{path}: the manifest names {name!r}, which the archive does not hold")
                tar.extract(name, into, filter="data")
    except (tarfile.TarError, OSError, ValueError) as e:
        raise FoodtraceError(f"{path} cannot be read as a foodtrace backup: {e}") from None
    for name, m in manifest["members"].items():
        if _sha256(into / name) != m["sha256"]:
            raise FoodtraceError(f"{path}: {name} does not match its SHA-256 in the manifest (a damaged backup)")
    return manifest


def restore_backup(store: Any, path: Path, service_db: str | None, *, with_service_db: bool,
                   context: Any) -> dict[str, Any]:
    """Restore ``store`` (and, with ``with_service_db``, the service database) from the backup ``path``."""
    from .service.servicedb import ServiceDB

    path = Path(path)
    where = Path(getattr(store, "path", tempfile.gettempdir())).parent
    work = Path(tempfile.mkdtemp(prefix=".foodtrace-restore-", dir=where if where.exists() else None))
    try:
        manifest = _extract(path, work)
        if manifest.get("backend") != store.name:
            raise FoodtraceError(f"{path} is a backup of a {manifest.get('backend')} store; this store is {store.name}")
        part = work / ("store.sqlite" if store.name == "sqlite" else "store.jsonl.gz")
        done = store.restore_from(part, context)
        if service_db:
            from .service.projection import _SCHEMA as PUBLIC_SCHEMA

            db = ServiceDB(service_db)
            try:
                if with_service_db:
                    if "service.sqlite" not in manifest["members"]:
                        raise FoodtraceError(f"{path} holds no service database")
                    db.restore_from(str(work / "service.sqlite"))
                    db._db.executescript(PUBLIC_SCHEMA)
                db.audit(key=None, method="CLI", path="foodtrace restore", query=str(path), status=200,
                         entities=[f"batch:{done['batch']}", f"backup:{manifest['created']}"],
                         client=context.actor)
            finally:
                db.close()
        return {"manifest": manifest, **done}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prune_backups(folder: Path, *, keep_daily: int, keep_monthly: int) -> list[Path]:
    """Delete the backups in ``folder`` (``foodtrace-*.tar.gz``) beyond the newest ``keep_daily`` and the
    newest of each of the last ``keep_monthly`` months; the paths deleted."""
    found = sorted(folder.glob("foodtrace-*.tar.gz"), reverse=True)
    keep = set(found[:keep_daily])
    months: list[str] = []
    for p in found:
        month = p.name[len("foodtrace-"):][:6]
        if month not in months:
            months.append(month)
            if len(months) <= keep_monthly:
                keep.add(p)
    gone = [p for p in found if p not in keep]
    for p in gone:
        p.unlink()
    return gone


@click.command("backup")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The backup file (.tar, or .tar.gz compressed)")
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write foodtrace-YYYYMMDDTHHMMSS.tar.gz into this folder and prune older backups")
@click.option("--keep-daily", type=int, default=14, show_default=True, help="With --dir: the newest N backups stay")
@click.option("--keep-monthly", type=int, default=12, show_default=True,
              help="With --dir: and the newest of each of the last N months")
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
@store_option
def backup(out: Path | None, folder: Path | None, keep_daily: int, keep_monthly: int, service_db: str | None,
           store_url: str | None) -> None:
    """Back up the store and the service database into one file, while loads and the service run."""
    if (out is None) == (folder is None):
        raise click.UsageError("give either --out FILE or --dir DIR")
    if folder is not None:
        out = folder / f"foodtrace-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}.tar.gz"
    service_db = service_db or get_settings().service_db
    with open_cli_store(store_url) as store:
        manifest = make_backup(store, out, service_db)  # type: ignore[arg-type]
    info = manifest["store_info"]
    rows = [[t, n] for t, n in info["counts"].items() if n]
    click.echo(text_table(rows, ["表/table", "记录/records"]))
    click.echo(f"已备份/backed up to {out} ({Path(out).stat().st_size:,} bytes; change log at {info['change_seq']}"  # type: ignore[arg-type]
               + (f"; service database: {manifest['service']}" if manifest["service"] else "; no service database")
               + ")")
    if folder is not None:
        for p in prune_backups(folder, keep_daily=keep_daily, keep_monthly=keep_monthly):
            click.echo(f"removed an old backup: {p.name}")


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--with-service-db", is_flag=True,
              help="Also replace the service database (keys, audit log, capture jobs) by the backup's")
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
@click.option("--by", default=None, help="Who restores (default: the account running the command)")
@store_option
def restore(file: Path, with_service_db: bool, service_db: str | None, yes: bool, by: str | None,
            store_url: str | None) -> None:
    """Replace the store's content by a backup (checked against its manifest first)."""
    if not yes:
        click.confirm(f"Replace everything in the store by {file}?", abort=True)
    service_db = service_db or get_settings().service_db
    with open_cli_store(store_url) as store:
        done = restore_backup(store, file, service_db, with_service_db=with_service_db,
                              context=cli_context("restore", by=by, source=f"foodtrace restore {file}"))
    m = done["manifest"]
    click.echo(f"已恢复/restored {file} (made {m['created']} by {m['by']}): "
               f"{sum(done['counts'].values()):,} records; batch {done['batch']}"
               + ("; service database replaced" if with_service_db else "; service database kept"))


#: the commands of this module, added to the root group by :mod:`api.cli`
COMMANDS = (backup, restore)
