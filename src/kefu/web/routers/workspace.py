"""The agent workspace page (zh-CN, 1366x768), the screen pop (CC-08, AG-10) and the script
panel (SV-03 standard phrases, SV-04 holiday greeting)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from kefu.assist import Playbook, Scenario, opening
from kefu.core.calendar import HolidayCalendar
from kefu.services import crm, kb
from kefu.services.center import Center
from kefu.store.models import SkillGroup, SkillGroupMember, TicketType
from kefu.web.auth import AgentUser, SessionDep
from kefu.web.errors import NotFound
from kefu.web.pages import render

router = APIRouter(tags=["workspace"])
LOCAL = ZoneInfo("Asia/Shanghai")
PROFILE = "default"
SCENARIOS = tuple(s.value for s in Scenario)


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
        dial_hours=request.app.state.settings.calling_hours.describe(),  # SLA-03
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


def greeting_today(
    now: dt.datetime | None = None, calendar: HolidayCalendar | None = None
) -> str | None:
    """The holiday greeting due today (SV-04), as the calendar's code; `calendar` is the
    app's (with the admin's imported schedules)."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(LOCAL).date()
    g = (calendar or HolidayCalendar()).greeting(today)
    return g.value if g is not None else None


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def playbook_scripts(
    scenario: str,
    agent_no: str | None,
    day: dt.date,
    profile: str = PROFILE,
    calendar: HolidayCalendar | None = None,
) -> dict[str, Any]:
    """The playbook's steps for a scenario (kefu.assist), filled for today and this agent."""
    book = Playbook.load(profile)
    first = opening(book, day, calendar)  # the holiday-aware opening line (SV-04)
    key = first.holiday.value if first.holiday is not None else "everyday"
    fill = _Fill(
        greeting=book.greetings.get(key, book.greetings.get("everyday", "")),
        wish=book.wishes.get(key, ""),
        org=book.org,
        agent_id=agent_no or book.agent_id,
        reply_hours=str(book.reply_hours),
    )
    steps = [s.format_map(fill) for s in book.scripts.get(scenario, ())]
    return {
        "opening": first.script,
        "holiday": first.holiday.value if first.holiday else None,
        "warnings": list(first.warnings),
        "steps": steps,
    }


@router.get("/api/workspace/script", response_class=HTMLResponse)
def script_panel(
    request: Request, user: AgentUser, session: SessionDep, scenario: str = "opening"
) -> Response:
    """The script panel fragment: the scenario's standard phrases (SV-03) from the assist
    playbook, with today's holiday greeting (SV-04), and the KB scripts of the scenario."""
    if scenario not in SCENARIOS:
        scenario = "opening"
    today = dt.datetime.now(dt.UTC).astimezone(LOCAL).date()
    play = playbook_scripts(
        scenario, user.agent_no, today, calendar=request.app.state.center.calendar
    )
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
        play=play,
        scripts=scripts,
        greeting=play["holiday"],
    )
