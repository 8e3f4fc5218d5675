"""CC-05 campaigns for supervisors: import a task list, start/pause/stop, progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from kefu.core.dialer import Control
from kefu.core.errors import CoreError
from kefu.services import campaigns as svc
from kefu.store.models import Queue, Role
from kefu.web.auth import AgentUser, SessionDep, SessionUser, StaffUser, require_role
from kefu.web.errors import Invalid, NotFound
from kefu.web.pages import render

router = APIRouter(tags=["campaigns"])
# Starting a campaign puts calls on the trunk: supervisors and admins only.
CampaignManager = Annotated[SessionUser, require_role(Role.SUPERVISOR, Role.ADMIN)]


class ImportIn(BaseModel):
    """A task list as CSV text: number[,owner_agent][,customer_id], with or without header."""

    name: str = Field(min_length=1, max_length=64)
    queue: str = Field(min_length=1, max_length=64)
    mode: str = Field(min_length=1, max_length=16)
    csv: str = Field(max_length=5_000_000)
    source: str = Field("upload.csv", max_length=200)
    max_attempts: int = Field(3, ge=1, le=20)
    abandon_cap: float = Field(0.03, gt=0, lt=0.5)
    retry_delays: dict[str, float] = Field(default_factory=dict)


def _progress(p: svc.Progress) -> dict[str, Any]:
    return {
        "name": p.name,
        "queue": p.queue,
        "mode": p.mode,
        "state": p.state,
        "total": p.total,
        "done": p.done,
        "by_status": p.by_status,
        "by_outcome": p.by_outcome,
    }


def _refused(exc: svc.CampaignError, name: str) -> Exception:
    return NotFound(f"campaign {name!r}") if str(exc).endswith("not found") else Invalid(str(exc))


@router.get("/campaigns", response_class=HTMLResponse, include_in_schema=False)
def campaigns_page(request: Request, user: StaffUser, session: SessionDep) -> HTMLResponse:
    """The campaigns section of the console: progress, start/pause/stop, import."""
    queues = list(session.scalars(select(Queue.name).order_by(Queue.name)))
    manage = user.role in (Role.SUPERVISOR, Role.ADMIN)
    return render(request, "campaigns.html", user=user, queues=queues, can_manage=manage)


@router.get("/api/campaigns")
def list_campaigns(user: StaffUser, session: SessionDep) -> list[dict[str, Any]]:
    """Campaigns with their state and progress (team leaders see them too)."""
    return [_progress(p) for p in svc.list_campaigns(session)]


@router.get("/api/campaigns/{name}")
def campaign(user: StaffUser, session: SessionDep, name: str) -> dict[str, Any]:
    """One campaign's progress: tasks by status and by last outcome."""
    try:
        return _progress(svc.progress(session, name))
    except svc.CampaignError as exc:
        raise _refused(exc, name) from None


@router.post("/api/campaigns/import", status_code=201)
def import_tasks(user: CampaignManager, session: SessionDep, body: ImportIn) -> dict[str, Any]:
    """Create or extend a campaign; refused rows come back as `errors` (SOURCE:LINE: what)."""
    try:
        report = svc.import_tasks(
            session,
            body.csv,
            body.source,
            name=body.name,
            queue=body.queue,
            mode=body.mode,
            max_attempts=body.max_attempts,
            retry_delays=body.retry_delays,
            abandon_cap=body.abandon_cap,
            user_id=user.id,
        )
    except svc.CampaignError as exc:
        raise Invalid(str(exc)) from None
    return {"campaign": report.campaign, "added": report.added, "errors": report.errors}


@router.post("/api/campaigns/{name}/preview/{task_id}/{decision}")
def preview(
    request: Request, user: AgentUser, name: str, task_id: str, decision: str
) -> dict[str, Any]:
    """Preview mode: the agent shown a task accepts it (the number is dialled) or skips it."""
    if decision not in ("accept", "skip"):
        raise NotFound(f"decision {decision!r} (accept or skip)")
    runner = getattr(request.app.state, "campaigns", None)
    if runner is None or user.agent_no is None:
        raise Invalid("no campaign is dialling in this process")
    try:
        runner.preview(name, user.agent_no, task_id, decision == "accept")
    except CoreError as exc:
        raise Invalid(str(exc)) from None
    return {"campaign": name, "task_id": task_id, "decision": decision}


@router.post("/api/campaigns/{name}/{action}")
def control(user: CampaignManager, session: SessionDep, name: str, action: str) -> dict[str, Any]:
    """start, pause or stop."""
    try:
        act = Control(action)
    except ValueError:
        raise NotFound(f"action {action!r} (start, pause or stop)") from None
    try:
        svc.control(session, name, act, user.id)
        return _progress(svc.progress(session, name))
    except svc.CampaignError as exc:
        raise _refused(exc, name) from None
