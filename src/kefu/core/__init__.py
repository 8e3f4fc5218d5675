"""The pure domain core: events in, commands out, time passed in. No I/O, no asyncio.

Theory of operation
-------------------
`kefu.core.acd.ContactCenter` is the contact-center engine (agents, queues, ACD routing,
transfers, supervisor actions). An adapter owns the clock and the I/O; the engine owns the
decisions::

    center = ContactCenter(CenterConfig(queues=(QueueConfig("sales", numbers=("4008001234",)),)))
    cmds = center.handle(AgentLoggedIn("1001", now, extension="8001", skills={"sales": 5}))
    cmds = center.handle(CallArrived("c-1", "+8613800138000", "4008001234", now))
    for cmd in cmds:            # RingAgent, PlayAnnouncement, ...
        adapter.execute(cmd)    # the SIP switch rings the phone; the simulator schedules
    deadline = center.next_deadline()          # wake me then (ring timeout, ACW, max wait)
    cmds = center.handle_timer(deadline)       # ... and apply what fell due

Events (`kefu.core.events`, each carries `now`):
  AgentLoggedIn(agent_id, extension, skills, signed_in, role, may_transfer_outside, ready),
  AgentLoggedOut(agent_id), SkillGroupSignedIn/SignedOut(agent_id, skill),
  StateRequested(agent_id, state IDLE|BUSY|BREAK|LOGGED_OUT, reason),
  CallArrived(call_id, caller, dialed, queue?, priority, owner_agent?, variables),
  AgentAnswered(agent_id, call_id), AgentRejected(agent_id, call_id, reason),
  CallerHungUp(call_id), AgentHungUp(agent_id, call_id), HoldRequested/ResumeRequested,
  MuteRequested(agent_id, muted), TransferRequested(agent_id, kind AGENT|QUEUE|OUTSIDE,
  target), ConsultRequested(agent_id, kind AGENT|OUTSIDE, target), ConsultAnswered,
  ConsultFailed(reason), ConsultCancelRequested, ConsultCompleteRequested (attended transfer:
  `call.CONSULT_TRANSITIONS`; a queue is transferred blind only),
  ConferenceRequested(agent_id, party), PartyLeft(call_id, party),
  PickupRequested(agent_id, call_id), SupervisorRequested(actor_id, role, action,
  target_agent, reason), BlacklistChanged(actor_id, role, number, blocked).

Commands (`kefu.core.commands`):
  to act on: RingAgent, StopRinging, Bridge, StartRecording, PlayAnnouncement(position,
  estimated_wait), Overflow, SendToVoicemail, OfferCallback, Reject(reason), Hangup,
  DialOutside, Transferred (blind: drop the agent's leg), ConsultTarget, ConsultConnected,
  ConsultEnded(reason), TransferCompleted, Conference, Hold, Resume, Mute, Monitor(mode),
  HoldAlert(level warn|limit, held, resumed: SLA-04 hold timers of `HoldPolicy`),
  StopMonitor, Intercept;
  to record or show: AgentStateChanged, RingMissed, CallRecord(outcome, waited),
  CallHandled(talk, acw), AuditEvent(actor, role, action, allowed).

Rules of the core:
- States are enums (`AgentState`, `CallState`); transitions are the tables
  `AGENT_TRANSITIONS` and `CALL_TRANSITIONS`. An illegal event raises
  `IllegalTransition` (a `CoreError`) and changes nothing.
- Permission failures raise `PermissionDenied`; its `audit` attribute is the
  `AuditEvent` the adapter must still log (AG-22).
- Timers are data in a heap; `handle_timer(now)` fires those due. Stale timers (the agent
  or call moved on) are dropped, never acted upon.
- The IVR interpreter (`kefu.core.ivr*`) ends a flow in a queue with its `Enqueue`
  command; `events.arrival_from_ivr` turns that into the `CallArrived` (queue, caller
  priority, collected variables; the variable `owner_agent` names the caller's own agent).
"""
