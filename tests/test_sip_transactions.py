"""The paced transaction table: expired transactions still go, by one scan a second at most
(aiosipua scanned the whole table on every new transaction). Clock: `time.monotonic` as
aiosipua and our module read it, moved by the test (a transaction's `updated_at` is set
from it)."""

from __future__ import annotations

import time

import pytest
from aiosipua import SipMessage, SipRequest, SipUAC
from aiosipua.transaction import LINGER, TransactionLayer

from kefu.telephony.sip.transactions import PacedTransactionLayer, paced


def _request(branch: str) -> SipRequest:
    raw = (
        f"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch}\r\n"
        f"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n"
        f"Call-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    msg = SipMessage.parse(raw.encode())
    assert isinstance(msg, SipRequest)
    return msg


def _has(layer: TransactionLayer, branch: str) -> bool:
    return ("z9hG4bK" + branch, "OPTIONS") in layer.client_transactions


def test_expired_transactions_are_pruned_by_one_scan_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    scans: list[float] = []
    plain = TransactionLayer._prune_expired

    def counted(self: TransactionLayer) -> None:
        scans.append(now[0])
        plain(self)

    monkeypatch.setattr(TransactionLayer, "_prune_expired", counted)
    layer = PacedTransactionLayer(every=1.0)

    def create(branch: str) -> None:
        layer.create_client(_request(branch)).updated_at = now[0]

    create("old")
    now[0] += LINGER + 0.5  # "old" lingered its time
    create("a")
    assert not _has(layer, "old") and _has(layer, "a")
    assert len(scans) == 2
    for i in range(50):  # the same second: no further scan
        now[0] += 0.01
        create(f"n{i}")
    assert len(scans) == 2 and all(_has(layer, f"n{i}") for i in range(50))
    now[0] += 1.0  # a second after the last scan: the next create scans again
    create("b")
    assert len(scans) == 3
    now[0] += LINGER + 1.1  # everything expired: gone at the next scan
    create("c")
    assert len(scans) == 4 and set(layer.client_transactions) == {("z9hG4bKc", "OPTIONS")}


def test_the_switch_and_softphones_get_the_paced_table() -> None:
    uac = paced(SipUAC.__new__(SipUAC))
    assert isinstance(uac.transactions, PacedTransactionLayer)
