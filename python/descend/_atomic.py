"""Files written whole or not at all: the model file, predictions, the loss curve.

``replace_atomically(path)`` yields a file open on a fresh temporary file
in ``path``'s directory (the same file system, so the final rename is
atomic); after the caller's writes succeed it flushes, fsyncs and
``os.replace``\\ s it into place. Any failure (a full disk, ``ulimit -f``,
an exception while writing) removes the temporary file and leaves
whatever ``path`` held before untouched: a reader sees the old file or
the new one, never half of one. An OSError raised while writing names
``path`` (a failed write() alone names no file).
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, Any, Iterator, Union

PathType = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def replace_atomically(path: PathType, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    target = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(target))
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    # 0o666 less the umask, as open() would create `path` (mkstemp's 0o600 would
    # make a saved model unreadable to the group that read the old one).
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:  # no such directory, no permission: about `path`, not our temporary name
        raise type(error)(error.errno, error.strerror, target) from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(target):
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)  # the old file's permissions, kept
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        if error.filename is None:
            raise type(error)(error.errno, error.strerror or str(error), target) from error
        raise
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
