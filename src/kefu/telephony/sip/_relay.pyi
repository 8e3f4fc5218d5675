# Native RTP relay (see _relay.c and relay.py).

def add(
    fd_in: int,
    src_host: str,
    src_port: int,
    fd_out: int,
    dst_host: str,
    dst_port: int,
    out_pt: int,
    dtmf_pt: int,
    record: bool,
    ssrc: int,
    seq: int,
    ts: int,
    offset: int,
    src_ssrc: int,
    fresh: bool,
    notify_fd: int,
    /,
) -> int: ...
def drain(key: int, /) -> tuple[bytes, list[bytes], float, int, int, int, int, int]: ...
def remove(
    key: int, /
) -> tuple[
    tuple[bytes, list[bytes], float, int, int, int, int, int],
    tuple[int, int, int, int, int],
]: ...
def set_tables(ulaw_to_alaw: bytes, alaw_to_ulaw: bytes, /) -> None: ...
def stats() -> tuple[int, int]: ...
