"""Expert appointments paid by phone (CC-03, seed 000: 电话支付).

An appointment booked in the IVR must be paid within 30 minutes, or it is cancelled. The
book is its own pure timer owner, apart from any call session: the cancellation happens
even when the caller has long hung up. The driver asks `next_deadline()` and calls
`handle_timer(now)`, which returns the `CancelAppointment` commands that fell due.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kefu.core.ivr_events import CancelAppointment, ConfirmAppointment, CreateAppointment
from kefu.errors import KefuError

PAY_WITHIN = dt.timedelta(minutes=30)


class AppointmentError(KefuError):
    """An appointment operation that the appointment's state does not allow."""


class AppointmentStatus(enum.Enum):
    """Where an appointment stands."""

    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Appointment:
    """One booking of an expert for a date."""

    appointment_id: str
    expert: str
    date: str
    caller: str
    booked_at: dt.datetime
    pay_by: dt.datetime
    status: AppointmentStatus = AppointmentStatus.UNPAID


class AppointmentBook:
    """The appointments and their payment deadlines."""

    def __init__(self, appointments: Iterable[Appointment] = (), prefix: str = "") -> None:
        self._items: dict[str, Appointment] = {a.appointment_id: a for a in appointments}
        self._prefix = prefix
        self._seq = len(self._items)

    def get(self, appointment_id: str) -> Appointment | None:
        """The appointment with this id, if any."""
        return self._items.get(appointment_id)

    def book(
        self,
        expert: str,
        date: str,
        caller: str,
        now: dt.datetime,
        pay_within: dt.timedelta = PAY_WITHIN,
    ) -> tuple[Appointment, CreateAppointment]:
        """Book an unpaid appointment due for payment by `now + pay_within`."""
        self._seq += 1
        appointment_id = f"{self._prefix}{self._seq:06d}"
        while appointment_id in self._items:  # restored books may hold higher numbers
            self._seq += 1
            appointment_id = f"{self._prefix}{self._seq:06d}"
        item = Appointment(appointment_id, expert, date, caller, now, now + pay_within)
        self._items[appointment_id] = item
        return item, CreateAppointment(appointment_id, expert, date, caller, item.pay_by)

    def pay(self, appointment_id: str, now: dt.datetime) -> ConfirmAppointment:
        """Mark an unpaid appointment paid; raise if unknown, cancelled, paid or late."""
        item = self._items.get(appointment_id)
        if item is None:
            raise AppointmentError(f"no appointment {appointment_id}")
        if item.status is not AppointmentStatus.UNPAID:
            raise AppointmentError(f"appointment {appointment_id} is {item.status.value}")
        if now >= item.pay_by:
            raise AppointmentError(f"appointment {appointment_id}: payment is too late")
        self._items[appointment_id] = replace(item, status=AppointmentStatus.PAID)
        return ConfirmAppointment(appointment_id)

    def payable(self, appointment_id: str, now: dt.datetime) -> bool:
        """True when the appointment exists, is unpaid and still inside its window."""
        item = self._items.get(appointment_id)
        return item is not None and item.status is AppointmentStatus.UNPAID and now < item.pay_by

    def next_deadline(self) -> dt.datetime | None:
        """When the earliest unpaid appointment falls due, or None."""
        dues = [a.pay_by for a in self._items.values() if a.status is AppointmentStatus.UNPAID]
        return min(dues, default=None)

    def handle_timer(self, now: dt.datetime) -> list[CancelAppointment]:
        """Cancel every unpaid appointment whose payment window has closed."""
        out: list[CancelAppointment] = []
        for item in sorted(self._items.values(), key=lambda a: a.pay_by):
            if item.status is AppointmentStatus.UNPAID and now >= item.pay_by:
                self._items[item.appointment_id] = replace(item, status=AppointmentStatus.CANCELLED)
                out.append(CancelAppointment(item.appointment_id, "unpaid"))
        return out
