"""aiosipua's SipUAS, absorbing INVITE retransmissions.

aiosipua 0.7.1 treats a retransmitted INVITE (same Call-ID and CSeq, e.g. when our 100
Trying was late or lost) as a new call while the dialog is early, and as a re-INVITE with a
stale CSeq (answered 500) once it is confirmed. A retransmission belongs to the transaction
we already have: resend 100 Trying while early, and ignore it after the 2xx (aiosipua keeps
retransmitting the 2xx until the ACK).
"""

from __future__ import annotations

from typing import Any

from aiosipua import SipRequest, SipUAS

from kefu.telephony.sip.transactions import PacedTransactionLayer


class RetransmitSafeUas(SipUAS):
    """SipUAS that recognises INVITE retransmissions (and prunes its transactions paced)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transactions = PacedTransactionLayer()

    def _handle_invite(self, request: SipRequest, addr: tuple[str, int]) -> None:
        existing = self._calls.get(request.call_id or "")
        if existing is not None:
            cseq, prev = request.cseq, existing.invite.cseq
            vias, prev_vias = request.via, existing.invite.via
            same = (
                cseq is not None
                and prev is not None
                and cseq.seq == prev.seq
                and bool(vias)
                and bool(prev_vias)
                and vias[0].branch == prev_vias[0].branch
            )
            if same:
                if not existing._answered:
                    existing.trying()
                return
        super()._handle_invite(request, addr)
