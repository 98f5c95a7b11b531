"""The framing of a multipart/form-data body around one file, for bodies streamed from disk.

Stdlib only and small: the CLI (uploads to the daemon) and platforms (uploads to devices) both
frame their bodies with it, and the CLI's start-up time counts.
"""

from __future__ import annotations

import os


class FormFraming:
    """Everything of a form but the file's bytes: ``head`` + file + ``tail`` is the whole body.

    ``fields`` come first as plain form fields; then ``file_field``, holding a file named
    ``filename`` (or, with ``filename`` None, an empty plain field of that name).
    """

    def __init__(self, fields: dict[str, str], file_field: str, filename: str | None,
                 file_type: str = "application/zip") -> None:
        self.boundary = "tvctl" + os.urandom(12).hex()
        head = "".join(f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                       for name, value in fields.items())
        if filename is None:
            head += f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"\r\n\r\n\r\n'
            tail = f"--{self.boundary}--\r\n"
        else:
            safe = filename.replace('"', "").replace("\r", "").replace("\n", "")
            head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                     f'filename="{safe}"\r\nContent-Type: {file_type}\r\n\r\n')
            tail = f"\r\n--{self.boundary}--\r\n"
        self.head = head.encode()
        self.tail = tail.encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def length(self, file_size: int) -> int:
        return len(self.head) + file_size + len(self.tail)
