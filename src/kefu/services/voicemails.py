"""Voicemails (CC-03 留言): the callers' messages recorded by the SIP line, in the console.

Who sees which voicemails (a message is nobody's call until someone is given it):
- an agent: the voicemails whose callback ticket they own (assigned to them);
- team leaders, QA, supervisors and admins: every voicemail. QA sees numbers masked (the
  web layer masks, as for recordings) and may listen but not act on them.
Acting on one (marking it heard, making a callback ticket) is for team leaders,
supervisors and admins; an agent may mark heard the ones assigned to them. Both are audited.

Playback reuses the recordings' file and audit helpers (`noun="voicemail"`), and the
recordings' retention purge deletes old voicemail files too (kefu.services.recordings).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from kefu.services import tickets
from kefu.services.recordings import RecordingsError, Viewer
from kefu.services.reports import TZ
from kefu.store.models import Agent, Call, Role, Ticket, TicketType, User, Voicemail
from kefu.store.repositories import AuditRepository

CALLBACK_TYPE = "voicemail_callback"
ACTORS = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
_PHONE = re.compile(r"^\+?\d{5,20}$")


def _error(kind: str, message: str, param: str | None = None) -> RecordingsError:
    return RecordingsError(kind, message, param, noun="voicemail")


@dataclass(frozen=True, slots=True)
class VoicemailFilter:
    """What to list; None means any."""

    start: dt.datetime | None = None  # left at or after
    end: dt.datetime | None = None  # ... and before
    box: str | None = None  # the IVR box or queue name
    dialled: str | None = None  # the number the caller dialled
    number: str | None = None  # the caller's number or its last digits
    heard: bool | None = None
    purged: bool | None = None

    def check(self) -> VoicemailFilter:
        """Refuse a backwards time range, naming the parameter."""
        if self.start and self.end and self.end <= self.start:
            raise _error("invalid", "end: must be after start", "end")
        return self


@dataclass(frozen=True, slots=True)
class VoicemailRow:
    """One listed voicemail with its call and callback."""

    id: int
    call_id: str
    box: str
    caller: str
    dialled: str | None
    duration_s: float
    ended_by: str
    created_at: dt.datetime
    heard_at: dt.datetime | None
    heard_by: str | None
    ticket_id: int | None
    ticket_status: str | None
    ticket_owner: str | None
    purged_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times in local time (numbers as stored: the web layer masks)."""

        def iso(t: dt.datetime | None) -> str | None:
            return t.astimezone(TZ).isoformat() if t else None

        return {
            "id": self.id,
            "call_id": self.call_id,
            "box": self.box,
            "caller": self.caller,
            "dialled": self.dialled,
            "duration_s": round(self.duration_s, 3),
            "ended_by": self.ended_by,
            "created_at": iso(self.created_at),
            "heard": self.heard_at is not None,
            "heard_at": iso(self.heard_at),
            "heard_by": self.heard_by,
            "ticket": {
                "id": self.ticket_id,
                "status": self.ticket_status,
                "owner": self.ticket_owner,
            }
            if self.ticket_id is not None
            else None,
            "purged": self.purged_at is not None,
            "purged_at": iso(self.purged_at),
        }


def _visible(viewer: Viewer) -> Any:
    """The SQL condition on Voicemail for what the viewer may see (None: everything)."""
    if viewer.role is not Role.AGENT:
        return None
    return Voicemail.ticket_id.in_(
        select(Ticket.id).where(Ticket.owner_id == (viewer.user_id or -1))
    )


def _where(flt: VoicemailFilter, viewer: Viewer) -> list[Any]:
    conds: list[Any] = []
    visible = _visible(viewer)
    if visible is not None:
        conds.append(visible)
    if flt.start is not None:
        conds.append(Voicemail.created_at >= flt.start)
    if flt.end is not None:
        conds.append(Voicemail.created_at < flt.end)
    if flt.box is not None:
        conds.append(Voicemail.box == flt.box)
    if flt.dialled is not None:
        conds.append(Call.callee == flt.dialled)
    if flt.number is not None:  # digits only (parse_number): no LIKE wildcard slips in
        conds.append(Voicemail.caller.like(f"%{flt.number}"))
    if flt.heard is not None:
        heard = Voicemail.heard_at.is_not(None)
        conds.append(heard if flt.heard else ~heard)
    if flt.purged is not None:
        purged = Voicemail.purged_at.is_not(None)
        conds.append(purged if flt.purged else ~purged)
    return conds


def search(
    session: Session,
    flt: VoicemailFilter,
    viewer: Viewer,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[VoicemailRow], int]:
    """Voicemails the viewer may see that match `flt`, newest first, and the total."""
    flt.check()
    conds = _where(flt, viewer)
    base = select(Voicemail.id).join(Call, Call.id == Voicemail.call_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    hearer = aliased(User)
    owner = aliased(User)
    q = (
        select(Voicemail, Call.callee, hearer.display_name, Ticket.status, owner.display_name)
        .join(Call, Call.id == Voicemail.call_id)
        .outerjoin(hearer, hearer.id == Voicemail.heard_by)
        .outerjoin(Ticket, Ticket.id == Voicemail.ticket_id)
        .outerjoin(owner, owner.id == Ticket.owner_id)
        .where(*conds)
        .order_by(Voicemail.created_at.desc(), Voicemail.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [
        VoicemailRow(
            id=vm.id,
            call_id=vm.call_id,
            box=vm.box,
            caller=vm.caller,
            dialled=callee,
            duration_s=vm.duration_s,
            ended_by=vm.ended_by,
            created_at=vm.created_at,
            heard_at=vm.heard_at,
            heard_by=heard_by,
            ticket_id=vm.ticket_id,
            ticket_status=status.value if status is not None else None,
            ticket_owner=owner_name,
            purged_at=vm.purged_at,
        )
        for vm, callee, heard_by, status, owner_name in session.execute(q).all()
    ]
    return rows, total


def boxes(session: Session) -> list[str]:
    """The boxes that hold voicemails, for the filter drop-down."""
    return list(session.scalars(select(Voicemail.box).distinct().order_by(Voicemail.box)))


def get(session: Session, voicemail_id: int, viewer: Viewer) -> Voicemail:
    """The voicemail, if it exists and the viewer may hear it."""
    vm = session.get(Voicemail, voicemail_id)
    if vm is None:
        raise _error("not-found", f"voicemail {voicemail_id} not found")
    visible = _visible(viewer)
    if (
        visible is not None
        and session.scalar(select(Voicemail.id).where(Voicemail.id == vm.id, visible)) is None
    ):
        raise _error("forbidden", "this voicemail is not assigned to you")
    return vm


def _may_act(viewer: Viewer) -> None:
    """QA listens only; an agent acts on what `get` let them see (their callbacks)."""
    if viewer.role not in (*ACTORS, Role.AGENT):
        raise _error("forbidden", "your role may listen to voicemails but not act on them")


def mark_heard(
    session: Session,
    voicemail_id: int,
    viewer: Viewer,
    *,
    now: dt.datetime | None = None,
    source_ip: str | None = None,
) -> Voicemail:
    """Mark a voicemail heard by the viewer; audited. The first marking is kept."""
    vm = get(session, voicemail_id, viewer)
    _may_act(viewer)
    if vm.heard_at is not None:
        return vm
    vm.heard_at = now or dt.datetime.now(dt.UTC)
    vm.heard_by = viewer.user_id
    actor = session.get(User, viewer.user_id) if viewer.user_id is not None else None
    AuditRepository(session).record(
        "voicemail.heard",
        actor=actor,
        target=f"voicemail:{vm.id}",
        detail={"call_id": vm.call_id, "box": vm.box},
        source_ip=source_ip,
        at=vm.heard_at,
    )
    return vm


def create_callback(
    session: Session,
    voicemail_id: int,
    viewer: Viewer,
    *,
    agent_id: int | None = None,
    note: str = "",
    now: dt.datetime | None = None,
    source_ip: str | None = None,
) -> Ticket:
    """Make a callback ticket (留言回电) from a voicemail, given to `agent_id` if named.

    One per voicemail. Without an agent the ticket is the creator's (首问负责制 rules in
    kefu.services.tickets). The assigned agent then sees and plays the voicemail.
    """
    if viewer.role not in ACTORS or viewer.user_id is None:
        raise _error("forbidden", "only team leaders, supervisors and admins assign callbacks")
    vm = get(session, voicemail_id, viewer)
    if vm.ticket_id is not None:
        raise _error("conflict", f"voicemail {vm.id} already has callback ticket {vm.ticket_id}")
    assignee: int | None = None
    if agent_id is not None:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise _error("invalid", f"agent_id: no agent {agent_id}", "agent_id")
        assignee = agent.user_id
    if session.scalar(select(TicketType.id).where(TicketType.code == CALLBACK_TYPE)) is None:
        tickets.seed_types(session)  # an install older than the callback type
    tt = session.scalar(select(TicketType).where(TicketType.code == CALLBACK_TYPE))
    if tt is None:
        raise _error("not-found", f"ticket type {CALLBACK_TYPE} not found")
    form: dict[str, Any] = {"content": note.strip()}
    if _PHONE.match(vm.caller):
        form["phone"] = vm.caller
    ticket = tickets.create(
        session,
        type_code=CALLBACK_TYPE,
        title=f"{tt.name} {vm.caller}",
        body=note.strip(),
        form=form,
        creator_id=viewer.user_id,
        call_id=vm.call_id,
        now=now,
    )
    if assignee is not None and ticket.owner_id != assignee:
        tickets.hand_over(session, ticket, assignee, viewer.user_id)
    vm.ticket_id = ticket.id
    actor = session.get(User, viewer.user_id)
    AuditRepository(session).record(
        "voicemail.callback",
        actor=actor,
        target=f"voicemail:{vm.id}",
        detail={"call_id": vm.call_id, "ticket_id": ticket.id, "owner": ticket.owner_id},
        source_ip=source_ip,
    )
    return ticket
