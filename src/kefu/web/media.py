"""Serving a call recording or voicemail: one path for every router that plays one (QA,
recordings, voicemails).

The WAV goes out as a FileResponse, which answers HTTP Range requests (the browser's audio
player seeks with them); every playback and download is written to the audit log first.
"""

from __future__ import annotations

from typing import NoReturn

from fastapi import Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from kefu.services import recordings
from kefu.services.recordings import RecordingsError, StoredAudio
from kefu.web.auth import SessionUser, client_ip
from kefu.web.errors import Forbidden, Invalid, NotFound, WebError


def raise_web(exc: RecordingsError) -> NoReturn:
    """A recordings error as its catalogue entry (422 names the parameter)."""
    message = str(exc)
    if exc.kind == "not-found":
        raise NotFound(message.removesuffix(" not found")) from None
    if exc.kind == "forbidden":
        raise Forbidden(message) from None
    if exc.kind == "conflict":
        raise WebError(f"{exc.noun}-conflict", message, 409) from None
    if exc.kind == "gone":
        raise WebError(f"{exc.noun}-purged", message, 410) from None
    raise Invalid(message, {"param": exc.param}) from None


def recording_response(
    request: Request,
    session: Session,
    user: SessionUser,
    rec: StoredAudio,
    *,
    via: str,
    download: bool = False,
    noun: str = "recording",
) -> FileResponse:
    """The WAV (Range-capable), audited as played or downloaded by `user`; `noun` is
    recording or voicemail (the audit action and the error ids follow it).

    The caller has checked that `user` may hear `rec`.
    """
    try:
        path = recordings.file_of(rec, request.app.state.settings.data_dir, noun)
    except RecordingsError as exc:
        raise_web(exc)
    recordings.audit_access(
        session,
        rec,
        user.id,
        download=download,
        via=via,
        byte_range=request.headers.get("range"),
        source_ip=client_ip(request),
        noun=noun,
    )
    return FileResponse(
        path,
        media_type="audio/wav",
        filename=f"{rec.call_id}.wav" if download else path.name,
        content_disposition_type="attachment" if download else "inline",
    )
