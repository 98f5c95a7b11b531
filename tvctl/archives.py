"""Sideloaded packages kept under the state dir: each device's last installed archive (for
reload), and the uploads on their way in. Blocking file work; callers on the loop use a thread.

Handed its folder and a way to delete files later (``defer``), nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


class ArchiveStore:
    def __init__(self, folder: Path, defer: Callable[[Path], None]) -> None:
        self.folder = folder
        self.defer = defer  # delete this file after the response (see ``discard``)

    def kept(self, dev_id: str) -> Path:
        """The device's last installed archive, kept for reload."""
        return self.folder / f"{dev_id}.zip"

    def keep(self, upload: Path, dev_id: str) -> Path | None:
        """Make ``upload`` the device's kept archive atomically (blocking). Returns the archive it
        replaced, still on disk under another name, for the caller to ``discard`` on the loop."""
        return swap_in(upload, self.kept(dev_id))

    def discard(self, path: Path) -> None:
        """Delete a file after the response instead of before it (call it on the event loop).

        Unlinking a 50 MiB archive frees its page-cache pages and extents inside the syscall:
        25-80 ms on this machine's ext4, which the client has no reason to wait for. Leftovers of
        a crash are removed by ``clean`` at the next start.
        """
        self.defer(path)

    def clean(self) -> None:
        """Remove uploads and replaced archives a previous run left behind."""
        if self.folder.is_dir():
            for leftover in [*self.folder.glob("upload-*.zip"), *self.folder.glob("*.zip.old-*")]:
                leftover.unlink(missing_ok=True)


def swap_in(upload: Path, kept: Path) -> Path | None:
    """Make ``upload`` the kept archive atomically; return the replaced one, still on disk.

    The old archive first gets a second name (a hard link), so the rename that replaces it does
    not free its data; the caller deletes it later. Either name always holds a whole archive.
    """
    old = kept.with_name(f"{kept.name}.old-{os.urandom(4).hex()}")
    try:
        old.hardlink_to(kept)
    except OSError:  # nothing kept yet, or no hard links here (then the replace pays for the delete)
        upload.replace(kept)
        return None
    upload.replace(kept)
    return old
