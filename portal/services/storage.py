"""Where documents' bytes live: a small storage interface and its local-folder implementation.

The database keeps a document's row (``models.Document``); the bytes are kept here under a
random key that says nothing about the file (no user-chosen name ever reaches a path). The
app asks for its storage with :func:`get_storage`, built once per app from the settings:

- ``DOCUMENT_STORAGE_DIR``: the folder of :class:`LocalStorage` (default: ``documents`` in
  the app's instance folder, outside the web root: no URL maps to it; files are only served
  by the download route after an access check).

Object storage (S3, MinIO, Azure Blob ...) plugs in by implementing :class:`Storage` (three
methods) and naming a factory in ``DOCUMENT_STORAGE_FACTORY`` ("package.module:function",
called with the app's config, returning a ``Storage``). No object-storage client is shipped:
see docs/configuration.md for what such a class must guarantee.
"""

from __future__ import annotations

import importlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from flask import current_app

#: A storage key: 32 lower-case hex characters, which ``LocalStorage`` places in a folder
#: named by its first two. Anything else is refused before it comes near a path.
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
_EXTENSION_KEY = "innomatch_document_storage"
CHUNK = 64 * 1024


class StorageError(OSError):
    """The storage could not keep, find or remove a file."""


@runtime_checkable
class Storage(Protocol):
    """What the app needs from a place that keeps documents' bytes.

    ``save`` must be all-or-nothing: when it returns, the whole content is durably stored
    under the key; when it raises, nothing is left under that key. ``delete`` of a missing
    key is not an error (deletion is retried after commits and by ``flask documents sweep``).
    """

    def save(self, stream: IO[bytes]) -> str:
        """Store ``stream`` (read from its current position to its end); return the new key."""
        ...

    def open(self, key: str) -> IO[bytes]:
        """A binary file object on the content stored under ``key`` (StorageError if missing)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the content stored under ``key``, if any."""
        ...

    def keys(self) -> list[str]:
        """Every key stored (for reconciling storage with the database)."""
        ...


def new_key() -> str:
    """A fresh random storage key (128 bits)."""
    return secrets.token_hex(16)


def check_key(key: str) -> str:
    """``key`` if it has the shape of a storage key, else StorageError (no path tricks)."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise StorageError("not a storage key")
    return key


class LocalStorage:
    """Files in a local folder (or a mounted network share), one file per key.

    Writes go to a temporary file in the same folder, are flushed and fsynced, then renamed
    into place, so a crash never leaves a half-written file under a key. Files are created
    with mode 0600 and folders 0700.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def save(self, stream: IO[bytes]) -> str:
        """Store ``stream`` under a new random key and return the key."""
        key = new_key()
        target = self._path(key)
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        except OSError as exc:
            raise StorageError(f"cannot write to the document storage: {exc.strerror}") from exc
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise StorageError(f"cannot write to the document storage: {exc.strerror}") from exc
        return key

    def open(self, key: str) -> IO[bytes]:
        """The stored file, opened for reading."""
        try:
            return self._path(key).open("rb")
        except OSError as exc:
            raise StorageError(f"document {key} is not in storage") from exc

    def delete(self, key: str) -> None:
        """Remove the file of ``key``; a missing file is fine."""
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete document {key}: {exc.strerror}") from exc

    def keys(self) -> list[str]:
        """Every key stored, in no particular order (temporary files excluded)."""
        if not self.root.is_dir():
            return []
        return [p.name for p in self.root.glob("??/*") if KEY_PATTERN.match(p.name)]


def default_root(config: Mapping[str, Any], instance_path: str) -> Path:
    """The folder of the local storage: ``DOCUMENT_STORAGE_DIR``, else ``<instance>/documents``."""
    configured = str(config.get("DOCUMENT_STORAGE_DIR") or "").strip()
    return Path(configured) if configured else Path(instance_path) / "documents"


def build_storage(config: Mapping[str, Any], instance_path: str) -> Storage:
    """The storage the settings ask for: ``DOCUMENT_STORAGE_FACTORY`` if set, else LocalStorage."""
    factory_name = str(config.get("DOCUMENT_STORAGE_FACTORY") or "").strip()
    if not factory_name:
        return LocalStorage(default_root(config, instance_path))
    module_name, _, attribute = factory_name.partition(":")
    factory: Callable[[Mapping[str, Any]], Any] = getattr(importlib.import_module(module_name), attribute)
    storage = factory(config)
    if not isinstance(storage, Storage):
        raise TypeError(f"DOCUMENT_STORAGE_FACTORY {factory_name} did not return a Storage")
    return storage


def get_storage() -> Storage:
    """The current app's document storage (built on first use, then kept for the app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a werkzeug LocalProxy method
    storage: Storage | None = app.extensions.get(_EXTENSION_KEY)
    if storage is None:
        storage = build_storage(app.config, app.instance_path)
        app.extensions[_EXTENSION_KEY] = storage
    return storage
