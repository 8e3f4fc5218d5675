"""The agent workspace page (zh-CN, 1366x768), the screen pop (CC-08, AG-10) and the script
panel (SV-03 standard phrases, SV-04 holiday greeting)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from kefu.core.calendar import HolidayCalendar
from kefu.services import crm, kb
from kefu.services.center import Center
from kefu.store.models import SkillGroup, SkillGroupMember, TicketType
from kefu.web.auth import AgentUser, SessionDep
from kefu.web.errors import NotFound
from kefu.web.pages import render

router = APIRouter(tags=["workspace"])
LOCAL = ZoneInfo("Asia/Shanghai")
SCENARIOS = (
    "opening",
    "closing",
    "wait",
    "silent",
    "noise",
    "dialect",
    "abuse",
    "supervisor",
    "complaint",
    "thanks",
    "suggestion",
    "agent_id",
    "wrong_number",
    "sales",
    "cannot_answer",
)


@router.get("/workspace", response_class=HTMLResponse, include_in_schema=False)
def workspace(request: Request, user: AgentUser, session: SessionDep) -> Response:
    """The agent workspace."""
    types = list(session.scalars(select(TicketType).order_by(TicketType.id)))
    groups = []
    if user.agent_id is not None:
        groups = [
            {"name": name, "signed_in": signed}
            for name, signed in session.execute(
                select(SkillGroup.name, SkillGroupMember.signed_in)
                .join(SkillGroupMember, SkillGroupMember.group_id == SkillGroup.id)
                .where(SkillGroupMember.agent_id == user.agent_id)
                .order_by(SkillGroup.name)
            )
        ]
    center: Center = request.app.state.center
    return render(
        request,
        "workspace.html",
        user=user,
        ticket_types=types,
        groups=groups,
        queues=list(center.engine.queues),
        acw_seconds=center.engine.config.acw_seconds,
    )


@router.get("/api/workspace/pop/{call_id}")
def screen_pop(
    request: Request, user: AgentUser, session: SessionDep, call_id: str
) -> dict[str, Any]:
    """The screen pop of a call offered to (or connected with) this agent (CC-08, AG-10)."""
    center: Center = request.app.state.center
    live = center.calls.get(call_id)
    if live is None or (
        str(user.agent_id) not in live.ringing and live.agent_id != str(user.agent_id)
    ):
        raise NotFound(f"call {call_id}")
    pop = crm.screen_pop(session, live.caller)
    live.customer_id = pop["customer"]["id"]
    pop["call_id"] = call_id
    pop["region"] = live.region or pop["region"]
    return pop


def greeting_today(now: dt.datetime | None = None) -> str | None:
    """The holiday greeting due today (SV-04), as the calendar's code."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(LOCAL).date()
    g = HolidayCalendar().greeting(today)
    return g.value if g is not None else None


@router.get("/api/workspace/script", response_class=HTMLResponse)
def script_panel(
    request: Request, user: AgentUser, session: SessionDep, scenario: str = "opening"
) -> Response:
    """The script panel fragment: holiday greeting and the scenario's standard phrases."""
    if scenario not in SCENARIOS:
        scenario = "opening"
    scripts = [
        {"title": a.title, "body": a.body.replace("{agent_no}", user.agent_no or "")}
        for a in kb.scripts_for(session, scenario)
    ]
    return render(
        request,
        "_script_panel.html",
        user=user,
        scenario=scenario,
        scenarios=SCENARIOS,
        scripts=scripts,
        greeting=greeting_today(),
    )
