"""Administration: users and agents, skills, skill groups, queues, numbers, IVR flows (YAML,
validated, versioned), prompts (WAV), rulebooks (validated, versioned), the audit log."""

from __future__ import annotations

import io
import re
import tempfile
import wave
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from kefu.security.password import hash_password, sip_ha1
from kefu.services import audit
from kefu.services.users import UserError, check_password_strength
from kefu.store.models import (
    Agent,
    AgentSkill,
    IvrFlow,
    IvrFlowVersion,
    Number,
    NumberTarget,
    OverflowKind,
    Queue,
    QueueSkill,
    Role,
    Rulebook,
    Skill,
    SkillGroup,
    SkillGroupMember,
    Strategy,
    User,
)
from kefu.web.auth import AdminUser, Id, SessionDep, get_db, sessions_of
from kefu.web.errors import Invalid, NotFound
from kefu.web.pages import render

router = APIRouter(tags=["admin"])
SIP_REALM = "kefu"
MAX_PROMPT_BYTES = 20 * 1024 * 1024


class UserCreate(BaseModel):
    """A user; agents and team leaders with agent_no + extension get a seat."""

    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{2,64}$")
    display_name: str = Field("", max_length=128)
    role: Literal["agent", "team_leader", "qa", "supervisor", "admin"] = "agent"
    password: str
    agent_no: str | None = Field(None, pattern=r"^\d{2,16}$")
    extension: str | None = Field(None, pattern=r"^\d{2,16}$")
    sip_password: str | None = None
    skills: dict[str, int] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    may_transfer_outside: bool = False


class AgentUpdate(BaseModel):
    """Changes to a seat."""

    skills: dict[str, int] | None = None
    groups: list[str] | None = None
    may_transfer_outside: bool | None = None
    sip_password: str | None = None
    active: bool | None = None


class NamedIn(BaseModel):
    """A skill or a skill group."""

    name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=256)


class QueueIn(BaseModel):
    """A queue (changes reach the running center at the next restart)."""

    name: str = Field(min_length=1, max_length=64)
    priority: int = 0
    strategy: Literal["longest_idle", "round_robin", "fewest_calls", "random", "ring_all"] = (
        "longest_idle"
    )
    ring_timeout_s: int = Field(15, ge=1, le=300)
    max_wait_s: int = Field(300, ge=1, le=7200)
    wrap_up_s: int = Field(30, ge=0, le=600)
    overflow: Literal["none", "queue", "voicemail", "callback"] = "none"
    overflow_queue: str | None = None
    skill_group: str | None = None
    skills: dict[str, int] = Field(default_factory=dict)
    service_level_s: int = Field(20, ge=1, le=600)


class NumberIn(BaseModel):
    """A called number mapped to a queue or an IVR flow."""

    number: str = Field(pattern=r"^\+?\d{3,20}$")
    target: Literal["queue", "ivr"]
    queue: str | None = None
    ivr_flow: str | None = None
    description: str = Field("", max_length=256)


class VersionIn(BaseModel):
    """A YAML document to save as a new version."""

    content: str = Field(min_length=1, max_length=1_000_000)
    activate: bool = True


def _skill_ids(session: SessionDep, skills: dict[str, int]) -> dict[int, int]:
    out = {}
    for name, level in skills.items():
        if not 1 <= level <= 10:
            raise Invalid(f"skills.{name}: level must be 1..10")
        skill = session.scalar(select(Skill).where(Skill.name == name))
        if skill is None:
            raise Invalid(f"skills.{name}: no such skill")
        out[skill.id] = level
    return out


def _group_ids(session: SessionDep, groups: list[str]) -> list[int]:
    ids = []
    for name in groups:
        g = session.scalar(select(SkillGroup).where(SkillGroup.name == name))
        if g is None:
            raise Invalid(f"groups: no skill group {name!r}")
        ids.append(g.id)
    return ids


def _agent_dict(a: Agent) -> dict[str, Any]:
    return {
        "agent_no": a.agent_no,
        "extension": a.extension,
        "may_transfer_outside": a.may_transfer_outside,
        "has_sip_password": a.sip_ha1 is not None,
        "skills": {s.skill.name: s.level for s in a.skills},
    }


def _user_dict(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role.value,
        "active": u.active,
        "locked_until": u.locked_until.isoformat() if u.locked_until else None,
        "agent": _agent_dict(u.agent) if u.agent else None,
    }


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """The administration page."""
    return render(
        request,
        "admin.html",
        user=user,
        users=[_user_dict(u) for u in session.scalars(select(User).order_by(User.id))],
        skills=list(session.scalars(select(Skill).order_by(Skill.name))),
        groups=list(session.scalars(select(SkillGroup).order_by(SkillGroup.name))),
        queues=list(session.scalars(select(Queue).order_by(Queue.id))),
        numbers=list(session.scalars(select(Number).order_by(Number.id))),
        flows=list(session.scalars(select(IvrFlow).order_by(IvrFlow.name))),
        rulebooks=list(session.scalars(select(Rulebook).order_by(Rulebook.name, Rulebook.version))),
        prompts=sorted(p.name for p in _prompt_dir(request).glob("*.wav")),
    )


# -- users and agents ---------------------------------------------------------------------
@router.get("/api/admin/users")
def list_users(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """Every user with their seat."""
    return [_user_dict(u) for u in session.scalars(select(User).order_by(User.id))]


@router.post("/api/admin/users", status_code=201)
def create_user(
    request: Request, user: AdminUser, session: SessionDep, body: UserCreate
) -> dict[str, Any]:
    """Create a user; agents get a seat with extension, skills, groups and SIP secret (HA1)."""
    try:
        check_password_strength(body.password)
    except UserError as exc:
        raise Invalid(f"password: {exc}") from None
    if session.scalar(select(User).where(User.username == body.username)) is not None:
        raise Invalid(f"username: {body.username!r} exists already")
    role = Role(body.role)
    new = User(
        username=body.username,
        display_name=body.display_name or body.username,
        role=role,
        password_hash=hash_password(body.password),
        must_change_password=True,
    )
    if body.agent_no or body.extension:
        if not (body.agent_no and body.extension):
            raise Invalid("agent_no: an agent needs both an agent number and an extension")
        if session.scalar(select(Agent).where(Agent.agent_no == body.agent_no)) is not None:
            raise Invalid(f"agent_no: {body.agent_no} is taken")
        if session.scalar(select(Agent).where(Agent.extension == body.extension)) is not None:
            raise Invalid(f"extension: {body.extension} is taken")
        agent = Agent(
            agent_no=body.agent_no,
            extension=body.extension,
            may_transfer_outside=body.may_transfer_outside,
        )
        if body.sip_password:
            agent.sip_ha1 = sip_ha1(body.extension, SIP_REALM, body.sip_password)
        new.agent = agent
    elif role is Role.AGENT:
        raise Invalid("agent_no: an agent needs an agent number and an extension")
    session.add(new)
    session.flush()
    if new.agent is not None:
        for skill_id, level in _skill_ids(session, body.skills).items():
            session.add(AgentSkill(agent_id=new.agent.id, skill_id=skill_id, level=level))
        for gid in _group_ids(session, body.groups):
            session.add(SkillGroupMember(group_id=gid, agent_id=new.agent.id, signed_in=True))
    session.flush()
    session.refresh(new)
    audit_detail = {"role": role.value, "agent_no": body.agent_no}
    from kefu.store.repositories import AuditRepository

    AuditRepository(session).record(
        "user.create", target=body.username, detail=audit_detail, source_ip=None
    )
    return _user_dict(new)


@router.put("/api/admin/agents/{agent_no}")
def update_agent(
    request: Request, user: AdminUser, session: SessionDep, agent_no: str, body: AgentUpdate
) -> dict[str, Any]:
    """Change a seat's skills, groups, permissions or SIP secret."""
    agent = session.scalar(select(Agent).where(Agent.agent_no == agent_no))
    if agent is None:
        raise NotFound(f"agent {agent_no}")
    if body.skills is not None:
        levels = _skill_ids(session, body.skills)
        for s in list(agent.skills):
            session.delete(s)
        session.flush()
        for skill_id, level in levels.items():
            session.add(AgentSkill(agent_id=agent.id, skill_id=skill_id, level=level))
    if body.groups is not None:
        gids = _group_ids(session, body.groups)
        for m in session.scalars(
            select(SkillGroupMember).where(SkillGroupMember.agent_id == agent.id)
        ):
            if m.group_id not in gids:
                session.delete(m)
        have = {
            m.group_id
            for m in session.scalars(
                select(SkillGroupMember).where(SkillGroupMember.agent_id == agent.id)
            )
        }
        for gid in gids:
            if gid not in have:
                session.add(SkillGroupMember(group_id=gid, agent_id=agent.id, signed_in=True))
    if body.may_transfer_outside is not None:
        agent.may_transfer_outside = body.may_transfer_outside
    if body.sip_password:
        agent.sip_ha1 = sip_ha1(agent.extension, SIP_REALM, body.sip_password)
    if body.active is not None:
        agent.user.active = body.active
    session.flush()
    sessions_of(request).forget(agent.user.id)
    session.refresh(agent)
    return _user_dict(agent.user)


# -- skills, groups, queues, numbers ------------------------------------------------------
@router.get("/api/admin/skills")
def list_skills(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """Skills."""
    return [
        {"id": s.id, "name": s.name, "description": s.description}
        for s in session.scalars(select(Skill).order_by(Skill.name))
    ]


@router.post("/api/admin/skills", status_code=201)
def create_skill(user: AdminUser, session: SessionDep, body: NamedIn) -> dict[str, Any]:
    """Add a skill."""
    if session.scalar(select(Skill).where(Skill.name == body.name)) is not None:
        raise Invalid(f"name: skill {body.name!r} exists already")
    s = Skill(name=body.name, description=body.description)
    session.add(s)
    session.flush()
    return {"id": s.id, "name": s.name, "description": s.description}


@router.get("/api/admin/skill-groups")
def list_groups(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """Skill groups with their members' agent numbers."""
    out = []
    for g in session.scalars(select(SkillGroup).order_by(SkillGroup.name)):
        members = session.scalars(
            select(Agent.agent_no)
            .join(SkillGroupMember, SkillGroupMember.agent_id == Agent.id)
            .where(SkillGroupMember.group_id == g.id)
        )
        out.append(
            {"id": g.id, "name": g.name, "description": g.description, "members": list(members)}
        )
    return out


@router.post("/api/admin/skill-groups", status_code=201)
def create_group(user: AdminUser, session: SessionDep, body: NamedIn) -> dict[str, Any]:
    """Add a skill group."""
    if session.scalar(select(SkillGroup).where(SkillGroup.name == body.name)) is not None:
        raise Invalid(f"name: skill group {body.name!r} exists already")
    g = SkillGroup(name=body.name, description=body.description)
    session.add(g)
    session.flush()
    return {"id": g.id, "name": g.name, "description": g.description, "members": []}


def _queue_id(session: SessionDep, name: str | None, field: str) -> int | None:
    if not name:
        return None
    q = session.scalar(select(Queue).where(Queue.name == name))
    if q is None:
        raise Invalid(f"{field}: no queue {name!r}")
    return q.id


def _queue_dict(q: Queue) -> dict[str, Any]:
    return {
        "id": q.id,
        "name": q.name,
        "priority": q.priority,
        "strategy": q.strategy.value,
        "ring_timeout_s": q.ring_timeout_s,
        "max_wait_s": q.max_wait_s,
        "wrap_up_s": q.wrap_up_s,
        "overflow": q.overflow.value,
        "overflow_queue_id": q.overflow_queue_id,
        "skill_group_id": q.skill_group_id,
        "service_level_s": q.service_level_s,
    }


@router.get("/api/admin/queues")
def list_queues(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """Queues."""
    return [_queue_dict(q) for q in session.scalars(select(Queue).order_by(Queue.id))]


@router.post("/api/admin/queues", status_code=201)
def create_queue(user: AdminUser, session: SessionDep, body: QueueIn) -> dict[str, Any]:
    """Add a queue with its strategy, timeouts, overflow and required skills."""
    if session.scalar(select(Queue).where(Queue.name == body.name)) is not None:
        raise Invalid(f"name: queue {body.name!r} exists already")
    if body.overflow == "queue" and not body.overflow_queue:
        raise Invalid("overflow_queue: required when overflow is queue")
    group_id = None
    if body.skill_group:
        group_id = _group_ids(session, [body.skill_group])[0]
    q = Queue(
        name=body.name,
        priority=body.priority,
        strategy=Strategy(body.strategy),
        ring_timeout_s=body.ring_timeout_s,
        max_wait_s=body.max_wait_s,
        wrap_up_s=body.wrap_up_s,
        overflow=OverflowKind(body.overflow),
        overflow_queue_id=_queue_id(session, body.overflow_queue, "overflow_queue"),
        skill_group_id=group_id,
        service_level_s=body.service_level_s,
    )
    session.add(q)
    session.flush()
    for skill_id, level in _skill_ids(session, body.skills).items():
        session.add(QueueSkill(queue_id=q.id, skill_id=skill_id, min_level=level))
    return _queue_dict(q)


@router.get("/api/admin/numbers")
def list_numbers(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """Called numbers and what they lead to."""
    return [
        {
            "id": n.id,
            "number": n.number,
            "target": n.target.value,
            "queue_id": n.queue_id,
            "ivr_flow_id": n.ivr_flow_id,
            "description": n.description,
        }
        for n in session.scalars(select(Number).order_by(Number.id))
    ]


@router.post("/api/admin/numbers", status_code=201)
def create_number(user: AdminUser, session: SessionDep, body: NumberIn) -> dict[str, Any]:
    """Map a number to a queue or an IVR flow."""
    if session.scalar(select(Number).where(Number.number == body.number)) is not None:
        raise Invalid(f"number: {body.number} is mapped already")
    n = Number(number=body.number, target=NumberTarget(body.target), description=body.description)
    if body.target == "queue":
        n.queue_id = _queue_id(session, body.queue, "queue")
        if n.queue_id is None:
            raise Invalid("queue: required for a queue target")
    else:
        flow = session.scalar(select(IvrFlow).where(IvrFlow.name == (body.ivr_flow or "")))
        if flow is None:
            raise Invalid(f"ivr_flow: no IVR flow {body.ivr_flow!r}")
        n.ivr_flow_id = flow.id
    session.add(n)
    session.flush()
    return {"id": n.id, "number": n.number, "target": n.target.value}


@router.post("/api/admin/center/reload")
def reload_center(request: Request, user: AdminUser) -> dict[str, Any]:
    """Apply stored queue, number, skill and blacklist changes to the running center.

    Refused (409) while calls are in progress; try again between calls.
    """
    from kefu.services.center import Center
    from kefu.web.errors import WebError

    center: Center = request.app.state.center
    if not center.reload():
        raise WebError("calls-in-progress", "calls are in progress; reload between calls", 409)
    audit.record(get_db(request), "center.reload", actor_id=user.id)
    return {"queues": list(center.engine.queues)}


# -- IVR flows and rulebooks: validated, versioned ----------------------------------------
def _check_ivr(content: str, name: str) -> None:
    from kefu.core.ivr_flow import FlowError, parse_flow

    try:
        parse_flow(content, f"{name}.yaml")
    except FlowError as exc:
        raise Invalid("the IVR flow has problems", exc.problems) from None
    except Exception as exc:  # a YAML syntax error, reported like the others
        raise Invalid(f"{name}.yaml: {exc}", [f"{name}.yaml: {exc}"]) from None


def _check_rulebook(content: str, name: str) -> None:
    from kefu.qa.errors import RulebookError
    from kefu.qa.rulebook import load_rulebook

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_text(content, encoding="utf-8")
        try:
            load_rulebook(path)
        except RulebookError as exc:
            problems = [p.replace(str(path), f"{name}.yaml") for p in exc.problems]
            raise Invalid("the rulebook has problems", problems) from None
        except Exception as exc:  # a YAML reader/syntax error, reported like the others
            problem = f"{name}.yaml: {str(exc).replace(str(path), name + '.yaml')}"
            raise Invalid(problem, [problem]) from None


_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@router.get("/api/admin/ivr")
def list_flows(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """IVR flows with their versions."""
    out = []
    for f in session.scalars(select(IvrFlow).order_by(IvrFlow.name)):
        versions = session.scalars(
            select(IvrFlowVersion.version)
            .where(IvrFlowVersion.flow_id == f.id)
            .order_by(IvrFlowVersion.version)
        )
        out.append({"name": f.name, "active_version": f.active_version, "versions": list(versions)})
    return out


@router.get("/api/admin/ivr/{name}/versions/{version}")
def get_flow_version(
    user: AdminUser, session: SessionDep, name: str, version: Id
) -> dict[str, Any]:
    """One saved version of a flow."""
    row = session.scalar(
        select(IvrFlowVersion)
        .join(IvrFlow, IvrFlow.id == IvrFlowVersion.flow_id)
        .where(IvrFlow.name == name, IvrFlowVersion.version == version)
    )
    if row is None:
        raise NotFound(f"IVR flow {name} v{version}")
    return {"name": name, "version": row.version, "content": row.definition}


@router.post("/api/admin/ivr/{name}/versions", status_code=201)
def save_flow(user: AdminUser, session: SessionDep, name: str, body: VersionIn) -> dict[str, Any]:
    """Validate an IVR flow (kefu.core.ivr_flow) and save it as a new version."""
    if not _NAME.match(name):
        raise Invalid("name: letters, digits, - and _ only")
    _check_ivr(body.content, name)
    flow = session.scalar(select(IvrFlow).where(IvrFlow.name == name))
    if flow is None:
        flow = IvrFlow(name=name)
        session.add(flow)
        session.flush()
    last = (
        session.scalar(
            select(func.max(IvrFlowVersion.version)).where(IvrFlowVersion.flow_id == flow.id)
        )
        or 0
    )
    session.add(
        IvrFlowVersion(
            flow_id=flow.id, version=last + 1, definition=body.content, created_by=user.id
        )
    )
    if body.activate:
        flow.active_version = last + 1
    session.flush()
    return {"name": name, "version": last + 1, "active_version": flow.active_version}


@router.get("/api/admin/rulebooks")
def list_rulebooks(user: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    """Saved rulebook versions."""
    return [
        {
            "name": r.name,
            "version": r.version,
            "active": r.active,
            "created_at": r.created_at.isoformat(),
        }
        for r in session.scalars(select(Rulebook).order_by(Rulebook.name, Rulebook.version))
    ]


@router.get("/api/admin/rulebooks/{name}/versions/{version}")
def get_rulebook(user: AdminUser, session: SessionDep, name: str, version: Id) -> dict[str, Any]:
    """One saved rulebook version."""
    r = session.scalar(select(Rulebook).where(Rulebook.name == name, Rulebook.version == version))
    if r is None:
        raise NotFound(f"rulebook {name} v{version}")
    return {"name": r.name, "version": r.version, "active": r.active, "content": r.content}


@router.post("/api/admin/rulebooks/{name}/versions", status_code=201)
def save_rulebook(
    user: AdminUser, session: SessionDep, name: str, body: VersionIn
) -> dict[str, Any]:
    """Validate a rulebook (kefu.qa.rulebook) and save it as a new version."""
    if not _NAME.match(name):
        raise Invalid("name: letters, digits, - and _ only")
    _check_rulebook(body.content, name)
    last = session.scalar(select(func.max(Rulebook.version)).where(Rulebook.name == name)) or 0
    if body.activate:
        for r in session.scalars(
            select(Rulebook).where(Rulebook.name == name, Rulebook.active.is_(True))
        ):
            r.active = False
    session.add(
        Rulebook(
            name=name,
            version=last + 1,
            content=body.content,
            active=body.activate,
            created_by=user.id,
        )
    )
    session.flush()
    return {"name": name, "version": last + 1, "active": body.activate}


# -- prompts ------------------------------------------------------------------------------
def _prompt_dir(request: Request) -> Path:
    path = Path(request.app.state.settings.data_dir) / "prompts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@router.get("/api/admin/prompts")
def list_prompts(request: Request, user: AdminUser) -> list[dict[str, Any]]:
    """Uploaded prompts."""
    out = []
    for p in sorted(_prompt_dir(request).glob("*.wav")):
        with wave.open(str(p)) as w:
            out.append(
                {
                    "name": p.name,
                    "channels": w.getnchannels(),
                    "rate": w.getframerate(),
                    "seconds": round(w.getnframes() / w.getframerate(), 2),
                }
            )
    return out


@router.post("/api/admin/prompts", status_code=201)
async def upload_prompt(request: Request, user: AdminUser, file: UploadFile) -> dict[str, Any]:
    """Upload a WAV prompt: PCM 16-bit mono, 8 or 16 kHz; stored in data_dir/prompts."""
    name = Path(file.filename or "").name
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}\.wav", name):
        raise Invalid("file: name it like welcome.wav (letters, digits, _ . -)")
    data = await file.read(MAX_PROMPT_BYTES + 1)
    if len(data) > MAX_PROMPT_BYTES:
        raise Invalid("file: larger than 20 MB")
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate, frames = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
    except (wave.Error, EOFError) as exc:
        raise Invalid(f"file: not a WAV file ({exc})") from None
    if channels != 1 or width != 2 or rate not in (8000, 16000):
        raise Invalid(
            f"file: need 16-bit mono 8000/16000 Hz, got {width * 8}-bit {channels} ch {rate} Hz"
        )
    if frames == 0:
        raise Invalid("file: the WAV has no audio")
    (_prompt_dir(request) / name).write_bytes(data)
    audit.record(get_db(request), "prompt.upload", actor_id=user.id, target=name)
    return {"name": name, "channels": channels, "rate": rate, "seconds": round(frames / rate, 2)}


# -- audit --------------------------------------------------------------------------------
@router.get("/api/admin/audit")
def audit_log(
    request: Request, user: AdminUser, action: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The newest audit entries (logins, supervisor actions, admin changes)."""
    return [
        {
            "at": e.at.isoformat(),
            "actor": e.actor_name,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
            "source_ip": e.source_ip,
        }
        for e in audit.latest(get_db(request), min(limit, 1000), action)
    ]
