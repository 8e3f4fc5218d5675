"""G.711 μ-law and A-law, vectorised with numpy lookup tables.

Decoding is one `take` on a 256-entry table. Encoding is one `take` on a 65536-entry table
indexed by the sample's 16 bits, so a whole batch of packets costs one numpy call. The
tables are built once at import from the ITU-T G.711 segment rules, themselves vectorised.
Transcoding between the laws is a 256-byte table (`bytes.translate`), no PCM in between.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kefu.audio.frames import Pcm

_BIAS = 0x84
_CLIP = 32635


def _ulaw_encode_all(x: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), _CLIP) + _BIAS
    # exponent = position of the highest set bit above bit 7, in 0..7
    exp = np.floor(np.log2(mag)).astype(np.int32) - 7
    exp = np.clip(exp, 0, 7)
    mant = (mag >> (exp + 3)) & 0x0F
    out: npt.NDArray[np.uint8] = (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8)
    return out


def _ulaw_decode_all(b: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    u = ~b & 0xFF
    sign = u & 0x80
    exp = (u >> 4) & 0x07
    mant = u & 0x0F
    mag = (((mant << 3) + _BIAS) << exp) - _BIAS
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def _alaw_encode_all(x: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    sign = np.where(x >= 0, 0x80, 0)
    mag = np.where(x >= 0, x, -x - 1) >> 3  # 13-bit magnitude
    mag = np.minimum(mag, 0xFFF)
    seg = np.where(mag < 32, 0, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4)
    seg = np.clip(seg, 0, 7)
    mant = np.where(seg == 0, mag >> 1, mag >> seg) & 0x0F
    out: npt.NDArray[np.uint8] = ((sign | (seg << 4) | mant) ^ 0x55).astype(np.uint8)
    return out


def _alaw_decode_all(b: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    a = b ^ 0x55
    sign = a & 0x80
    seg = (a >> 4) & 0x07
    mant = a & 0x0F
    mag = np.where(seg == 0, (mant << 4) + 8, ((mant << 4) + 0x108) << np.maximum(seg - 1, 0))
    return np.where(sign != 0, mag, -mag).astype(np.int16)


_ALL_SAMPLES = np.arange(65536, dtype=np.int32)
_ALL_SAMPLES = np.where(_ALL_SAMPLES >= 32768, _ALL_SAMPLES - 65536, _ALL_SAMPLES)
_ALL_BYTES = np.arange(256, dtype=np.int32)

# Encode tables are indexed by the sample viewed as uint16.
ULAW_ENCODE = _ulaw_encode_all(_ALL_SAMPLES)
ALAW_ENCODE = _alaw_encode_all(_ALL_SAMPLES)
ULAW_DECODE = _ulaw_decode_all(_ALL_BYTES)
ALAW_DECODE = _alaw_decode_all(_ALL_BYTES)
ULAW_TO_ALAW = bytes(ALAW_ENCODE[ULAW_DECODE.view(np.uint16)].tolist())
ALAW_TO_ULAW = bytes(ULAW_ENCODE[ALAW_DECODE.view(np.uint16)].tolist())


def ulaw_encode(pcm: Pcm) -> bytes:
    """Encode int16 PCM as μ-law bytes."""
    return ULAW_ENCODE.take(pcm.view(np.uint16)).tobytes()


def alaw_encode(pcm: Pcm) -> bytes:
    """Encode int16 PCM as A-law bytes."""
    return ALAW_ENCODE.take(pcm.view(np.uint16)).tobytes()


def ulaw_decode(data: bytes) -> Pcm:
    """Decode μ-law bytes to int16 PCM."""
    return ULAW_DECODE.take(np.frombuffer(data, dtype=np.uint8))


def alaw_decode(data: bytes) -> Pcm:
    """Decode A-law bytes to int16 PCM."""
    return ALAW_DECODE.take(np.frombuffer(data, dtype=np.uint8))


def ulaw_to_alaw(data: bytes) -> bytes:
    """Transcode μ-law to A-law without leaving the byte domain."""
    return data.translate(ULAW_TO_ALAW)


def alaw_to_ulaw(data: bytes) -> bytes:
    """Transcode A-law to μ-law without leaving the byte domain."""
    return data.translate(ALAW_TO_ULAW)


# RTP static payload types (RFC 3551) and the functions for each.
PCMU = 0
PCMA = 8
DECODERS = {PCMU: ulaw_decode, PCMA: alaw_decode}
ENCODERS = {PCMU: ulaw_encode, PCMA: alaw_encode}
TRANSCODERS = {(PCMU, PCMA): ulaw_to_alaw, (PCMA, PCMU): alaw_to_ulaw}
