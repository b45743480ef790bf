"""Backup and restore of the embedded setup: the SQLite database and the media folder.

The database is copied with SQLite's online backup API, so a backup taken while the app runs is a
consistent snapshot. The media files are copied after the snapshot: a photo's files are written
before its row commits, so every photo in the snapshot has its files (files newer than the
snapshot may come along too; they are harmless).
"""
from __future__ import annotations

import os
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from inspect_app import clock

MANIFEST = "inspect-backup.txt"


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise ValueError("Backups here are for the embedded SQLite setup. For PostgreSQL use pg_dump / pg_restore "
                         "(see the README).")
    return Path(url[len("sqlite:///"):])


def backup(*, database_url: str, media_root: str, target: Path) -> Path:
    db_path = sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / "inspect.db"
        source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        dest = sqlite3.connect(snapshot)
        with dest:
            source.backup(dest)
        dest.close()
        source.close()
        partial = target.with_suffix(target.suffix + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            info = f"created {clock.now().isoformat()}\nsource {db_path}\n".encode()
            manifest = Path(tmp) / MANIFEST
            manifest.write_bytes(info)
            tar.add(manifest, arcname=MANIFEST)
            tar.add(snapshot, arcname="inspect.db")
            media = Path(media_root)
            if media.exists():
                tar.add(media, arcname="media", filter=lambda t: None if t.name.endswith(".tmp") else t)
        os.replace(partial, target)
    return target


def restore(*, archive: Path, database_url: str, media_root: str, force: bool = False) -> None:
    db_path = sqlite_path(database_url)
    if db_path.exists() and not force:
        raise FileExistsError(f"{db_path} exists; stop the app and pass --force to replace it")
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        if MANIFEST not in names or "inspect.db" not in names:
            raise ValueError("This is not a backup made by inspect-app backup.")
        with tempfile.TemporaryDirectory(dir=db_path.parent) as tmp:
            tar.extractall(tmp, filter="data")
            check = sqlite3.connect(Path(tmp) / "inspect.db")
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
            check.close()
            if ok != "ok":
                raise ValueError(f"The database in the backup is damaged: {ok}")
            for suffix in ("-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
            os.replace(Path(tmp) / "inspect.db", db_path)
            media_src = Path(tmp) / "media"
            if media_src.exists():
                media = Path(media_root)
                media.mkdir(parents=True, exist_ok=True)
                for path in media_src.rglob("*"):
                    if path.is_file():
                        dest = media / path.relative_to(media_src)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(path, dest)
