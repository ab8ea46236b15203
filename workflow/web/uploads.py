"""A multipart upload read as it arrives: the file part into a :class:`Spool` (on disk,
never whole in memory), the text fields beside it, and the size limit enforced while
reading. A ``Content-Length`` over the limit is refused before a byte of the body is read;
a body that grows past it is refused there, the rest unread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from ..errors import FileRefused, InvalidData, Said
from ..process.values import shown
from ..store.files import Spool, too_large

FORM_SLACK = 64 * 1024   # bytes the text fields and the multipart framing may add
FILE_FIELD = "file"


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    spool: Spool | None = None

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


async def read_upload(request: Request, make_spool: Callable[[], Spool]) -> Upload:
    """The request's multipart form, its file (the part named ``file``) spooled."""
    spool = make_spool()
    limit = spool.limit + FORM_SLACK
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        spool.close()
        raise too_large(spool.limit)
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        spool.close()
        raise InvalidData(Said("send the file as multipart/form-data (a form with a file)",
                               "Filen skal sendes som en formular (multipart/form-data)"))
    upload = Upload()
    state = _Parts(upload, spool)
    parser = MultipartParser(boundary, state.callbacks(),  # type: ignore[arg-type]
                             max_size=limit)
    read = 0
    try:
        async for chunk in request.stream():
            read += len(chunk)
            if read > limit:
                raise too_large(spool.limit)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        spool.close()
        raise InvalidData(Said(f"the form cannot be read as multipart/form-data: {exc}",
                               "Formularen kunne ikke læses")) from None
    except BaseException:
        spool.close()
        raise
    if upload.spool is None:
        spool.close()
    return upload


class _Parts:
    """The parser's callbacks: which part is being read, and where its bytes go."""

    def __init__(self, upload: Upload, spool: Spool) -> None:
        self.upload = upload
        self.spool = spool
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.value = bytearray()
        self.text_size = 0
        self.files = 0          # file parts read to their end

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {"on_part_begin": self.begin, "on_header_field": self.header_field,
                "on_header_value": self.header_val, "on_header_end": self.header_end,
                "on_part_data": self.data, "on_part_end": self.end}

    def begin(self) -> None:
        self.headers = {}
        self.value = bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_val(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name = self.header_value = b""

    def _disposition(self) -> tuple[str, str | None]:
        _, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = _text(opts.get(b"name", b""), "a field's name")
        filename = opts.get(b"filename")
        return name, None if filename is None else _text(filename, "the file's name")

    def data(self, data: bytes, start: int, end: int) -> None:
        name, filename = self._disposition()
        if name == FILE_FIELD and filename is not None:
            if self.files:
                raise _one_file()
            if self.upload.filename is None:
                self.upload.filename = filename
                self.upload.spool = self.spool
            self.spool.write(data[start:end])
            return
        self.text_size += end - start
        if self.text_size > FORM_SLACK // 2:
            raise InvalidData(Said("the form's text fields are too long",
                                   "Formularens tekstfelter er for lange"))
        self.value += data[start:end]

    def end(self) -> None:
        name, filename = self._disposition()
        if name == FILE_FIELD and filename is not None:
            if self.files:
                raise _one_file()
            self.files += 1
            if self.upload.filename is None:   # an empty file: no data callback came
                self.upload.filename = filename
                self.upload.spool = self.spool
            return
        if name in self.upload.fields:
            raise InvalidData(Said(f"the field {shown(name)!r} is sent twice",
                                   f"Feltet »{shown(name)}« er sendt to gange"))
        self.upload.fields[name] = _text(bytes(self.value), f"the field {shown(name)!r}")


def _one_file() -> FileRefused:
    return FileRefused(Said("send one file at a time", "Send én fil ad gangen"))


def _text(raw: bytes, what: str) -> str:
    """A part's name or value as text: UTF-8, as a form sends it, or refused."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidData(Said(f"{what} is not UTF-8 text",
                               "Formularen indeholder tegn, der ikke er UTF-8-tekst")) from None
