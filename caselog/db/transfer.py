"""Moving a whole database elsewhere (an SQLite file into the clinic's PostgreSQL), history included,
and warning when an SQLite file sits where it will sooner or later be corrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Integer, delete, func, select, text

from caselog.db.engine import Database
from caselog.db.models import AuditHeadRow, Base, DashboardStaleRow, DashboardStaleSliceRow
from caselog.db.store import bulk_insert
from caselog.errors import InvalidInput, StorageError
from caselog.validation import Problem

Progress = Callable[[int, int, str], None]

#: File systems that reach over the network: SQLite's locking is not reliable on them.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "davfs", "fuse.sshfs", "fuse.rclone",
     "glusterfs", "fuse.glusterfs", "ceph", "fuse.ceph", "lustre", "gpfs", "beegfs"}
)  # fmt: skip


def filesystem_of(path: Path, mountinfo: str | None = None) -> str | None:
    """The file system type holding `path`, from /proc/self/mountinfo (Linux); None when unknown."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = str(path.resolve() if path.exists() else path.parent.resolve())
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right:
            continue
        mount_point = fields[4].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), right.split()[0])
    return best[1] if best else None


def storage_warnings(db: Database, mountinfo: str | None = None) -> list[str]:
    """What a user should hear before trusting this database with their cases."""
    path = db.sqlite_path
    if path is None:
        return []
    kind = filesystem_of(path, mountinfo)
    if kind in NETWORK_FILESYSTEMS or (kind or "").startswith(("nfs", "smb")):
        return [
            f"Warning: {path} is on a network file system ({kind}). SQLite files on network shares get "
            "corrupted when several computers use them. For a clinic-wide database use a PostgreSQL server "
            "(see README: 'A clinic-wide database')."
        ]
    return []


def copy_database(source: Database, target: Database, *, progress: Progress | None = None) -> dict[str, int]:
    """Copy every table, ids and history included, into an empty migrated database; returns rows per table."""
    with target.read() as session:
        existing = session.execute(text("SELECT count(*) FROM cases")).scalar_one()
    if existing:
        raise InvalidInput([Problem("TARGET", f"{target.display_name} already holds {existing} cases; copy into an "
                                              "empty database")])  # fmt: skip
    # The dashboard's stale marks last: the target's triggers mark every patient as their cases are copied in, and
    # those marks give way to the source's, which hold for the very same cases (as its stored tallies do).
    marks = {DashboardStaleRow.__tablename__, DashboardStaleSliceRow.__tablename__}
    tables = [t for t in Base.metadata.sorted_tables if t.name not in marks]
    tables += [t for t in Base.metadata.sorted_tables if t.name in marks]
    copied: dict[str, int] = {}
    with source.read() as reading, target.write() as writing:
        # The new database's empty chain head gives way to the source's: the trail continues unbroken.
        writing.execute(delete(AuditHeadRow))
        for step, table in enumerate(tables):
            if progress:
                progress(step, len(tables), f"Copying {table.name}")
            if table.name in marks:
                writing.execute(delete(table))
            count = 0
            order = list(table.primary_key.columns)
            result = reading.execute(select(table).order_by(*order)).mappings()
            while batch := result.fetchmany(2000):
                bulk_insert(writing, table, [dict(row) for row in batch])
                count += len(batch)
            copied[table.name] = count
        if writing.get_bind().dialect.name == "postgresql":
            # Rows came with their ids: move each sequence past them so new rows do not collide.
            for table in tables:
                id_column = table.c.get("id")
                if id_column is None or not isinstance(id_column.type, Integer):
                    continue
                sequence = func.pg_get_serial_sequence(table.name, "id")
                highest = select(func.coalesce(func.max(id_column), 0) + 1).scalar_subquery()
                writing.execute(select(func.setval(sequence, highest, False)))
    with target.read() as session:
        for table in tables:
            found = session.execute(select(func.count()).select_from(table)).scalar_one()
            if found != copied[table.name]:
                raise StorageError(
                    f"{table.name}: copied {copied[table.name]} rows but found {found}; check the target"
                )
    return copied
