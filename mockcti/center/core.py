"""The simulated contact center: agents and their state machine, phones, calls, CSQs and routing.

Owns what a request *does*: SET_AGENT_STATE_REQ moves an agent through reference §6.4; the
call-control requests move calls through the flows of §7.2; each produces one confirmation
for the requester and the events every interested session must see — the agent-mode
sessions of the agents on the call and every bridge-mode session, each filtered by its
call-event and agent-state masks (§7.1 delivery rules). Per call and session, BEGIN_CALL_EVENT
comes first and END_CALL_EVENT last (§7.1 ordering rules).

A call-control request is checked in three steps: the call and the connection it names must
exist (FAILURE_CONF E_CTI_INVALID_CALLID, §7.1); the ACD line-state rules of
:mod:`mockcti.acd` (CONTROL_FAILURE_CONF, a violation recorded); then what the center itself
can do (CONTROL_FAILURE_CONF with a CF code: CF_INVALID_OBJECT_STATE, or with
``control_failure_codes = "icm"``, and always for a session of the ucce profile, the specific ICM code such as
CF_NO_HELD_CALL).

Only statuses that UCCX names are sent (reference §6.1: 12, 24, 87 and the other ICM values are
reserved in UCCX), except where a session speaks the ucce profile (``Subscription.profile``, ``Profile.status``):
what ICM answers with E_CTI_FUNCTION_NOT_AVAILABLE is E_CTI_UNSPECIFIED_FAILURE with a text under uccx
(a service not granted: ICM's 12 under ucce), an unknown device E_CTI_INVALID_AGENT_DATA, bad DTMF digits CONTROL_FAILURE_CONF
CF_VALUE_OUT_OF_RANGE / CCX_INVALID_ARGUMENT.

Pure: no asyncio, sockets, sleeping or clock reads; ``now`` comes in with every call, and
timed behaviour (an external party answering) is returned through :meth:`tick`.
Must not import :mod:`mockcti.hub`, :mod:`mockcti.server` or construct.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import heapq
import itertools
import operator
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mockcti.center.config import (
    ON_AGENT_DISCONNECT, AgentConfig, CallDataError, CenterConfig, as_center_config, check_call_data,
)
from mockcti.wire import Message, MessageType
from mockcti.wire import messages as M
from mockcti.wire.dialect import UCCX, Profile
from mockcti.wire.enums import (
    AgentState, AgentStateMask, CallEventMask, CallType, CCXErrorCode, CCXStatus, ControlFailureCode, DeviceType,
    SERVICES_NEEDED, AudioCodec, EventCause, ForcedFlag, IcmAgentStateMask, LocalConnectionState, Members, PGStatus,
    PeripheralType, ReasonCode, RTPDirection, RTPType, ServiceMask, StatusCode, SupervisoryAction, SystemEventID,
    UCCX_CALL_TYPES, UCCX_PERIPHERAL_TYPE, named_code, services_text,
)
from mockcti.wire.records import fast_frozen_init
from mockcti.wire.spec import SPECS
from mockcti.wire.types import MAX_NAMED_DATA, NAMEDARRAY, NAMEDVAR, fit_string

__all__ = ["ContactCenter", "Delivery", "Subscription", "OpenResult", "Agent", "Call", "Leg", "Failure",
           "SETTABLE_AGENT_STATES"]

# the enums' members as plain attributes (wire.enums.Members): every call step reads several
MT = Members(MessageType)
AS = Members(AgentState)
LCS = Members(LocalConnectionState)
S = Members(StatusCode)
CF = Members(ControlFailureCode)
CCX = Members(CCXErrorCode)
NONE_ID = 0xFFFFFFFF
_LOGOUT, _READY, _TALKING = AgentState.AGENT_STATE_LOGOUT, AgentState.AGENT_STATE_READY, AgentState.AGENT_STATE_TALKING
_HOLD = AgentState.AGENT_STATE_HOLD
# plain ints of the values the event builders use on every call step (an enum member lookup and
# int() per field add up: bench/README.md)
_LCS_CONNECT = int(LocalConnectionState.LCS_CONNECT)
_LCS_HOLD = int(LocalConnectionState.LCS_HOLD)
_LCS_NULL = int(LocalConnectionState.LCS_NULL)
_CEC_NONE = int(EventCause.CEC_NONE)
# lineType of the call events (reference §6.10): 3 = a business (ICD) call, 10 = a non-business call. Every
# call of a simulated agent is on its ICD extension (the only line a configured agent has): 3, the center's
# ``line_type`` (CenterConfig; settable for an ICM client, whose LineType 3 is LINETYPE_UNKNOWN)
_CEC_NEW_CALL = int(EventCause.CEC_NEW_CALL)
_CEC_CALL_NOT_ANSWERED = int(EventCause.CEC_CALL_NOT_ANSWERED)
_AGT_CONN_DOWN = int(ReasonCode.AGT_CONN_DOWN)
_AGT_LOGON = int(ReasonCode.AGT_LOGON)
#: the highest EventReasonCode a client may ask for: 1..~32740 are the administrator's Not Ready / Logout
#: codes, the values from the lowest system code up to 32767 are the system's (reference §6.19)
_LAST_CLIENT_REASON = min(int(r) for r in ReasonCode if r > 32000) - 1
#: the reason code of a supervisor's change of an agent's state (reference §6.19, U; CenterConfig.supervisor_reason_codes)
_SUPERVISOR_REASON = {AgentState.AGENT_STATE_NOT_READY: int(ReasonCode.SUP_AGT_TO_NOT_READY),
                      AgentState.AGENT_STATE_LOGOUT: int(ReasonCode.SUP_AGT_TO_LOGOUT)}
#: SET_AGENT_STATE_REQ ForcedFlag (§5.2, §6.20): 0 FALSE and 1 TRUE in every version; 2, "authenticate only",
#: exists from UCCX protocol version 12 (§3.2 version-dependent additions)
_AUTHENTICATE_ONLY = int(ForcedFlag.AUTHENTICATE_ONLY)
_AUTHENTICATE_ONLY_SINCE = 12
_LOGIN_STATE = int(AS.AGENT_STATE_LOGIN)
_AGT_RNA = int(ReasonCode.AGT_RNA)
_AGT_NON_ICD = int(ReasonCode.AGT_NON_ICD)
_AGT_OFFHOOK = int(ReasonCode.AGT_OFFHOOK)
_AGT_WORK_TIMER_EXP = int(ReasonCode.AGT_WORK_TIMER_EXP)
_BUSY_OTHER = int(AS.BUSY_OTHER)
#: the states in which an agent is busy with an ACD call of one CSQ (its other CSQs: BUSY_OTHER)
_BUSY_WITH_A_CALL = frozenset({AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD,
                               AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY})
#: the FailureCode of the center's own refusals, by CenterConfig.control_failure_codes: "uccx" only the
#: values the UCCX CF page publishes (0-22), "icm" the specific ICM values UCCX may or may not send (§6.2: U).
#: A session of the ucce profile gets the "icm" value whatever the center file says (the ICM CF list, reference
#: §6.2, has a value for each: ICM's own, no UCCX choice; :meth:`ContactCenter._cf_refusal`, Failure.icm_failure_code)
_CF_CHOICES: dict[str, dict[str, ControlFailureCode]] = {
    "uccx": {"no_call_to_answer": CF.CF_INVALID_OBJECT_STATE, "no_active_call": CF.CF_INVALID_OBJECT_STATE,
             "no_held_call": CF.CF_INVALID_OBJECT_STATE, "bad_password": CF.CF_GENERIC_UNSPECIFIED,
             "conference_full": CF.CF_INVALID_OBJECT_STATE, "ready_while_busy": CF.CF_INVALID_OBJECT_STATE,
             "pending_ready": CF.CF_INVALID_OBJECT_STATE},
    "icm": {"no_call_to_answer": CF.CF_NO_CALL_TO_ANSWER, "no_active_call": CF.CF_NO_ACTIVE_CALL,
            "no_held_call": CF.CF_NO_HELD_CALL, "bad_password": CF.CF_INVALID_PASSWORD_SPECIFIED,
            "conference_full": CF.CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED,
            # (Finesse's guide shows Unified CCX answering errorData 33 and 265 for them: see _ready_refused)
            "ready_while_busy": CF.CF_RESOURCE_BUSY, "pending_ready": CF.CF_INVALID_AGENT_WORKMODE},
}
_ICM_CF = {key: int(cf) for key, cf in _CF_CHOICES["icm"].items()}
#: the refusals of the supervisor requests whose status UCCX does not name, by CenterConfig.control_failure_codes.
#: §7.1 says only "supervisor assist / emergency with no supervisor available: FAILURE_CONF", and §6.1 lists
#: ICM's E_CTI_SUPERVISOR_NOT_FOUND (64) and E_CTI_INVALID_SUPERVISORY_ACTION (82) as reserved in UCCX: "uccx"
#: sends only what UCCX names (E_CTI_UNSPECIFIED_FAILURE / E_CTI_INVALID_AGENT_DATA with a text saying why,
#: a SupervisoryAction UCCX does not document as CF_VALUE_OUT_OF_RANGE like any bad argument), "icm" the ICM
#: statuses, which UCCX may or may not send (U)
_SUPERVISOR_REFUSALS: dict[str, dict[str, Callable[[str], Failure]]] = {
    "uccx": {"no_supervisor": lambda text: failure_conf(S.E_CTI_UNSPECIFIED_FAILURE, text),
             "not_supervisor": lambda text: failure_conf(S.E_CTI_INVALID_AGENT_DATA, text),
             "bad_action": lambda text: control_failure(CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT, text)},
    "icm": {"no_supervisor": lambda text: failure_conf(S.E_CTI_SUPERVISOR_NOT_FOUND, text),
            "not_supervisor": lambda text: failure_conf(S.E_CTI_SUPERVISOR_NOT_FOUND, text),
            "bad_action": lambda text: failure_conf(S.E_CTI_INVALID_SUPERVISORY_ACTION, text)},
}
#: the SupervisoryAction values UCCX documents (reference §6.20): clear, barge-in, intercept
_SUPERVISOR_CLEAR = int(SupervisoryAction.SUPERVISOR_CLEAR)
_SUPERVISOR_BARGE_IN = int(SupervisoryAction.SUPERVISOR_BARGE_IN)
_SUPERVISOR_INTERCEPT = int(SupervisoryAction.SUPERVISOR_INTERCEPT)
_SUPERVISORY_ACTIONS = frozenset({_SUPERVISOR_CLEAR, _SUPERVISOR_BARGE_IN, _SUPERVISOR_INTERCEPT})
#: the states of a logged-in agent whose phone has a call that is not an ACD call (UCCX keeps it out of TALKING)
_OWN_CALL_STATES = frozenset({AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY})
#: the statistics CONFs' count of agents in each state (§5.7)
#: (HOLD: ucce's agent whose calls are all held, _sync_hold — in session, as UCCX's TALKING agent on hold is)
_STATS_FIELD = {AS.AGENT_STATE_TALKING: "in_session_agents", AS.AGENT_STATE_HOLD: "in_session_agents",
                AS.AGENT_STATE_READY: "available_agents",
                AS.AGENT_STATE_NOT_READY: "un_available_agents", AS.AGENT_STATE_WORK: "in_work_agents",
                AS.AGENT_STATE_WORK_READY: "in_work_agents", AS.AGENT_STATE_RESERVED: "selected_agents"}
#: the largest count a statistics CONF's USHORT field carries: a larger one is sent as this
_STATS_COUNT_MAX = 0xFFFF
_WRAPUP_STATES = frozenset({AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY})
#: the states of an agent a consultation reserved or made TALKING (HOLD: ucce), while the consultation is on its phone
_CONSULTED_STATES = frozenset({AS.AGENT_STATE_RESERVED, AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD})
_AGENT_STATES = {int(a): a for a in AS}  # value -> AgentState without the enum call
#: UCCX's own error codes (CCXErrorCode 88001..., §6.3): ICM's PeripheralErrorCode has none of them (Failure.message)
_UCCX_ERROR_CODES = frozenset(int(c) for c in CCXErrorCode if c)
#: each configuration kind's bit in OPEN_REQ ConfigMsgMask and in CONFIG_REQUEST_EVENT ConfigurationMask
#: (reference §6.8: the two bit orders differ): agent, CSQ, application, device, terminal
_CONFIG_KINDS = ((0x01, 0x04), (0x02, 0x02), (0x04, 0x01), (0x08, 0x08), (0x10, 0x10))
NONE_SHORT = 0xFFFF
#: the application that routes the CSQs' calls: its ID in the call events, its record in CONFIG_APPLICATION_EVENT
_APPLICATION_ID = 1
_APPLICATION_NAME = "mockcti"
AGENT_DEVICE = int(DeviceType.DEVID_AGENT_DEVICE)  # 76
EXTERNAL_DEVICE = int(DeviceType.DEVID_DEVICE_IDENTIFIER)
_ROUTE_POINT = int(DeviceType.DEVID_ROUTE_POINT)
CALL_VARIABLES = tuple(f"call_variable{i}" for i in range(1, 11))
#: the call data SET_CALL_DATA_REQ sets that a Call keeps in ``variables`` (ANI, DNIS and DialedNumber
#: are attributes of their own); CALL_DATA_UPDATE_EVENT carries every one of them, BEGIN_CALL_EVENT,
#: CALL_DELIVERED_EVENT and SNAPSHOT_CALL_CONF all but the two ICM customer fields (§5.3, §5.4 layouts)
CALL_DATA_KEYS = (*CALL_VARIABLES, "call_wrapup_data", "caller_entered_digits", "user_to_user_info",
                  "customer_phone_number", "customer_account_number")
_UPDATE_ONLY_KEYS = frozenset({"customer_phone_number", "customer_account_number"})
#: the call data MAKE_CALL_REQ and CONSULT_CALL_REQ carry for the call they place (§5.3; with their
#: NamedVariables and NamedArrays)
PLACED_CALL_KEYS = (*CALL_VARIABLES, "call_wrapup_data", "user_to_user_info")
#: a number a phone can dial outside the center: digits, * and #, a leading + (the numbers the ACD rules
#: accept, mockcti.acd.rules); an agent's phone is dialled by its extension or instrument, whatever they are
_DIALABLE = re.compile(r"\+?[0-9*#]+")

#: the AgentStateMask bit that lets an AGENT_STATE_EVENT for each state through (reference §6.7), UCCX's meaning
STATE_MASK: dict[AgentState, int] = {
    AS.AGENT_STATE_LOGIN: AgentStateMask.AGENT_LOGIN_MASK, AS.AGENT_STATE_LOGOUT: AgentStateMask.AGENT_LOGOUT_MASK,
    AS.AGENT_STATE_NOT_READY: AgentStateMask.AGENT_NOT_READY_MASK, AS.AGENT_STATE_READY: AgentStateMask.AGENT_AVAILABLE_MASK,
    AS.AGENT_STATE_TALKING: AgentStateMask.AGENT_TALKING_MASK, AS.AGENT_STATE_WORK: AgentStateMask.AGENT_WORK_MASK,
    AS.AGENT_STATE_WORK_READY: AgentStateMask.AGENT_WORK_MASK, AS.AGENT_STATE_RESERVED: AgentStateMask.AGENT_RESERVED_MASK,
    AS.AGENT_STATE_HOLD: AgentStateMask.AGENT_TALKING_MASK,
}
#: the same under the ucce profile (``Profile.icm``): ICM gives every state a bit of its own, and 0x20-0x80 are
#: WORK_NOT_READY, WORK_READY and BUSY_OTHER (UCCX: WORK, TALKING_PENDING_WORK, TALKING_PENDING_NOT_READY)
_ICM = IcmAgentStateMask
ICM_STATE_MASK: dict[AgentState, int] = {
    AS.AGENT_STATE_LOGIN: _ICM.AGENT_LOGIN_MASK, AS.AGENT_STATE_LOGOUT: _ICM.AGENT_LOGOUT_MASK,
    AS.AGENT_STATE_NOT_READY: _ICM.AGENT_NOT_READY_MASK, AS.AGENT_STATE_AVAILABLE: _ICM.AGENT_AVAILABLE_MASK,
    AS.AGENT_STATE_TALKING: _ICM.AGENT_TALKING_MASK, AS.AGENT_STATE_WORK_NOT_READY: _ICM.AGENT_WORK_NOT_READY_MASK,
    AS.AGENT_STATE_WORK_READY: _ICM.AGENT_WORK_READY_MASK, AS.BUSY_OTHER: _ICM.AGENT_BUSY_OTHER_MASK,
    AS.AGENT_STATE_RESERVED: _ICM.AGENT_RESERVED_MASK, AS.AGENT_STATE_HOLD: _ICM.AGENT_HOLD_MASK,
    AS.AGENT_STATE_ACTIVE: _ICM.AGENT_ACTIVE_MASK, AS.AGENT_STATE_PAUSED: _ICM.AGENT_PAUSED_MASK,
    AS.AGENT_STATE_INTERRUPTED: _ICM.AGENT_INTERRUPTED_MASK, AS.AGENT_STATE_NOT_ACTIVE: _ICM.AGENT_NOT_ACTIVE_MASK,
}
#: the CallEventMask bit of each call event type (reference §6.6)
EVENT_MASK: dict[MessageType, int] = {
    MT.CALL_DELIVERED_EVENT: CallEventMask.CALL_DELIVERED_MASK, MT.CALL_QUEUED_EVENT: CallEventMask.CALL_QUEUED_MASK,
    MT.CALL_ESTABLISHED_EVENT: CallEventMask.CALL_ESTABLISHED_MASK, MT.CALL_HELD_EVENT: CallEventMask.CALL_HELD_MASK,
    MT.CALL_RETRIEVED_EVENT: CallEventMask.CALL_RETRIEVED_MASK, MT.CALL_CLEARED_EVENT: CallEventMask.CALL_CLEARED_MASK,
    MT.CALL_CONNECTION_CLEARED_EVENT: CallEventMask.CALL_CONNECTION_CLEARED_MASK,
    MT.CALL_ORIGINATED_EVENT: CallEventMask.CALL_ORIGINATED_MASK,
    MT.CALL_CONFERENCED_EVENT: CallEventMask.CALL_CONFERENCED_MASK,
    MT.CALL_TRANSFERRED_EVENT: CallEventMask.CALL_TRANSFERRED_MASK,
    MT.CALL_SERVICE_INITIATED_EVENT: CallEventMask.CALL_SERVICE_INITIATED_MASK,
    MT.BEGIN_CALL_EVENT: CallEventMask.BEGIN_CALL_MASK, MT.END_CALL_EVENT: CallEventMask.END_CALL_MASK,
    MT.CALL_DATA_UPDATE_EVENT: CallEventMask.CALL_DATA_UPDATE_MASK, MT.CALL_FAILED_EVENT: CallEventMask.CALL_FAILED_MASK,
    MT.RTP_STARTED_EVENT: CallEventMask.RTP_STARTED_MASK, MT.RTP_STOPPED_EVENT: CallEventMask.RTP_STOPPED_MASK,
}

# the masks as plain ints: IntFlag arithmetic is slow and these tests run for every event and session
STATE_MASK = {k: int(v) for k, v in STATE_MASK.items()}
ICM_STATE_MASK = {k: int(v) for k, v in ICM_STATE_MASK.items()}
#: the bit of each state in :attr:`Subscription.state_filter`
_STATE_BIT = {s: 1 << int(s) for s in AS}
#: the bits, in :attr:`Subscription.state_filter`, of the events that announce a state asked for during a call
#: (AgentState TALKING, NextAgentState the state after the call): UCCX's AGENT_TALKING_PENDING_WORK_MASK (0x40)
#: and AGENT_TALKING_PENDING_NOT_READY_MASK (0x80), §6.7 ("talking pending work" / "talking pending not ready"
#: AGENT_STATE_EVENTs); above every state's bit
_PENDING_WORK_BIT, _PENDING_NOT_READY_BIT = 1 << 16, 1 << 17
#: the bit of the event announcing each pending state: WORK_READY with WORK (as AGENT_WORK_MASK covers both);
#: READY pending has no UCCX bit of its own, its event is a TALKING one (0x10)
#: (a supervisor's pending LOGOUT, CenterConfig.supervisor_logout_while_talking, has none either: a TALKING event)
_PENDING_BIT = {AS.AGENT_STATE_WORK: _PENDING_WORK_BIT, AS.AGENT_STATE_WORK_READY: _PENDING_WORK_BIT,
                AS.AGENT_STATE_NOT_READY: _PENDING_NOT_READY_BIT, AS.AGENT_STATE_READY: _STATE_BIT[AS.AGENT_STATE_TALKING],
                AS.AGENT_STATE_LOGOUT: _STATE_BIT[AS.AGENT_STATE_TALKING]}
_UCCX_PENDING_MASKS = ((int(AgentStateMask.AGENT_TALKING_PENDING_WORK_MASK), _PENDING_WORK_BIT),
                       (int(AgentStateMask.AGENT_TALKING_PENDING_NOT_READY_MASK), _PENDING_NOT_READY_BIT))
EVENT_MASK = {k: int(v) for k, v in EVENT_MASK.items()}
#: the agent states in which an agent's phone may place a call (MAKE_CALL_REQ): logged on and not
#: offered routed calls. The one rule: _make_call_req refuses the other states (CF_INVALID_OBJECT_STATE;
#: READY and RESERVED: the agent is being given ACD calls; TALKING: its line has a call) and
#: QUERY_DEVICE_INFO_CONF reports it as MakeCallSetup (MAKE_CALL_SETUP)
MAKE_CALL_STATES = (AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY)
#: MakeCallSetup of QUERY_DEVICE_INFO_CONF, "agent-state mask bits in which MAKE_CALL_REQ is allowed"
#: (reference §5.3): the AgentStateMask bits (§6.7) of MAKE_CALL_STATES, through STATE_MASK — the bits
#: the center filters AGENT_STATE_EVENTs by, so a client reads both masks the same way. WORK_READY has
#: no bit of its own in UCCX (U, §6.7): the mock's choice, there and here, is AGENT_WORK_MASK (0x20) with
#: WORK (0x40 is AGENT_TALKING_PENDING_WORK_MASK in UCCX); no center setting changes it
MAKE_CALL_SETUP = functools.reduce(operator.or_, (STATE_MASK[s] for s in MAKE_CALL_STATES))
#: the same under the ICM profile, whose AgentStateMask gives each state its own bit (ICM_STATE_MASK)
ICM_MAKE_CALL_SETUP = functools.reduce(operator.or_, (ICM_STATE_MASK[s] for s in MAKE_CALL_STATES))
#: the phones and parties a call may have once conferenced: what QUERY_DEVICE_INFO_CONF's
#: MaxDevicesInConference tells the client (a Unified CM ad hoc conference's default, 4); a CONFERENCE_CALL_REQ
#: (consultative or single-step) or a supervisor's barge-in that would pass it is refused CF_INVALID_OBJECT_STATE
#: (UCCX publishes CF 0-22 only; ICM's CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED with control_failure_codes = "icm"),
#: CCX_JTAPI_CCM_PROBLEM (Unified CM refuses the conference); §5's events carry at most 16 parties anyway
MAX_DEVICES_IN_CONFERENCE = 4
#: QUERY_DEVICE_INFO_CONF's TypeOfDevice and ClassOfDevice under the ucce profile: UCCX reserves both (0xFFFF, its
#: page's -1), which is none of ICM's TypeOfDevice values (DEVT_OTHER is 255) and sets ClassOfDevice flags ICM does
#: not define; an agent's phone is ICM's DEVT_STATION (0, "a traditional telephone device") of class DEVC_VOICE
#: (0x8, "used to make audio calls"). What a Unified CCE PG reports for a Unified CM phone is unconfirmed (U)
ICM_TYPE_OF_DEVICE = 0
ICM_CLASS_OF_DEVICE = 0x8
_BEGIN_CALL_BIT = int(CallEventMask.BEGIN_CALL_MASK)
#: AGENT_LOGIN_MASK (§6.7) lets the event of a login through: NOT_READY with reason AGT_LOGON (the bit of
#: the LOGIN state in Subscription.state_filter, set when the session's mask has AGENT_LOGIN_MASK)
_LOGIN_BIT = _STATE_BIT[AS.AGENT_STATE_LOGIN]
_END_CALL_BIT = int(CallEventMask.END_CALL_MASK)
_ALL_EVENTS = int(ServiceMask.CTI_SERVICE_ALL_EVENTS)
_SUPERVISOR_SERVICE = int(ServiceMask.CTI_SERVICE_SUPERVISOR)
#: the media events' mask bits (reference §6.6): a session with neither costs the media tracking nothing
_RTP_BITS = int(CallEventMask.RTP_STARTED_MASK | CallEventMask.RTP_STOPPED_MASK)
#: the media endpoints of RTP_STARTED/STOPPED_EVENT (reference §5.4; the guide gives no values, so a made-up,
#: deterministic scheme, README "Media events"): an agent's phone is 10.x.y.z from its place in the center's
#: agents (the first 10.0.0.1), every party outside the center talks through one voice gateway, every
#: conferenced call through one conference bridge; each endpoint's RTP port on a call is even, in 16384-32766
_GATEWAY_ADDRESS = "172.16.0.1"
_BRIDGE_ADDRESS = "172.16.0.2"
_RTP_INPUT, _RTP_OUTPUT = int(RTPDirection.INPUT), int(RTPDirection.OUTPUT)
_RTP_AUDIO = int(RTPType.AUDIO)
_G711ULAW = int(AudioCodec.G711ULAW64K)
#: PacketSize of the media streams, in ms (a Cisco phone's G.711 default)
_RTP_PACKET_MS = 20

#: SET_AGENT_STATE_REQ: the states each requested state may be entered from (reference §6.4;
#: UCCX: LOGOUT and the not-ready/ready changes are refused while the agent is on a call —
#: WORK, WORK_READY, READY and NOT_READY requested while TALKING become the state after the call)
ENTER_FROM = {
    # (LOGOUT from RESERVED withdraws the call offered, as NOT_READY does: ContactCenter._check_logout)
    AS.AGENT_STATE_LOGOUT: {AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY,
                            AS.AGENT_STATE_RESERVED},
    AS.AGENT_STATE_NOT_READY: {AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK,
                               AS.AGENT_STATE_WORK_READY, AS.AGENT_STATE_RESERVED},
    AS.AGENT_STATE_READY: {AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY},
    AS.AGENT_STATE_WORK: {AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY},
    AS.AGENT_STATE_WORK_READY: {AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY},
}
PENDING_WHILE_TALKING = {AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY, AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY}
#: what a supervisor or the administration can set (set_agent_state: control API, scenarios, test
#: helpers); the other states follow the agent's calls
SETTABLE_AGENT_STATES = (AS.AGENT_STATE_LOGIN, AS.AGENT_STATE_LOGOUT, AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_READY,
                         AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY)
#: the states a supervisor's or the administration's change (set_agent_state) may be made from: the agent's own
#: table (:data:`ENTER_FROM`), so WORK -> WORK_READY or a second LOGOUT is refused on every path as the agent's own
#: request is, plus RESERVED for READY, NOT_READY and LOGOUT — the changes a Finesse supervisor makes (Ready, Not
#: Ready, Sign Out), which withdraw the call ringing at the agent back to its queue. A wrap-up (WORK,
#: WORK_READY) follows a call, never a call's offer: from RESERVED it is refused, as the agent's own request is.
SUPERVISOR_ENTER_FROM = {
    want: frozenset(frm | {AS.AGENT_STATE_RESERVED}) if want in (AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY,
                                                                 AS.AGENT_STATE_LOGOUT) else frozenset(frm)
    for want, frm in ENTER_FROM.items()
}
#: what a supervisor's desktop (an agent-mode session granted CTI_SERVICE_SUPERVISOR, its agent a supervisor) may
#: set with SET_AGENT_STATE_REQ for an agent of its team: the changes a Finesse supervisor makes (Ready, Not Ready,
#: Sign Out; Finesse User API errors: "Invalid State" for another, "Invalid Supervisor" for an agent outside the
#: team). LOGIN needs the agent's password and phone, a wrap-up follows the agent's own call: the agent's to ask.
SUPERVISOR_DESKTOP_STATES = (AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY, AS.AGENT_STATE_LOGOUT)


# -- what the hub exchanges with the center ------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """What a session asked for in its OPEN_REQ (the hub builds it, the center routes by it)."""

    session_id: int
    mode: str  # "agent" | "bridge"
    services: int
    call_msg_mask: int
    agent_state_mask: int
    config_msg_mask: int = 0
    version: int = 14
    agent_id: str | None = None
    agent_extension: str | None = None
    agent_instrument: str | None = None
    client_id: str = ""
    #: the OPEN_REQ's PeripheralID as sent (UCCX reserves it, 0; ICM: "the Peripheral ID of the ACD whose events
    #: are of interest to the client. Required for Client Events service"); None: not given (checked only under ucce)
    peripheral_id: int | None = None
    #: the profile the session speaks (the hub's): which meaning its AgentStateMask bits have, which status
    #: a refusal carries where ICM and UCCX differ (``Profile.icm``, ``Profile.status``)
    profile: Profile = UCCX
    #: the states whose AGENT_STATE_EVENT the session gets, bit ``1 << state``: its AgentStateMask read once,
    #: here, with its profile's meaning of the bits (:data:`STATE_MASK`, :data:`ICM_STATE_MASK`)
    state_filter: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = ICM_STATE_MASK if self.profile.icm else STATE_MASK
        mask = self.agent_state_mask
        filt = sum(_STATE_BIT[s] for s, bit in table.items() if mask & bit)
        if self.profile.icm:
            # ICM has no pending-state bits (its 0x40/0x80 are WORK_READY and BUSY_OTHER): the event of a
            # state pending after the call is a TALKING one, NextAgentState telling what comes next
            if filt & _STATE_BIT[_TALKING]:
                filt |= _PENDING_WORK_BIT | _PENDING_NOT_READY_BIT
        else:
            filt |= sum(b for m, b in _UCCX_PENDING_MASKS if mask & m)
        object.__setattr__(self, "state_filter", filt)



#: RouterCallKeyDay/CallID/SequenceNumber (tags 72/73/110) of BEGIN_CALL_EVENT, CALL_DELIVERED_EVENT and
#: SNAPSHOT_CALL_CONF: assigned by the ICM router, "normally absent on UCCX" (reference §5.4; the UCCX
#: CALL_DELIVERED_EVENT of §8.10b has none). Sent (as 0: no router call key) only to a session of the
#: ICM profile ("ucce"), left out for a UCCX one
ROUTER_CALL_KEY = {"router_call_key_day": 0, "router_call_key_call_id": 0, "router_call_key_sequence_number": 0}
_NO_ROUTER_CALL_KEY: dict[str, int] = {}


#: SNAPSHOT_CALL_CONF under UCCX: its page prints "reserved[72] (required) | This value is set to 0. | UINT | 4"
#: and "reserved [73] (required) | This value is set to 0." (no tag 110): the ICM RouterCallKeyDay/CallID, as 0
_UCCX_SNAPSHOT_CALL_KEY = {"router_call_key_day": 0, "router_call_key_call_id": 0}


#: the SYSTEM_EVENTs of a peripheral (ICM SYS_PERIPHERAL_ONLINE / OFFLINE, UCCX SYS_CCX_ONLINE / OFFLINE), whose
#: SystemEventArg1 names the peripheral under ICM
_PERIPHERAL_EVENTS = frozenset({int(SystemEventID.SYS_PERIPHERAL_ONLINE), int(SystemEventID.SYS_PERIPHERAL_OFFLINE)})


def _router_call_key(sub: Subscription | None) -> dict[str, Any]:
    """The RouterCallKey fields for ``sub``'s session: ROUTER_CALL_KEY under ICM, none under UCCX."""
    return ROUTER_CALL_KEY if sub is not None and sub.profile.icm else _NO_ROUTER_CALL_KEY


def _snapshot_call_key(sub: Subscription | None) -> dict[str, Any]:
    """The RouterCallKey fields of a SNAPSHOT_CALL_CONF for ``sub``'s session: ROUTER_CALL_KEY under ICM;
    under UCCX the two its page requires (tags 72, 73: 0)."""
    return ROUTER_CALL_KEY if sub is not None and sub.profile.icm else _UCCX_SNAPSHOT_CALL_KEY


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one session."""

    session_id: int
    message: Message


def _peripheral_text(pid: int) -> str:
    return "0xFFFFFFFF (NULL_PERIPHERAL_ID)" if pid == 0xFFFFFFFF else str(pid)


@dataclass(frozen=True)
class OpenResult:
    status: StatusCode
    agent_state: int = 0
    agent_id: str | None = None
    agent_extension: str | None = None
    agent_instrument: str | None = None
    kicked: tuple[int, ...] = ()
    text: str | None = None


# Text (tag 7) of FAILURE_CONF / CONTROL_FAILURE_CONF: 255 bytes with the NUL (reference §5.1)
TEXT_MAX = min(SPECS[MessageType.FAILURE_CONF].fields_by_tag[7].max_len,
               SPECS[MessageType.CONTROL_FAILURE_CONF].fields_by_tag[7].max_len)


@dataclass(frozen=True)
class Failure:
    """How the center refused a request; also what a violation records."""

    kind: str  # "failure_conf" | "control_failure_conf"
    status: int = 0
    failure_code: int = 0
    ccx_error_code: int = 0
    text: str | None = None
    #: the FailureCode a session of the ucce profile gets instead of ``failure_code``, where ICM has a value of its
    #: own for the refusal (:data:`_CF_CHOICES` "icm"; None: the same for both profiles)
    icm_failure_code: int | None = None

    def message(self, invoke_id: int, icm: bool = False) -> Message:
        """The confirmation for a session of the profile (``icm``: ucce). CONTROL_FAILURE_CONF's UINT after the
        FailureCode is UCCX's CCXErrorCode (88xxx, §6.3) and ICM's PeripheralErrorCode, "peripheral-specific error
        data, if available. Zero otherwise": a UCCX code means nothing to an ICM client, which gets 0 instead (a
        Cisco CTIERR code, ``acd_failure_mode = "ctierr"``, is the peripheral's own error and goes to both). Its
        FailureCode is ICM's own value where the refusal has one (:attr:`icm_failure_code`)."""
        # the text may quote what the client sent (an AgentID of 128 control characters is 514 of
        # repr): cut to what the Text field carries, or the confirmation could not be encoded at all
        text = None if self.text is None else fit_string(self.text, TEXT_MAX)
        if self.kind == "failure_conf":
            return M.FailureConf(invoke_id=invoke_id, status=self.status, text=text)
        code, cf = self.ccx_error_code, self.failure_code
        if icm:
            if code in _UCCX_ERROR_CODES:
                code = 0
            if self.icm_failure_code is not None:
                cf = self.icm_failure_code
        return M.ControlFailureConf(invoke_id=invoke_id, failure_code=cf, ccx_error_code=code, text=text)


#: the keys of a violation of :attr:`ContactCenter.violations` that are the hub's, not the journal's: the session it
#: is about (the entry's own) and, where it names its own ``answer``, that answer's MessageType (``answer_type``)
NOT_JOURNALLED = frozenset({"session_id", "answer_type"})


#: the CallType values ICM names (reference §6.17; a ucce session's SET_CALL_DATA_REQ may set one of them)
_ICM_CALL_TYPES = frozenset(int(c) for c in CallType)


def failure_conf(status: StatusCode, text: str) -> Failure:
    return Failure("failure_conf", status=int(status), text=text)


def required_data_missing(text: str) -> "Refused":
    """The refusal of a request lacking floating data the guide requires (one of several fields, or a field
    required with one AgentState): FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (§7.1), journalled as the client's
    PROTO-REQUIRED-FIELD, as the decoder's refusal of a missing required field is."""
    return Refused(failure_conf(S.E_CTI_REQUIRED_DATA_MISSING, text), violation={
        "rule": "PROTO-REQUIRED-FIELD", "detail": text,
        "answer": f"FAILURE_CONF {named_code(StatusCode, S.E_CTI_REQUIRED_DATA_MISSING)}",
        "answer_type": MessageType.FAILURE_CONF})


def control_failure(cf: ControlFailureCode, ccx: CCXErrorCode, text: str) -> Failure:
    return Failure("control_failure_conf", failure_code=int(cf), ccx_error_code=int(ccx), text=text)


#: ANSWER_CALL_REQ naming neither its connection (tag 25) nor the phone (tag 6): the refusal's Text
_ANSWER_NAMES_NO_DEVICE = "ANSWER_CALL_REQ needs ConnectionDeviceID (tag 25) or AgentInstrument (tag 6); it had neither"
_REQUIRED_MISSING_NAME = named_code(StatusCode, StatusCode.E_CTI_REQUIRED_DATA_MISSING)


class Refused(Exception):
    """Raised inside a handler to answer the request with a failure (never leaves the center)."""

    def __init__(self, failure: Failure, violation: dict[str, Any] | None = None) -> None:
        super().__init__(failure.text)
        self.failure, self.violation = failure, violation


_LEG_WORDS = {LCS.LCS_CONNECT: "connected", LCS.LCS_ALERTING: "ringing", LCS.LCS_INITIATE: "dialling"}


class CallNotOffered(ValueError):
    """A call injected for an agent (:meth:`ContactCenter.deliver_call` ``agent_id``: the control API's
    POST /calls, the pytest handle, a scenario's ``deliver_call``) that the agent's phone cannot take: the
    agent is logged out (the ACD offers calls to logged-in agents only), or its phone is busy — talking,
    dialling or ringing; a held call aside — and a UCCX agent line takes one call (MaxActiveCalls 1), as a
    client dialling it hears busy; or, given a CSQ too, the agent is not one of that CSQ's agents. No call was
    made; ``field`` names the input at fault (``agent``, ``csq``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _routed_for(call: Call, agent_id: str) -> bool:
    """Whether the call is, for the agent on it, an ACD call or a consultation (about one, or an agent's own) — or a
    call a consultation that reserved the agent merged into (:attr:`Call.consulted`: transferred or conferenced into
    a call of the consulting agent's own), still about that consultation for it: the calls that reserve an agent and
    keep it TALKING under both profiles — any other is a call of the agent's own, a direct call."""
    return call.acd or call.consult_of is not None or call.type is CallType.CALLTYPE_CONSULT or agent_id in call.consulted


def _short_state(state: AgentState) -> str:
    return state.name.removeprefix("AGENT_STATE_")


def _fit(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8 on a character boundary: a made-up name
    (LastName "Agent <id>", 31 bytes) of an agent whose ID is long (up to 128 bytes) still encodes."""
    data = text.encode()
    return text if len(data) <= max_bytes else data[:max_bytes].decode(errors="ignore")


def merged_named(variables: tuple, arrays: tuple, new_variables: Iterable[Any] = (),
                 new_arrays: Iterable[Any] = ()) -> tuple[tuple, tuple]:
    """A call's ECC data (``variables``, ``arrays``) with ``new_variables`` and ``new_arrays`` set over it
    (SET_CALL_DATA_REQ): a NamedVariable replaces the one of its name, a NamedArray element the one of
    its name and VariableIndex, in place; others are added at the end. Every BEGIN_CALL_EVENT,
    CALL_DELIVERED_EVENT and SNAPSHOT_CALL_CONF of the call carries all of them, and one message carries
    at most 2,000 bytes of them (reference §1): data that would grow past that is refused, FAILURE_CONF
    E_CTI_INVALID_FIELD_LENGTH (what a request carrying more is answered), and the call keeps what it had."""
    if new_variables:
        byname = {v.name: v for v in variables}
        for v in new_variables:
            byname[v.name] = v
        variables = tuple(byname.values())
    if new_arrays:
        elements = {(a.name, a.index): a for a in arrays}
        for a in new_arrays:
            elements[(a.name, a.index)] = a
        arrays = tuple(elements.values())
    if new_variables or new_arrays:
        size = sum(len(NAMEDVAR.encode(v)) for v in variables) + sum(len(NAMEDARRAY.encode(a)) for a in arrays)
        if size > MAX_NAMED_DATA:
            raise Refused(failure_conf(
                S.E_CTI_INVALID_FIELD_LENGTH,
                f"the call's named variables and arrays would be {size} bytes; a call event carries at most "
                f"{MAX_NAMED_DATA}"))
    return variables, arrays


def _placed_call_data(req: Message) -> dict[str, Any]:
    """The call data (:data:`PLACED_CALL_KEYS`) a request placing a call carries for it."""
    return {k: v for k in PLACED_CALL_KEYS if (v := getattr(req, k, None)) is not None}


def _first_call_id(pair: tuple[Call, Leg]) -> int:
    return pair[0].id


def _rtp_port(call_id: int, endpoint: str) -> int:
    """The RTP port of a media endpoint on a call in the media events: even, in 16384-32766 (a Cisco
    phone's range), from SHA-1 of "<CallID>/<endpoint>" (the same on every run and for every session)."""
    digest = hashlib.sha1(f"{call_id}/{endpoint}".encode()).digest()
    return 16384 + 2 * (int.from_bytes(digest[:2], "big") % 8192)


# -- the simulated world ------------------------------------------------------------------------------


@dataclass
class Agent:
    cfg: AgentConfig
    state: AgentState
    reason: int = 0
    since: float = 0.0
    #: when the agent entered its current state with its current reason code: AGENT_STATE_EVENT's
    #: StateDuration ("seconds in current state", reference §5.2) counts from it. ``since`` moves with every
    #: state set (the timers' mark); this one stays when the same state is set again (READY asked for twice)
    entered: float = 0.0
    pending: AgentState | None = None  # state requested while on a call, taken when it ends
    pending_reason: int = 0
    #: RESERVED for a consultation call (not an ACD call): cancelled, the agent goes NOT_READY (AGT_CANCEL_CONSULT)
    consult_offer: bool = False
    #: (state, reason code, ``call_csq``) of the agent when a call last reserved it (:meth:`ContactCenter._offer`):
    #: a call that stops ringing there unanswered because its caller hung up gives that back (no wrap-up of a
    #: call never taken), and an agent a call was sent to while NOT_READY is NOT_READY again after it; None (a
    #: call a scenario's ``center.calls`` put there): READY, and the after-call state
    offered_from: tuple[AgentState, int, int] | None = None
    #: its last agent-mode session ended while its phone held calls: when the last of them ends the agent
    #: takes the state of ``on_agent_disconnect`` (reason AGT_CONN_DOWN); a new session of the agent, or a
    #: state requested for it meanwhile, cancels that
    desktop_lost: bool = False
    #: (state, reason code) of an agent that a call of its own (not an ACD call, not a consultation) made TALKING
    #: under the ucce profile (:meth:`ContactCenter._talk_on_own_call`): the state it goes back to when that call
    #: ends, unless it asked for another meanwhile; None otherwise (cleared by any state but TALKING)
    own_call_from: tuple[AgentState, int] | None = None
    #: CSQID of the call the agent was last reserved for or talked on as an ACD agent: the agent is
    #: BUSY_OTHER in its other CSQs meanwhile (QUERY_AGENT_STATE_CONF), and its wrap-up time applies after it
    call_csq: int = NONE_ID
    #: ``since`` of the WORK / WORK_READY state a wrap-up timer was armed for (:meth:`ContactCenter._start_wrapup`):
    #: while the agent is still in that very state (same ``since``), the timer will end it
    wrapup_since: float | None = field(default=None, compare=False)
    csq_ids: tuple[int, ...] = ()
    #: the agents-by-state tables this agent counts in (:attr:`ContactCenter.state_counts`, then each of its CSQs'
    #: :attr:`ContactCenter.csq_state_counts`), moved by :meth:`ContactCenter._enter_state` — set ``state`` there only
    counts: tuple[dict[AgentState, int], ...] = field(default=(), repr=False, compare=False)
    #: the READY-agents tables this agent is in while READY (:attr:`ContactCenter.ready`, then each of its CSQs'
    #: :attr:`ContactCenter.ready_in`), kept by :meth:`ContactCenter._enter_state` too
    ready_in: tuple[dict[str, "Agent"], ...] = field(default=(), repr=False, compare=False)
    #: AGENT_STATE_EVENTs already built for this agent, by (state, reason, CSQID) (see _state_event)
    state_events: dict[tuple[AgentState, int, int], Message] = field(default_factory=dict, repr=False, compare=False)
    #: ``cfg.id`` and ``cfg.device`` (the configuration is frozen), read on every request as attributes
    id: str = field(init=False, repr=False, compare=False)
    device: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.id = self.cfg.id
        self.device = self.cfg.device

    @property
    def logged_in(self) -> bool:
        return self.state is not _LOGOUT


@dataclass
class Leg:
    """One device's connection on a call."""

    device: str
    agent: str | None  # agent ID, None for a party outside the contact center
    state: LocalConnectionState
    #: the ACD's own offer of the call to this agent's phone (a caller routed from its CSQ or delivered to the
    #: agent, a preset ringing call), which the script's Select Resource / Connect step watches and takes back — on a
    #: ring-no-answer, a state change of the RESERVED agent, its desktop gone (ContactCenter._withdraw_offer). An ACD
    #: call a colleague sent here (a single-step or consultative transfer, a conference) is a Unified CM call no
    #: script can take back: it rings until answered or given up
    routed: bool = False


@dataclass
class Call:
    id: int
    type: CallType
    ani: str
    dnis: str = ""
    dialed: str = ""
    csq_id: int = NONE_ID
    variables: dict[str, str | bytes] = field(default_factory=dict)
    #: the call's ECC data (NamedVariable, NamedArray): every BEGIN_CALL, CALL_DELIVERED and SNAPSHOT_CALL carries it
    named_variables: tuple = ()
    named_arrays: tuple = ()
    legs: dict[str, Leg] = field(default_factory=dict)
    told: set[int] = field(default_factory=set)  # sessions that got BEGIN_CALL_EVENT and no END_CALL_EVENT yet
    consult_of: int | None = None  # the call a consultation call was made from
    acd: bool = False  # routed from a CSQ (the agent's state follows it)
    started: float = 0.0
    #: put in a CSQ queue and not taken out by routing: only such a call is looked for in the queues
    #: when it ends (looking for every ending call cost O(queued calls) each)
    queued: bool = False
    #: joined by CONFERENCE_CALL_REQ (the parties talk through the conference mixer): when parties leave
    #: and one other party is left, the agent reads Line1Conferenced, not Line1Connected (error-catalogs
    #: §3.3: Line2Conferenced --ClearConnection--> Line1Conferenced)
    conferenced: bool = False
    #: the agents a consultation reserved or made TALKING (its consulted parties) that TRANSFER_CALL_REQ or
    #: CONFERENCE_CALL_REQ merged into this call, which is no ACD call (the consulting agent's own call): for them it
    #: is still a call about a consultation (:func:`_routed_for`) — TALKING on it (RESERVED until it is answered, if
    #: it was transferred ringing), the after-call state when they leave it — where it would read as a direct call
    #: of theirs (UCCX: TALKING is for routed calls). An agent leaves the set with its leg (ContactCenter._take_leg)
    consulted: frozenset[str] = frozenset()
    #: an agent's phone answered it (ANSWER_CALL_REQ) at least once: what a call generator counts as answered
    #: (``serve --calls-per-minute``'s statistics), also once the call is over
    answered: bool = False
    #: EventCause of the call's CALL_DELIVERED_EVENTs: CEC_NEW_CALL, or the supervisor feature that made
    #: the call (CEC_SUPERVISOR_ASSIST / CEC_EMERGENCY_CALL, reference §6.11)
    cause: int = _CEC_NEW_CALL
    #: the agent phones whose media streams RTP_STARTED_EVENT announced on this call and no RTP_STOPPED_EVENT
    #: ended yet: device -> (agent ID, far-end device or None for the conference bridge) (ContactCenter._sync_media)
    media: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    #: the media events of each stream, built once: (device, media) -> ((started in, out), (stopped in, out))
    media_events: dict[tuple, tuple] = field(default_factory=dict, repr=False, compare=False)
    #: the CallType a client's SET_CALL_DATA_REQ gave the call (CenterConfig.set_call_data_call_type): what its
    #: events carry (:attr:`shown_type`) until the center classifies it anew (:meth:`ContactCenter._retype`).
    #: ``type`` stays the center's own classification, which call control reads (a consultation stays one)
    set_type: CallType | None = None

    @property
    def shown_type(self) -> CallType:
        """The CallType the call's events carry (BEGIN_CALL, CALL_DATA_UPDATE, SNAPSHOT_CALL under ucce)."""
        return self.type if self.set_type is None else self.set_type

    def agent_legs(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.agent is not None]

    def leg_of(self, agent_id: str) -> Leg | None:
        for leg in self.legs.values():
            if leg.agent == agent_id:
                return leg
        return None


#: the PGStatus bit (ICM) of each SYSTEM_EVENT that takes the center offline (ICM guides: SystemEventID and
#: PGStatusCode values, same failure each; SYS_CCX_OFFLINE is ICM's SYS_PERIPHERAL_OFFLINE, number 4)
_PG_STATUS_DOWN: dict[SystemEventID, int] = {
    SystemEventID.SYS_CCX_OFFLINE: int(PGStatus.PGS_PERIPHERAL_OFFLINE),
    SystemEventID.SYS_PERIPHERAL_GATEWAY_OFFLINE: int(PGStatus.PGS_OPC_DOWN),
    SystemEventID.SYS_CTI_SERVER_OFFLINE: int(PGStatus.PGS_CTI_SERVER_OFFLINE),
    SystemEventID.SYS_CENTRAL_CONTROLLER_OFFLINE: int(PGStatus.PGS_CC_DOWN),
}


class ContactCenter:
    """Agents, phones, calls and CSQs shared by every session of one server."""

    def __init__(self, config: CenterConfig | None = None, *, seed: int = 0, now: float = 0.0) -> None:
        self.config = as_center_config(config)  # a mapping too; TypeError for anything else
        self.seed = seed  # (what the reports name as the run's seed when no scenario brings one)
        self.rng = random.Random(seed)
        self.online = True
        # PeripheralType of the events: the center file's, else each profile's (peripheral_type())
        ptype = self.config.peripheral_type
        self._ptype = UCCX_PERIPHERAL_TYPE if ptype is None else ptype
        self._icm_ptype = int(PeripheralType.PT_ENTERPRISE_AGENT) if ptype is None else ptype
        #: the PGStatus bits (ICM) of the SYSTEM_EVENTs that took the center offline, cleared when it comes back
        self._pg_down = 0
        self.agents: dict[str, Agent] = {}
        #: READY agents, longest-ready first (insertion order), the whole center's and each CSQ's (the same order):
        #: routing takes the first of the CSQ, looking at that CSQ's READY agents only — a walk over every READY agent
        #: for each queue with callers and nobody of its own READY made every READY change cost O(agents)
        self.ready: dict[str, Agent] = {}
        self.ready_in: dict[int, dict[str, Agent]] = {c.id: {} for c in self.config.csqs}
        self.by_device: dict[str, Agent] = {}
        #: agents by state, the whole center's and each CSQ's (its agents'), kept as the states change
        #: (:meth:`_enter_state`): what QUERY_QUEUE/SUMMARY_STATISTICS_CONF count, without a walk over every agent
        #: per query (5,000 agents: 0.3-0.8 ms a query, a wallboard polling 150 CSQs a second 5 % of a core)
        self.state_counts: dict[AgentState, int] = dict.fromkeys(AS, 0)
        self.csq_state_counts: dict[int, dict[AgentState, int]] = {c.id: dict.fromkeys(AS, 0) for c in self.config.csqs}
        csq_ids = {c.name: c.id for c in self.config.csqs}
        for a in self.config.agents:
            agent = Agent(cfg=a, state=a.state, reason=a.reason_code, since=now, entered=now,
                          csq_ids=tuple(csq_ids[n] for n in a.csqs if n in csq_ids))
            mine = dict.fromkeys(agent.csq_ids)
            agent.counts = (self.state_counts, *(self.csq_state_counts[q] for q in mine))
            agent.ready_in = (self.ready, *(self.ready_in[q] for q in mine))
            for counts in agent.counts:
                counts[agent.state] += 1
            self.agents[a.id] = agent
            if agent.state is AS.AGENT_STATE_READY:
                for ready in agent.ready_in:
                    ready[a.id] = agent
            self.by_device[a.extension] = agent
            if a.instrument:
                self.by_device[a.instrument] = agent
        self.calls: dict[int, Call] = {}
        #: agent ID -> {CallID: (call, the agent's leg)} for the calls the agent is on (_put_leg/_take_leg)
        self._calls_of: dict[str, dict[int, tuple[Call, Leg]]] = {}
        self.queues: dict[int, list[int]] = {c.id: [] for c in self.config.csqs}  # CSQ id -> queued call IDs
        self.subs: dict[int, Subscription] = {}
        self.agent_sessions: dict[str, set[int]] = {}
        self.bridges: set[int] = set()
        #: media events: on (``config.rtp_events``) and asked for by this many open sessions (their masks);
        #: with none, no call's media is tracked (:meth:`_sync_media` returns at once)
        self._rtp_sessions = 0
        #: an agent phone's IP address in the media events (see _GATEWAY_ADDRESS)
        self._phone_address = {a.id: f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
                               for n, a in enumerate(self.config.agents, start=1)}
        self._ids = itertools.count(self.config.first_call_id)
        self._timers: list[tuple[float, int, Callable[[list[Delivery], float], None]]] = []
        self._seq = itertools.count()
        self.acd = _load_acd(self.config)
        self._cf = _CF_CHOICES[self.config.control_failure_codes]
        #: (ucce) the agent whose HOLD/TALKING :meth:`_sync_hold` leaves alone until the request that changes
        #: several of its calls at once has changed them all (:meth:`_reconnect_call_req`): one event per real change
        self._hold_settling: Agent | None = None
        self._sup_refusal = _SUPERVISOR_REFUSALS[self.config.control_failure_codes]
        #: CSQ id -> its own wrap-up time (the others use config.wrapup_time)
        self._wrapup_of = {c.id: c.wrapup_time for c in self.config.csqs if c.wrapup_time is not None}
        if self.config.on_agent_disconnect not in ON_AGENT_DISCONNECT:
            raise ValueError(f"on_agent_disconnect {self.config.on_agent_disconnect!r}: expected one of "
                             + ", ".join(ON_AGENT_DISCONNECT))
        #: violations of the ACD rules, drained by the hub into the journal (all but :data:`NOT_JOURNALLED`)
        self.violations: list[dict[str, Any]] = []
        #: what the center did on its own that a report should tell (an agent whose desktop went away),
        #: drained by the hub into the journal as "happening" entries
        self.happenings: list[dict[str, Any]] = []
        out: list[Delivery] = []
        #: the configuration download's CONFIG_* messages (by kind: 0x01 applications … 0x08 devices, at most 10
        #: records each) and the configuration keys, by profile (``icm``), built on the first request (_config_request)
        self._config_cache: dict[bool, tuple[dict[int, tuple[Message, ...]], dict[str, Any]]] = {}
        #: CallIDs of the calls in progress at start, in the order of ``config.calls``
        self.preset_call_ids: list[int] = []
        for c in self.config.calls:
            self._preset_call(out, c, now)

    # -- sessions ------------------------------------------------------------------------------------

    def open_session(self, sub: Subscription, now: float) -> OpenResult:
        """Admit a session (reference §7.1 OPEN_REQ rows) or say which status refuses it."""
        if sub.mode == "bridge":
            self.subs[sub.session_id] = sub
            # every call and agent event is the ALL_EVENTS service (reference §3.3, §6.5): a session
            # granted neither it nor CLIENT_EVENTS (CLIENT_CONTROL alone, say) gets its confirmations only
            if sub.services & _ALL_EVENTS:
                self.bridges.add(sub.session_id)
            self._watch_media(sub, +1)
            return OpenResult(S.E_CTI_NO_ERROR)
        if sub.profile.icm and sub.peripheral_id is not None and sub.peripheral_id != self.config.peripheral_id:
            # ICM's OPEN_REQ PeripheralID names the peripheral of an agent-mode (Client Events) session: one this CTI
            # server does not have (NULL_PERIPHERAL_ID, or UCCX's reserved 0, included) is E_CTI_INVALID_PERIPHERAL_ID
            # (7, "a message with an invalid PeripheralID value"). UCCX reserves the field (0) and does not read it
            return OpenResult(S.E_CTI_INVALID_PERIPHERAL_ID,
                              text=f"PeripheralID {_peripheral_text(sub.peripheral_id)} is not this CTI server's "
                                   f"peripheral ({self.config.peripheral_id}; the center file's peripheral_id)")
        agent = None
        if sub.agent_id:
            agent = self.agents.get(sub.agent_id)
            if agent is None:
                return OpenResult(S.E_CTI_INVALID_AGENT_DATA, text=self.unknown_agent_text(sub.agent_id))
        for dev in (sub.agent_instrument, sub.agent_extension):
            if dev:
                owner = self.by_device.get(dev)
                if owner is None:
                    return OpenResult(S.E_CTI_INVALID_AGENT_DATA, text=f"unknown device {dev!r}")
                if agent is None:
                    agent = owner
                elif owner is not agent:
                    return OpenResult(S.E_CTI_INCONSISTENT_AGENT_DATA,
                                      text=f"device {dev!r} is not agent {agent.id}'s phone")
        if agent is None:
            return OpenResult(S.E_CTI_REQUIRED_DATA_MISSING, text="agent mode needs AgentID, AgentExtension or AgentInstrument")
        kicked = []
        for other in sorted(self.agent_sessions.get(agent.id, ())):
            if self.subs[other].client_id == sub.client_id:
                kicked.append(other)  # the same client opened a new session: the old one ends (E_CTI_NEW_SESSION_OPENED)
            else:
                return OpenResult(S.E_CTI_DEVICE_IN_USE,
                                  text=f"phone {agent.device} is used by another client session")
        for k in kicked:
            self._forget(k)  # the agent keeps a session: the new one (no on_agent_disconnect)
        agent.desktop_lost = False  # the desktop is back: after its calls the agent takes the usual state
        sub = dataclasses.replace(sub, agent_id=agent.id, agent_extension=agent.cfg.extension,
                                  agent_instrument=agent.device)
        self.subs[sub.session_id] = sub
        self.agent_sessions.setdefault(agent.id, set()).add(sub.session_id)
        self._watch_media(sub, +1)
        return OpenResult(S.E_CTI_NO_ERROR, agent_state=int(agent.state), agent_id=agent.id,
                          agent_extension=agent.cfg.extension, agent_instrument=agent.device, kicked=tuple(kicked))

    def close_session(self, sid: int, now: float) -> list[Delivery]:
        """A session ends: CLOSE_REQ, or its connection is gone. When it was the last agent-mode session
        of a logged-in agent, nobody drives that agent any more, and ``config.on_agent_disconnect``
        says what UCCX does (reference §6.19 AGT_CONN_DOWN 32765, "desktop/IPPA failed or connection
        lost"): an ACD call ringing at the agent goes back to its queue (in arrival order), as after
        a ring-no-answer, and is offered to the next READY agent; the calls the agent's phone holds stay
        as they are (the phone still has them: a new session of the agent gets them back through
        SNAPSHOT_DEVICE_REQ and can clear them); the agent goes NOT_READY ("not_ready") or LOGOUT
        ("logout") with reason AGT_CONN_DOWN — at once when it has no call left, else when its last
        call ends (instead of the after-call state); an agent already NOT_READY stays as it is with
        "not_ready". ``"keep"`` changes nothing. A bridge session, or the session of a client that
        opened a new one for the same agent (the agent keeps a session), only goes. Returns the events (AGENT_STATE_EVENT, call
        events) for the sessions still open; what was done is in :attr:`happenings`."""
        sub = self.subs.get(sid)
        self._forget(sid)
        out: list[Delivery] = []
        if (sub is not None and sub.mode == "agent" and sub.agent_id and not self.agent_sessions.get(sub.agent_id)
                and self.config.on_agent_disconnect != "keep"):
            self._desktop_gone(out, self.agents[sub.agent_id], now)
        return out

    def _disconnect_state(self) -> AgentState:
        return AS.AGENT_STATE_LOGOUT if self.config.on_agent_disconnect == "logout" else AS.AGENT_STATE_NOT_READY

    def _desktop_gone(self, out: list[Delivery], agent: Agent, now: float) -> None:
        """The agent's last session ended (see :meth:`close_session`)."""
        if not agent.logged_in:
            return
        before = agent.state
        requeued = self._withdraw_offer(out, agent, now)
        target = self._disconnect_state()
        kept = [c.id for c in self._agent_calls(agent)]
        if kept:
            agent.desktop_lost = True
            if self._routable_beside_calls(agent):
                # READY (a held call of its own on the phone), WORK/WORK_READY (its wrap-up would make it READY),
                # RESERVED with the offer just withdrawn: offered calls with nobody to answer them, or stuck
                # RESERVED with nothing ringing until the kept calls end. Out of routing now; with "logout" the
                # LOGOUT comes when the calls end (an agent with a call cannot be logged out)
                self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, _AGT_CONN_DOWN, now)
        elif agent.state is not target:
            self._set_state(out, agent, target, _AGT_CONN_DOWN, now)
        if requeued:
            self._route_queued(out, now)
        short = _short_state
        if kept and agent.state is not before:
            done = f"{short(agent.state)} (AGT_CONN_DOWN), its phone keeping its calls" + (
                "" if agent.state is target else f": {short(target)} when they end")
        elif kept:
            done = f"on a call: {short(target)} (AGT_CONN_DOWN) when the calls its phone holds end"
        elif agent.state is not before:
            done = f"{short(agent.state)} (AGT_CONN_DOWN)"
        else:
            return  # nothing to tell: a NOT_READY agent with nothing ringing stays as it is
        self.happenings.append({"what": f"agent {agent.id}: last session closed, {done}", "agent": agent.id,
                                "state_before": before.name, "state": agent.state.name,
                                "calls_requeued": requeued, "calls_kept": kept})

    def _routable_beside_calls(self, agent: Agent) -> bool:
        """Whether the agent, whose phone has calls, is in a state the queues route to or will route to (READY,
        WORK, WORK_READY) or RESERVED with nothing ringing at its phone any more (the offer withdrawn or gone):
        not TALKING/HOLD on an ACD call, not NOT_READY, not RESERVED for a call still ringing."""
        state = agent.state
        if state is _READY or state in _WRAPUP_STATES:
            return True
        return state is AS.AGENT_STATE_RESERVED and all(
            leg.state is not LCS.LCS_ALERTING for _, leg in self.agent_call_legs(agent.id))

    def _forget(self, sid: int) -> None:
        sub = self.subs.pop(sid, None)
        if sub is None:
            return
        self._watch_media(sub, -1)
        self.bridges.discard(sid)
        if sub.agent_id in self.agent_sessions:
            self.agent_sessions[sub.agent_id].discard(sid)
        for call in self.calls.values():
            call.told.discard(sid)

    # -- requests ------------------------------------------------------------------------------------

    def handle(self, sid: int, msg: Message, now: float) -> list[Delivery]:
        """Answer one request of an open session: a confirmation plus the events it causes."""
        out: list[Delivery] = []
        mt = msg.TYPE
        handler = _HANDLERS.get(mt)
        # a request without an InvokeID (CONFIG_REQUEST_KEY_EVENT, CONFIG_REQUEST_EVENT) reads None here
        # (Message.invoke_id): its FAILURE_CONF echoes 0, None does not encode
        invoke_id = msg.invoke_id or 0
        need = SERVICES_NEEDED.get(mt)
        if need is not None:
            # a request needs a service the session was granted (reference §6.5: the client must check
            # ServicesGranted); the session journals PROTO-SERVICE-NOT-GRANTED, the request changes nothing
            # (ICM: E_CTI_FUNCTION_NOT_AVAILABLE, reserved in UCCX: the session's profile says which)
            sub = self.subs.get(sid)
            if sub is not None and not sub.services & need:
                out.append(Delivery(sid, failure_conf(
                    sub.profile.status("not_granted"),
                    f"{mt.name} needs {services_text(need)} in ServicesRequested").message(invoke_id)))
                return out
        if handler is None:
            out.append(Delivery(sid, M.FailureConf(
                invoke_id=invoke_id, status=int(S.E_CTI_UNSPECIFIED_FAILURE),
                text=f"mockcti does not simulate {msg.TYPE.name}")))
            return out
        try:
            handler(self, out, sid, msg, now)
        except Refused as r:
            if r.violation is not None:
                self.violations.append({**r.violation, "session_id": sid, "request": msg.TYPE.name,
                                        "invoke_id": invoke_id})
            # events the handler queued before refusing are dropped: a refused request changes nothing
            sub = self.subs.get(sid)
            out = [Delivery(sid, r.failure.message(invoke_id, sub is not None and sub.profile.icm))]
        return out

    def _cf_refusal(self, key: str, ccx: CCXErrorCode, text: str) -> Failure:
        """CONTROL_FAILURE_CONF for the center's own refusal ``key`` (:data:`_CF_CHOICES`): the FailureCode of the
        center's ``control_failure_codes``, and to a session of the ucce profile ICM's own (Failure.message)."""
        return Failure("control_failure_conf", failure_code=int(self._cf[key]), ccx_error_code=int(ccx), text=text,
                       icm_failure_code=_ICM_CF[key])

    def _conf(self, out: list[Delivery], sid: int, msg: Message) -> None:
        out.append(Delivery(sid, msg))

    # agent state ---------------------------------------------------------------------------------------

    def _requester_agent(self, sid: int, msg: Message, *, fields: Iterable[str] = ()) -> Agent:
        """The agent a request acts for: the session's agent in agent mode; in bridge mode the one
        named by AgentID or a device field of the request."""
        sub = self.subs.get(sid)
        if sub is not None and sub.mode == "agent" and sub.agent_id:
            agent = self.agents[sub.agent_id]
            # an agent-mode session acts for its own agent only: a request naming another agent or
            # another phone is bad agent data (§7.1), not silently applied to the session's agent
            named = getattr(msg, "agent_id", None)
            if named and named != agent.id:
                raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA,
                                           f"AgentID {named!r} is not this session's agent {agent.id!r}"))
            # (an authenticate-only LOGIN, ForcedFlag 2, names the instrument "unknown": §5.2)
            for name in ("agent_instrument", "agent_extension") if getattr(msg, "forced_flag", 0) != 2 else ():
                dev = getattr(msg, name, None)
                if dev and dev != agent.device and dev != agent.cfg.extension:
                    raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA,
                                               f"{name} {dev!r} is not the phone of this session's agent {agent.id!r}"))
            return agent
        return self._agent_named(msg, "agent_id", ("agent_instrument", "agent_extension", *fields))

    def _agent_named(self, msg: Message, id_field: str | None, device_fields: Iterable[str]) -> Agent:
        """The agent a request names by ``id_field`` (an AgentID) or else by the first of ``device_fields``
        it fills (a phone): E_CTI_INVALID_AGENT_DATA for an unknown one, E_CTI_REQUIRED_DATA_MISSING
        for none (§7.1)."""
        agent_id = getattr(msg, id_field, None) if id_field else None
        if agent_id:
            agent = self.agents.get(agent_id)
            if agent is None:
                raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA, self.unknown_agent_text(agent_id)))
            return self._same_agent(msg, agent)
        for name in device_fields:
            dev = getattr(msg, name, None)
            if dev:
                agent = self.by_device.get(dev)
                if agent is None:
                    raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA, f"unknown device {dev!r}"))
                return self._same_agent(msg, agent)
        raise required_data_missing("the request names no agent or device")

    @staticmethod
    def _same_agent(msg: Message, agent: Agent) -> Agent:
        """``agent``, when the AgentInstrument and AgentExtension the request also fills are its phone: a
        bridge naming agent 1001 and another agent's phone is E_CTI_INCONSISTENT_AGENT_DATA (§7.1, as for an
        OPEN_REQ whose agent identity does not match), not applied to 1001 (an authenticate-only LOGIN,
        ForcedFlag 2, names the instrument "unknown": §5.2)."""
        if getattr(msg, "forced_flag", 0) != 2:
            for name in ("agent_instrument", "agent_extension"):
                dev = getattr(msg, name, None)
                if dev and dev != agent.device and dev != agent.cfg.extension:
                    raise Refused(failure_conf(S.E_CTI_INCONSISTENT_AGENT_DATA,
                                               f"{name} {dev!r} is not the phone of agent {agent.id!r}"))
        return agent

    def _team_member(self, sid: int, msg: Message) -> Agent | None:
        """The agent of its team that a supervisor's desktop names in ``msg`` (AgentID, else AgentInstrument or
        AgentExtension), or None for a request of the session's own agent. A supervisor's desktop is an agent-mode
        session granted CTI_SERVICE_SUPERVISOR ("client can perform agent supervisory functions", §6.5): it may
        act for the agents of its agent's team, as a Finesse or CAD supervisor does, where any other agent-mode
        session acts for its own agent only (:meth:`_requester_agent`). Refused: a session's agent that is no
        supervisor (as for SUPERVISE_CALL_REQ), a supervisor not logged on (E_CTI_AGENT_NOT_LOGGED_ON), an unknown
        agent, and one outside the team (E_CTI_INVALID_AGENT_DATA, :meth:`_check_team`)."""
        sub = self.subs.get(sid)
        if sub is None or sub.mode != "agent" or not sub.agent_id or not sub.services & _SUPERVISOR_SERVICE:
            return None
        own = self.agents[sub.agent_id]
        named = getattr(msg, "agent_id", None)
        if not named:
            # named by its phone only (AgentInstrument is SET_AGENT_STATE_REQ's required field); an
            # authenticate-only LOGIN names the instrument "unknown" (§5.2): the session's own agent
            if getattr(msg, "forced_flag", 0) == _AUTHENTICATE_ONLY or all(
                    not dev or dev in (own.device, own.cfg.extension)
                    for dev in (getattr(msg, "agent_instrument", None), getattr(msg, "agent_extension", None))):
                return None
        elif named == own.id:
            return None
        agent = self._agent_named(msg, "agent_id", ("agent_instrument", "agent_extension"))
        if agent is own:
            return None
        if not own.cfg.supervisor:
            raise self._sup_refused(sid, "not_supervisor", f"agent {own.id} is not a supervisor")
        self._need_logged_in(own)
        self._check_team(own, agent)
        return agent

    @staticmethod
    def _check_team(sup: Agent, agent: Agent) -> None:
        """A supervisor acts on the agents of its team only (SUPERVISE_CALL_REQ, and SET_AGENT_STATE_REQ /
        QUERY_AGENT_STATE_REQ from its desktop): E_CTI_INVALID_AGENT_DATA for another (Finesse: "Invalid
        Supervisor", an agent who does not belong to that supervisor's team)."""
        if agent is sup or agent.cfg.team != sup.cfg.team:
            raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA,
                                       f"agent {agent.id} (team {agent.cfg.team!r}) is not in the team of "
                                       f"supervisor {sup.id} ({sup.cfg.team!r})"))

    @staticmethod
    def _check_reason(reason: int) -> None:
        if reason > _LAST_CLIENT_REASON:
            # a system code (AGT_LOGON, AGT_RNA …) from a desktop would tell every wallboard something that
            # did not happen; above 32767 no code exists (§6.19)
            raise Refused(control_failure(
                CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                f"EventReasonCode {reason} is " + ("a system-generated code" if reason <= 32767 else "out of range")
                + f"; a client's reason codes are 1..{_LAST_CLIENT_REASON} (0: none)"))

    def _set_agent_state_req(self, out: list[Delivery], sid: int, req: M.SetAgentStateReq, now: float) -> None:
        if req.agent_state == _LOGIN_STATE and (not req.agent_id or req.agent_password is None):
            self._check_login_fields(sid, req)
        self._check_forced_flag(sid, req.forced_flag, req.agent_state)
        member = self._team_member(sid, req)
        want = _AGENT_STATES.get(req.agent_state)
        if member is not None:
            # a supervisor's desktop for an agent of its team: the center's supervisor path (set_agent_state), the
            # agent's desktop and the bridges told as for any supervisor's change, the supervisor confirmed
            if want not in SUPERVISOR_DESKTOP_STATES:
                raise Refused(control_failure(
                    CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                    f"AgentState {req.agent_state} ({want.name if want else 'unknown'}): a supervisor sets "
                    f"{', '.join(_short_state(s) for s in SUPERVISOR_DESKTOP_STATES)} for an agent of its team"))
            reason = req.event_reason_code or 0
            self._check_reason(reason)
            if not reason:
                reason = self._supervisor_reason(sid, want)
            events: list[Delivery] = []
            self._change_by_supervisor(events, member, want, reason, now)
            self._conf(out, sid, M.SetAgentStateConf(invoke_id=req.invoke_id))
            out.extend(events)
            return
        agent = self._requester_agent(sid, req)
        if want is None:
            raise Refused(control_failure(CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                                          f"AgentState {req.agent_state} is not a settable state"))
        reason = req.event_reason_code or 0
        self._check_reason(reason)
        if want is AS.AGENT_STATE_LOGIN:
            # ForcedFlag 2 (v12): "authenticate only, no state change" (§5.2, §6.20) — the password is
            # checked, whatever state the agent is in, and nothing else happens
            authenticate_only = req.forced_flag == 2
            if agent.logged_in and not authenticate_only:
                raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_INVALID,
                                              f"agent {agent.id} is already logged in"))
            if (req.agent_password or "") != agent.cfg.password:
                raise Refused(self._cf_refusal("bad_password", CCX.CCX_AGENT_INVALID,
                                              f"wrong password for agent {agent.id}"))
            self._conf(out, sid, M.SetAgentStateConf(invoke_id=req.invoke_id))
            if authenticate_only:
                return
            self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, _AGT_LOGON, now)
            return
        if want not in ENTER_FROM:
            raise Refused(control_failure(CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                                          f"{want.name} cannot be requested"))
        if not agent.logged_in:
            raise Refused(failure_conf(S.E_CTI_AGENT_NOT_LOGGED_ON, f"agent {agent.id} is not logged on"))
        if agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD) and want in PENDING_WHILE_TALKING:
            # the guide: WORK requested while TALKING takes effect when the call ends (§7.2); READY: see _ready_refused
            refusal = self._ready_refused(agent) if want is _READY else None
            if refusal is not None:
                raise Refused(refusal)
            self._conf(out, sid, M.SetAgentStateConf(invoke_id=req.invoke_id))
            self._set_pending(out, agent, want, reason, now)
            return
        if want is AS.AGENT_STATE_LOGOUT:
            self._check_logout(agent)
        if self._pending_after_own_call(agent, want):
            self._conf(out, sid, M.SetAgentStateConf(invoke_id=req.invoke_id))
            self._set_pending(out, agent, want, reason, now)
            return
        if agent.state not in ENTER_FROM[want]:
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"agent {agent.id} cannot go from {agent.state.name} to {want.name}"))
        refusal = self._ready_refused(agent) if want is _READY else None
        if refusal is not None:
            raise Refused(refusal)
        requeued = agent.state is AS.AGENT_STATE_RESERVED and self._withdraw_offer(out, agent, now)
        self._conf(out, sid, M.SetAgentStateConf(invoke_id=req.invoke_id))
        self._set_state(out, agent, want, reason, now)
        if requeued:
            self._route_queued(out, now)

    def _check_logout(self, agent: Agent) -> None:
        """The one rule of every LOGOUT of a logged-in agent (its own SET_AGENT_STATE_REQ, a bridge's, a supervisor's
        desktop's, :meth:`set_agent_state`): refused CF_INVALID_OBJECT_STATE / CCX_AGENT_DEVICE_BUSY while its phone
        has a call — talking, held, dialling, a direct call or a consultation ringing — whatever state the call left
        the agent in. An ACD call only offered to it (RESERVED) is no call the agent has: the LOGOUT withdraws it,
        back to its CSQ's queue (:meth:`_withdraw_offer`), as the agent's NOT_READY and a supervisor's Sign Out do.
        (Finesse 12.5(1), User—Change Agent State, lists an agent's LOGOUT from NOT_READY and READY under Unified
        CCX; RESERVED is a READY agent offered a call, "an agent can become RESERVED but never take a call". Its
        own LOGOUT was refused there while a supervisor's and the control API's withdrew the call: one rule now,
        the mock's reading — no source names RESERVED -> LOGOUT either way.)"""
        if any(leg.state is not LCS.LCS_ALERTING or not leg.routed for _call, leg in self.agent_call_legs(agent.id)):
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY,
                                          f"agent {agent.id} has a call; it cannot be logged out now"))

    def _supervisor_reason(self, sid: int, want: AgentState) -> int:
        """The EventReasonCode of ``want`` set by the supervisor's desktop ``sid`` for an agent of its team, the
        request naming none: UCCX's SUP_AGT_TO_NOT_READY 33 / SUP_AGT_TO_LOGOUT 22 (reference §6.19, U: the UCCX
        admin guide's codes, the CTI page truncated there) with ``supervisor_reason_codes`` (the default), else 0.
        A session of the ucce profile: 0 (ICM defines no such codes)."""
        code = _SUPERVISOR_REASON.get(want)
        if code is None or not self.config.supervisor_reason_codes or self.subs[sid].profile.icm:
            return 0
        return code

    def _ready_refused(self, agent: Agent) -> Failure | None:
        """Why READY cannot be asked for the agent now, or None: the one rule of every request for READY (the
        agent's SET_AGENT_STATE_REQ, a bridge's or supervisor's for it, :meth:`set_agent_state`). The Finesse
        12.5(1) developer guide (User—Change Agent State, coresident Finesse with Unified CCX) shows both refusals:
        - talking on an ACD call (TALKING, HOLD): "Unified CCX does not allow an agent to set a pending state of
          READY while that agent is talking on an ICD call", errorData 265 CF_INVALID_AGENT_WORKMODE (sent with
          control_failure_codes = "icm"; "uccx" keeps to the published CF 0-22: CF_INVALID_OBJECT_STATE), where
          Unified CCE makes READY the state after the call — as a session of the ucce profile gets, and any with
          ``ready_while_talking = "pending"`` (a Finesse guide is the source, not the CTI guide: a choice);
        - on a call that is not an ACD call (its own, a direct call: UCCX keeps such an agent NOT_READY, or in its
          wrap-up): READY "while that agent is talking on a non-ICD call", now or pending, errorData 33
          CF_RESOURCE_BUSY ("uccx": CF_INVALID_OBJECT_STATE). It made the agent READY and skipped by routing.
          Under ucce no refusal: Unified CCE takes it after the call (:meth:`_ready_after_own_call`)."""
        if agent.id not in self._calls_of:
            return None
        if agent.state is _TALKING or agent.state is AS.AGENT_STATE_HOLD:
            if self.config.ready_while_talking == "pending" or self._speaks_icm(agent):
                return None
            return self._cf_refusal(
                "pending_ready", CCX.CCX_DEFAULT_ERROR_CODE,
                f"agent {agent.id} is talking on an ACD call: Unified CCX takes no READY pending after it "
                "(NOT_READY, WORK or WORK_READY are); READY once the call ends")
        if agent.state is AS.AGENT_STATE_RESERVED and not self._pending_after_own_call(agent, _READY) and any(
                leg.state is LCS.LCS_ALERTING and not leg.routed and call.acd
                for call, leg in self.agent_call_legs(agent.id)):
            # an ACD call a colleague transferred or conferenced here rings: no script takes it back (Leg.routed), so
            # READY would be the state after an ICD call — refused as while talking on one (it was taken at once, the
            # call ringing on at a READY agent; before that the call was pulled back to the queue)
            return self._cf_refusal(
                "pending_ready", CCX.CCX_DEFAULT_ERROR_CODE,
                f"agent {agent.id} is reserved for an ACD call ringing at {agent.device}: Unified CCX takes no READY "
                "pending after it (NOT_READY is); READY once the call ends")
        if self._busy_off_acd(agent) and not self._pending_after_own_call(agent, _READY):
            return self._cf_refusal(
                "ready_while_busy", CCX.CCX_AGENT_DEVICE_BUSY,
                f"agent {agent.id} is on a call that is not an ACD call ({agent.device} busy): READY once it ends")
        return None

    def _ready_after_own_call(self, agent: Agent) -> bool:
        """Whether READY asked for now is the state after the call the agent's phone is busy with, a call that is not
        an ACD call (its own, a direct call), the agent NOT_READY or in its wrap-up: under the ucce profile. The
        Finesse 12.5(1) developer guide (User—Change Agent State), "while talking on a non-ICD call ..., the agent
        sets a pending state of READY": stand-alone Finesse with Unified CCE, "Agent transitions to READY state
        after the call ends"; coresident with Unified CCX, errorData 33 CF_RESOURCE_BUSY (:meth:`_ready_refused`).
        The caller announces it (:meth:`_set_pending`), :meth:`_after_call` takes it when the call ends."""
        return agent.state in _OWN_CALL_STATES and self._speaks_icm(agent) and self._busy_off_acd(agent)

    def _pending_after_own_call(self, agent: Agent, want: AgentState) -> bool:
        """Whether ``want``, asked for now (the agent's SET_AGENT_STATE_REQ, a supervisor's change), is the state after
        the call of its own the agent's phone is busy with, announced at once (:meth:`_set_pending`) — under the ucce
        profile only: READY while NOT_READY or in its wrap-up on such a call (:meth:`_ready_after_own_call`); READY or
        NOT_READY while RESERVED because a direct call rings at its phone (:meth:`_direct_call`). Unified CCE lists no
        request that leaves RESERVED (Finesse 12.5(1) User—Change Agent State: RESERVED is left by answering, TALKING,
        or by the call going away, READY; "users cannot place themselves in these states"), and takes a state asked
        for while reserved as a pending one: "An agent transitions to NOT_READY if that agent changes state to
        NOT_READY while reserved in an Outbound Option Preview campaign. This state change is a pending state change.
        The agent does not transition to NOT_READY until the call is complete or the ... reservation is closed or
        rejected"; READY or NOT_READY asked for during a call is the state after it (the same page). So the call rings
        on; the pending state is taken when it ends, answered (:meth:`_after_call`) or not (:meth:`_offer_gone`). The
        mock refused READY (CF_INVALID_OBJECT_STATE) and took NOT_READY at once, the call still ringing.
        The same under ucce for an ACD call or a consultation ringing at a RESERVED agent: Finesse's Unified CCE table
        has no RESERVED -> NOT_READY either (only READY, "never take a call", and TALKING), so the call is not pulled
        back from the ringing phone as UCCX's withdrawal does (:meth:`_withdraw_offer`, uccx only): it rings on, a
        ring-no-answer still takes it back (AGT_RNA). (Under ucce the NOT_READY sent the ACD call back to the queue
        at once, as under uccx; one rule for every call ringing at a ucce agent now.)"""
        if agent.state is AS.AGENT_STATE_RESERVED:
            if (want is not _READY and want is not AS.AGENT_STATE_NOT_READY) or agent.offered_from is None:
                return False
            ringing = [leg for _call, leg in self.agent_call_legs(agent.id) if leg.state is LCS.LCS_ALERTING]
            if not ringing:
                return False
            if self._speaks_icm(agent):
                return True
            # uccx: the ACD's own offer is withdrawn, and the state taken at once (:meth:`_withdraw_offer`); a
            # consultation, or an ACD call a colleague transferred or conferenced here, ringing is a colleague's call
            # no script can take back (Leg.routed) — it rang on at an agent made
            # NOT_READY at once, which then answered it without becoming TALKING and handled the call transferred to
            # it NOT_READY, with no after-call state. NOT_READY is the state after it ("talking pending not ready"),
            # READY is refused (:meth:`_ready_refused`: Unified CCX takes no pending READY on an ICD call) unless the
            # center file's ready_while_talking = "pending" says otherwise
            return ((want is AS.AGENT_STATE_NOT_READY or self.config.ready_while_talking == "pending")
                    and not any(leg.routed for leg in ringing))
        return want is _READY and self._ready_after_own_call(agent)

    def _busy_off_acd(self, agent: Agent) -> bool:
        """Whether the phone of the agent (not TALKING on an ACD call) is busy with a call that is not an ACD call:
        talking on, dialling or ringing with it (an ACD call ringing at a RESERVED agent is none: a supervisor's
        READY withdraws it). Such an agent is not made READY: requests are refused (:meth:`_ready_refused`), the
        wrap-up timer's READY waits for the call's end (:meth:`_wrapup_over`)."""
        return agent.id in self._calls_of and any(
            leg.state is LCS.LCS_CONNECT or leg.state is LCS.LCS_INITIATE
            or (leg.state is LCS.LCS_ALERTING and not call.acd) for call, leg in self.agent_call_legs(agent.id))

    def _check_login_fields(self, sid: int, req: M.SetAgentStateReq) -> None:
        """A LOGIN that lacks AgentID or AgentPassword: the UCCX SET_AGENT_STATE_REQ page marks both "required
        when AgentState = LOGIN" (reference §5.2), and a request missing a required floating field is FAILURE_CONF
        E_CTI_REQUIRED_DATA_MISSING (§7.1). An agent-mode session's LOGIN without AgentID was taken for the
        session's agent, one without AgentPassword answered CONTROL_FAILURE_CONF "wrong password" (88009) — or,
        for an agent whose password is empty, logged in. An authenticate-only LOGIN (ForcedFlag 2) is a LOGIN
        too. Under ucce (ICM names the agent in its own AgentID, tag 5, and lists no such rule) not checked."""
        sub = self.subs.get(sid)
        if sub is not None and sub.profile.icm:
            return
        missing = [name for name, absent in (("AgentID", not req.agent_id),
                                             ("AgentPassword", req.agent_password is None)) if absent]
        if missing:
            raise required_data_missing(f"SET_AGENT_STATE_REQ LOGIN without {' and '.join(missing)}: "
                                        "required when AgentState is LOGIN")

    def _check_forced_flag(self, sid: int, flag: int, state: int) -> None:
        """ForcedFlag is 0 FALSE, 1 TRUE, or, from protocol version 12, 2 "authenticate only", with LOGIN
        (§5.2, §6.20): another value, 2 with another AgentState, or 2 on a UCCX session opened below version 12
        (the field is there from version 10, this meaning of it is not), is refused CF_VALUE_OUT_OF_RANGE /
        CCX_INVALID_ARGUMENT — it was taken as a login (3 …), as a state change with the phone checks of an
        authentication skipped (2 with NOT_READY), or as an authentication the server of that version does not
        do (2 at version 10-11). Under ucce, ICM numbering its versions otherwise, 2 is taken at every version."""
        if flag <= 1:
            return
        if flag != _AUTHENTICATE_ONLY:
            raise Refused(control_failure(CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                                          f"ForcedFlag {flag} is not 0 (FALSE), 1 (TRUE) or 2 (authenticate only)"))
        if state != _LOGIN_STATE:
            name = _AGENT_STATES[state].name if state in _AGENT_STATES else str(state)
            raise Refused(control_failure(
                CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                f"ForcedFlag 2 (authenticate only, no state change) goes with AgentState LOGIN, not {name}"))
        sub = self.subs.get(sid)
        if sub is not None and not sub.profile.icm and sub.version < _AUTHENTICATE_ONLY_SINCE:
            raise Refused(control_failure(
                CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                f"ForcedFlag 2 (authenticate only) exists from protocol version {_AUTHENTICATE_ONLY_SINCE}; "
                f"this session opened with version {sub.version}: 0 (FALSE) or 1 (TRUE)"))

    def set_agent_state(self, now: float, agent_id: str, state: AgentState | int, reason: int = 0) -> list[Delivery]:
        """A supervisor or the administration changes an agent's state (scenarios, control API,
        test helpers) to one of :data:`SETTABLE_AGENT_STATES` (others: ValueError — TALKING, HOLD,
        RESERVED … are the calls' doing; set by hand they left an agent with no call stuck in them).
        An agent on a call keeps it: READY, NOT_READY, WORK or WORK_READY become the state after the
        call (as the agent's own request does, §7.2; announced at once, :meth:`_set_pending`); LOGOUT is refused (ValueError), and so is LOGIN
        of an agent already logged in, LOGOUT of one logged out, a state other than LOGIN or LOGOUT of one logged out, and
        a change the agent's own table refuses (WORK -> WORK_READY …: :data:`SUPERVISOR_ENTER_FROM`), as its own
        requests are. ``reason`` is the event's EventReasonCode (a USHORT, 0..65535:
        ValueError otherwise — one the event could not carry was never sent, and the state changed
        unannounced)."""
        if isinstance(reason, bool) or not isinstance(reason, int) or not 0 <= reason <= 0xFFFF:
            raise ValueError(f"reason code must be an integer in 0..65535 (EventReasonCode), got {reason!r}")
        out: list[Delivery] = []
        agent = self.agents.get(agent_id)
        if agent is None:  # (a bare KeyError('9999') before)
            raise KeyError(f"unknown agent {agent_id!r}{self.agent_hint(agent_id)}; known: {sorted(self.agents)}")
        want = AS(state)
        if want not in SETTABLE_AGENT_STATES:
            raise ValueError(f"{want.name} is set by the center as calls come and go, not settable; settable: "
                             + ", ".join(s.name for s in SETTABLE_AGENT_STATES))
        try:
            self._change_by_supervisor(out, agent, want, reason, now)
        except Refused as r:
            raise ValueError(r.failure.text) from None
        return out

    def _change_by_supervisor(self, out: list[Delivery], agent: Agent, want: AgentState, reason: int,
                              now: float) -> None:
        """A supervisor's or the administration's change of the agent's state to ``want`` (one of
        :data:`SETTABLE_AGENT_STATES`): :meth:`set_agent_state`, and a supervisor's desktop's SET_AGENT_STATE_REQ for
        an agent of its team. Refused (:class:`Refused`, nothing changed) as the agent's own request would be, with
        its statuses: not logged on E_CTI_AGENT_NOT_LOGGED_ON, a LOGOUT with a call on the phone
        CF_INVALID_OBJECT_STATE / CCX_AGENT_DEVICE_BUSY, a change the table refuses CF_INVALID_OBJECT_STATE /
        CCX_DEFAULT_ERROR_CODE, READY on a call :meth:`_ready_refused`'s."""
        if want is AS.AGENT_STATE_LOGOUT and not agent.logged_in:
            # as the agent's own second LOGOUT is refused (E_CTI_AGENT_NOT_LOGGED_ON): it re-sent the LOGOUT event
            raise Refused(failure_conf(S.E_CTI_AGENT_NOT_LOGGED_ON, f"agent {agent.id} is already logged out (LOGOUT)"))
        if want not in (AS.AGENT_STATE_LOGIN, AS.AGENT_STATE_LOGOUT) and not agent.logged_in:
            # as the agent's own request is refused (E_CTI_AGENT_NOT_LOGGED_ON): READY or WORK set for a logged-out
            # agent made it so without a login, its desktop and the bridges told of a state no login preceded
            raise Refused(failure_conf(S.E_CTI_AGENT_NOT_LOGGED_ON,
                                       f"agent {agent.id} is logged out: {_short_state(want)} is set for a "
                                       "logged-in agent (LOGIN first)"))
        if want is AS.AGENT_STATE_LOGIN:
            if agent.logged_in:  # as the agent's own LOGIN is refused (it moved the agent to NOT_READY)
                raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_INVALID,
                                              f"agent {agent.id} is already logged in ({_short_state(agent.state)})"))
            want = AS.AGENT_STATE_NOT_READY
            reason = reason or int(ReasonCode.AGT_LOGON)
        if want is _READY:  # the rule of the agent's own request (a supervisor's goes to the same server)
            refusal = self._ready_refused(agent)
            if refusal is not None:
                raise Refused(refusal)
        if (agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD) and want in PENDING_WHILE_TALKING
                or self._pending_after_own_call(agent, want)):
            self._set_pending(out, agent, want, reason, now)
            return
        if (want is _LOGOUT and (agent.state is _TALKING or agent.state is _HOLD)
                and self.config.supervisor_logout_while_talking == "pending"):
            # the Finesse supervisor desktop's Sign Out: "If you sign out an agent who is on a call (in the Talking
            # state), that agent is signed out when the call ends" (Finesse user guide, Team Performance gadget;
            # second-hand, and the CTI guide's pending bits, §6.7, cover WORK and NOT_READY only: a center choice,
            # CenterConfig.supervisor_logout_while_talking). Announced now (TALKING, NextAgentState LOGOUT, a
            # TALKING event), taken by _after_call
            self._set_pending(out, agent, want, reason, now)
            return
        if want is AS.AGENT_STATE_LOGOUT:
            self._check_logout(agent)
        allowed = SUPERVISOR_ENTER_FROM.get(want)
        if allowed is not None and agent.state not in allowed and agent.logged_in:
            # the agent's own transition table (CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE on the wire): WORK ->
            # WORK_READY, WORK -> WORK were taken from a supervisor though the agent's own request is refused
            raise Refused(control_failure(
                CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                f"agent {agent.id} cannot go from {_short_state(agent.state)} to {_short_state(want)}; "
                f"{_short_state(want)} is set from " + ", ".join(sorted(_short_state(s) for s in allowed))))
        requeued = agent.state is AS.AGENT_STATE_RESERVED and self._withdraw_offer(out, agent, now)
        self._set_state(out, agent, want, reason, now)
        if requeued:
            self._route_queued(out, now)

    def _set_state(self, out: list[Delivery], agent: Agent, state: AgentState, reason: int, now: float,
                   csq_id: int = NONE_ID) -> None:
        # StateDuration, seconds in the current state (§5.2): 0 for a new state; the same state and reason
        # set again (READY asked for twice, a supervisor's NOT_READY of a NOT_READY agent) is still the
        # state the agent entered at ``entered``
        if state is agent.state and reason == agent.reason:
            duration = int(now - agent.entered)
        else:
            agent.entered, duration = now, 0
        if state is not agent.state:  # (READY asked for again keeps the agent's place in the longest-ready order)
            self._enter_state(agent, state)
        agent.reason, agent.since, agent.consult_offer = reason, now, False
        aid = agent.id
        if state is not _TALKING and state is not _HOLD:  # (HOLD: ucce, _sync_hold)
            agent.pending = agent.own_call_from = None
            if state not in _BUSY_WITH_A_CALL:
                # done with the CSQ's call: a WORK the agent asks for later (from READY or NOT_READY, or after
                # a new login) is no wrap-up of it, and leaves its other CSQs BUSY_OTHER no more
                agent.call_csq = NONE_ID
        bit = _STATE_BIT[state]
        if reason == _AGT_LOGON:  # a login: UCCX has no login state (§6.4), its event is NOT_READY AGT_LOGON
            bit |= _LOGIN_BIT
        ev = agent.state_events.get((state, reason, csq_id)) or self._state_event(agent, state, reason, csq_id)
        if duration:
            ev = dataclasses.replace(ev, state_duration=min(duration, 0xFFFFFFFF))
        self._send_state_event(out, aid, ev, bit)
        if state is _READY:
            self._route_queued(out, now)

    @staticmethod
    def _enter_state(agent: Agent, state: AgentState) -> None:
        """The agent's state becomes another, ``state``: moved in the agents-by-state tables it counts in (the
        center's and its CSQs', :attr:`Agent.counts`), and into or out of the READY tables (:attr:`Agent.ready_in`,
        entering READY last in the longest-ready order). The one place an agent's state is set."""
        old = agent.state
        for counts in agent.counts:
            counts[old] -= 1
            counts[state] += 1
        if old is _READY:
            for ready in agent.ready_in:
                del ready[agent.id]
        elif state is _READY:
            for ready in agent.ready_in:
                ready[agent.id] = agent
        agent.state = state

    def _send_state_event(self, out: list[Delivery], agent_id: str, ev: Message, bit: int) -> None:
        """``ev`` to the agent's sessions and the bridges whose AgentStateMask lets ``bit`` through (a ucce
        session: with ICM's PeripheralType, :meth:`_for_icm`)."""
        subs = self.subs
        icm = None
        for group in (self.agent_sessions.get(agent_id), self.bridges):
            if not group:
                continue
            for sid in sorted(group) if len(group) > 1 else group:
                sub = subs[sid]
                if sub.state_filter & bit:
                    if sub.profile.icm:
                        if icm is None:
                            icm = self._for_icm(ev)
                        out.append(Delivery(sid, icm))
                    else:
                        out.append(Delivery(sid, ev))

    def _set_pending(self, out: list[Delivery], agent: Agent, want: AgentState, reason: int, now: float) -> None:
        """``want`` (NOT_READY, READY, WORK, WORK_READY), asked for while the agent is on a call, is the state
        after the call (§7.2), and the agent's sessions and the bridges learn it now: AGENT_STATE_EVENT with
        the agent's state as it is (TALKING, its reason code, CSQID and StateDuration) and NextAgentState
        (tag 123, ICM "the next agent state (if known)", §5.2) the pending state — UCCX's "talking pending
        work" / "talking pending not ready" events, which AgentStateMask 0x40 / 0x80 select (§6.7; a pending
        READY, which has no bit, TALKING's 0x10). Under ucce, ICM having no such bits, TALKING's for all."""
        agent.pending, agent.pending_reason, agent.desktop_lost = want, reason, False
        state, csq_id = agent.state, agent.call_csq
        ev = agent.state_events.get((state, agent.reason, csq_id)) or self._state_event(agent, state, agent.reason,
                                                                                        csq_id)
        ev = dataclasses.replace(ev, state_duration=min(int(now - agent.entered), 0xFFFFFFFF),
                                 next_agent_state=int(want))
        # (a READY pending after a call of its own, under ucce, is announced in the agent's NOT_READY or wrap-up
        # state: the event of that state's bit)
        # (HOLD, a ucce state, :meth:`_sync_hold`: ICM has no pending bits, the event is a HOLD one)
        self._send_state_event(out, agent.id, ev, _PENDING_BIT[want] if state is _TALKING else _STATE_BIT[state])

    def _state_event(self, agent: Agent, state: AgentState, reason: int, csq_id: int) -> Message:
        """AGENT_STATE_EVENT for the agent's new state. Agents cycle through the same few states, and
        messages are immutable: each agent keeps the events it has had (at most 64, then starts over),
        so a repeated state costs neither building nor encoding (the session reuses the bytes). These
        announce a new state: StateDuration 0 (a re-announced one gets its duration in :meth:`_set_state`)."""
        key = (state, reason, csq_id)
        cache = agent.state_events
        ev = cache.get(key)
        if ev is None:
            if len(cache) >= 64:
                cache.clear()
            ev = cache[key] = M.AgentStateEvent(
                monitor_id=0, peripheral_id=self.config.peripheral_id, session_id=0,
                peripheral_type=self._ptype, csq_state=int(state), state_duration=0,
                csq_id=csq_id, skill_group_id=NONE_ID, skill_group_priority=0, agent_state=int(state),
                event_reason_code=reason, mrd_id=1, num_tasks=0, agent_mode=0, max_task_limit=0, icm_agent_id=0,
                agent_availability_status=1, agent_id=agent.id, agent_extension=agent.cfg.extension,
                agent_instrument=agent.device,
                csqs=tuple(M.CSQInfo(csq_id=c, skill_group_id=NONE_ID, skill_group_priority=0, csq_state=int(state))
                           for c in agent.csq_ids),
            )
        return ev

    def _query_agent_state_req(self, out: list[Delivery], sid: int, req: M.QueryAgentStateReq, now: float) -> None:
        if not (req.agent_id or req.agent_instrument or req.agent_extension):
            # "at least one of the three must be present" (§5.2), a required field missing being
            # E_CTI_REQUIRED_DATA_MISSING (§7.1): an agent-mode session's query too, which was answered for the
            # session's agent (a bridge's got this refusal from _agent_named). Under ucce left as it was
            sub = self.subs.get(sid)
            if sub is None or not sub.profile.icm:
                raise required_data_missing("QUERY_AGENT_STATE_REQ names no agent: one of AgentExtension, "
                                            "AgentInstrument or AgentID is required")
        # a supervisor's desktop may ask for the agents of its team (:meth:`_team_member`), any other agent-mode
        # session for its own agent
        agent = self._team_member(sid, req) or self._requester_agent(sid, req)
        state = int(agent.state)
        # an agent busy with a CSQ's call (reserved for it, talking, in its wrap-up) is BUSY_OTHER in its other
        # CSQs: CSQState 7, which UCCX sends only here (reference §6.4)
        busy_in = agent.call_csq if agent.state in _BUSY_WITH_A_CALL and agent.call_csq != NONE_ID else None
        self._conf(out, sid, M.QueryAgentStateConf(
            invoke_id=req.invoke_id, agent_state=state, mrd_id=1, num_tasks=0, agent_mode=0,
            max_task_limit=0, icm_agent_id=0, agent_availability_status=1, agent_extension=agent.cfg.extension,
            agent_instrument=agent.device, agent_id=agent.id,
            csqs=tuple(M.CSQInfo(csq_id=c, skill_group_id=NONE_ID, skill_group_priority=0,
                                 csq_state=state if busy_in is None or c == busy_in else _BUSY_OTHER)
                       for c in agent.csq_ids)))

    # statistics queries (reference §5.7: UCCX-only; wire numbers unknown, provisional, configurable) ----------

    @staticmethod
    def _agent_counts(counts: Mapping[AgentState, int]) -> dict[str, Any]:  # (keyword arguments of a conf: Any)
        """The agent counts of QUERY_QUEUE/SUMMARY_STATISTICS_CONF from an agents-by-state table (the center's or a
        CSQ's, kept as states change): logged in, talking, ready, not ready, in work (WORK or WORK_READY), reserved."""
        n = dict.fromkeys(("logged_in_agents", *_STATS_FIELD.values()), 0)
        for state, k in counts.items():
            if k and state is not AS.AGENT_STATE_LOGOUT:
                n["logged_in_agents"] += k
                if state in _STATS_FIELD:
                    n[_STATS_FIELD[state]] += k
        # the counts are USHORTs (§5.7): a center larger than they carry (``--load agents=`` goes up to
        # 100,000) says "65,535 or more" rather than failing the whole CONF
        return {k: min(v, _STATS_COUNT_MAX) for k, v in n.items()}

    def _query_agent_queue_statistics_req(self, out: list[Delivery], sid: int,
                                          req: M.QueryAgentQueueStatisticsReq, now: float) -> None:
        """The calls waiting in the agent's CSQs and the wait of the oldest, in whole seconds. The agent is
        named as in any agent request: a bridge names any agent, an agent-mode session its own only, a
        supervisor's desktop also the agents of its team (:meth:`_team_member`: a supervisor desktop shows its
        team's queue statistics; another team's agent is refused E_CTI_INVALID_AGENT_DATA, as for its
        SET/QUERY_AGENT_STATE_REQ). A queue holds live calls in arrival order (:meth:`_queue`, :meth:`_requeue`;
        :meth:`_finish` takes a caller who hangs up out): its length and its first call say it, however many wait."""
        agent = self._team_member(sid, req) or self._requester_agent(sid, req)
        calls, queues, waiting, first = self.calls, self.queues, 0, now
        for q in dict.fromkeys(agent.csq_ids):
            queue = queues.get(q)
            if queue:
                waiting += len(queue)
                first = min(first, calls[queue[0]].started)
        self._conf(out, sid, M.QueryAgentQueueStatisticsConf(
            invoke_id=req.invoke_id, calls_in_queue=waiting, oldest_call_in_queue=int(now - first),
            agent_id=agent.id))

    def _query_queue_statistics_req(self, out: list[Delivery], sid: int, req: M.QueryQueueStatisticsReq,
                                    now: float) -> None:
        """One CSQ: its agents by state and the calls waiting in it (one priority: all in queue 1).
        An unknown CSQID is FAILURE_CONF E_CTI_INVALID_CSQ (§7.1)."""
        counts = self.csq_state_counts.get(req.csq_id)  # type: ignore[arg-type]  # (CSQID is required: the decoder refused a request without it)
        if counts is None:
            raise Refused(failure_conf(S.E_CTI_INVALID_CSQ, f"unknown CSQID {req.csq_id}"))
        self._conf(out, sid, M.QueryQueueStatisticsConf(
            invoke_id=req.invoke_id, calls_in_priority_queue1=len(self.queues.get(req.csq_id, ())),  # type: ignore[arg-type]
            **self._agent_counts(counts)))

    def _query_summary_statistics_req(self, out: list[Delivery], sid: int, req: M.QuerySummaryStatisticsReq,
                                      now: float) -> None:
        """The whole center: CSQs, agents by state, calls waiting (one priority: all in queue 1)."""
        self._conf(out, sid, M.QuerySummaryStatisticsConf(
            invoke_id=req.invoke_id, num_queues=min(len(self.config.csqs), _STATS_COUNT_MAX),
            calls_in_priority_queue1=sum(len(q) for q in self.queues.values()),
            **self._agent_counts(self.state_counts)))

    # calls: helpers --------------------------------------------------------------------------------

    def _agent_calls(self, agent: Agent) -> list[Call]:
        """The agent's calls, oldest first (from the index: no scan of every call in the center)."""
        return [c for c, _ in self.agent_call_legs(agent.id)]

    def agent_call_legs(self, agent_id: str) -> list[tuple[Call, Leg]]:
        """(call, the agent's leg on it) for each of the agent's calls, oldest call first."""
        mine = self._calls_of.get(agent_id)
        if not mine:
            return []
        return list(mine.values()) if len(mine) == 1 else sorted(mine.values(), key=_first_call_id)

    def _put_leg(self, call: Call, leg: Leg) -> None:
        """Every leg joins a call here, so that the agent -> calls index stays exact."""
        call.legs[leg.device] = leg
        if leg.agent is not None:
            # the agent's leg is its first on the call (what Call.leg_of answers), normally this one
            self._calls_of.setdefault(leg.agent, {})[call.id] = (call, call.leg_of(leg.agent))  # type: ignore[assignment]  # (the leg just put)

    def _take_leg(self, call: Call, device: str) -> Leg | None:
        """Every leg leaves a call here (see :meth:`_put_leg`)."""
        leg = call.legs.pop(device, None)
        if leg is not None and leg.agent is not None:
            if leg.agent in call.consulted:
                call.consulted = call.consulted - {leg.agent}
            mine = self._calls_of.get(leg.agent)
            if mine is not None:
                other = call.leg_of(leg.agent)  # the agent may still be on the call with another device
                if other is None:
                    mine.pop(call.id, None)
                    if not mine:
                        del self._calls_of[leg.agent]
                else:
                    mine[call.id] = (call, other)
        return leg

    def _new_call(self, now: float, ctype: CallType, ani: str, **kw: Any) -> Call:
        call = Call(id=next(self._ids), type=ctype, ani=ani, started=now, **kw)
        self.calls[call.id] = call
        return call

    def _interested(self, call: Call) -> list[int]:
        """Sessions that see the call's events, in session order: every bridge, the sessions of the
        agents on the call, and any session told the call began and not yet that it ended."""
        sids = self.bridges | call.told
        sessions = self.agent_sessions
        for leg in call.legs.values():
            if leg.agent is not None:
                mine = sessions.get(leg.agent)
                if mine:
                    sids |= mine
        if len(sids) == 1:  # the usual: one agent's session, no bridge
            for sid in sids:
                return [sid] if sid in self.subs else []
        return sorted(sids & self.subs.keys())

    def _begin_call(self, call: Call, sub: Subscription) -> Message:
        dev = sub.agent_instrument if sub.mode == "agent" else next(iter(call.legs), call.ani)
        return M.BeginCallEvent(
            monitor_id=0, peripheral_id=self.config.peripheral_id, peripheral_type=self.peripheral_type(sub.profile.icm),
            call_type=int(call.shown_type), connection_device_type=0, call_id=call.id, called_party_disposition=0,
            connection_device_id=dev, ani=call.ani, dnis=call.dnis or None, dialed_number=call.dialed or None,
            named_variables=call.named_variables, named_arrays=call.named_arrays, **_router_call_key(sub),
            **self._vars(call))

    def _vars(self, call: Call) -> dict[str, Any]:  # (keyword arguments of an event: Any)
        """The call's data for BEGIN_CALL, CALL_DELIVERED and SNAPSHOT_CALL_CONF (no customer fields)."""
        return {k: v for k, v in call.variables.items() if v is not None and k not in _UPDATE_ONLY_KEYS}

    def _emit(self, out: list[Delivery], call: Call, ev: Message, *, only: Iterable[int] | None = None,
              keyed: bool = False) -> None:
        """Send a call event to every interested session (BEGIN_CALL_EVENT first where needed).
        ``keyed``: ``ev`` is built without RouterCallKey fields, which a session of the ICM profile gets
        (a copy with ROUTER_CALL_KEY, made once)."""
        bit = EVENT_MASK.get(ev.TYPE, 0)
        subs = self.subs
        told = call.told
        icm = None
        for sid in (self._interested(call) if only is None else only):
            sub = subs.get(sid)
            if sub is None:
                continue
            if sid not in told:
                told.add(sid)
                if sub.call_msg_mask & _BEGIN_CALL_BIT:
                    out.append(Delivery(sid, self._begin_call(call, sub)))
            if sub.call_msg_mask & bit:
                if sub.profile.icm:
                    if icm is None:
                        icm = self._for_icm(replace(ev, **ROUTER_CALL_KEY) if keyed else ev)
                    out.append(Delivery(sid, icm))
                else:
                    out.append(Delivery(sid, ev))

    def _end_call_for(self, out: list[Delivery], call: Call, sids: Iterable[int]) -> None:
        for sid in sorted(sids):
            if sid in call.told:
                call.told.discard(sid)
                sub = self.subs.get(sid)
                if sub is not None and sub.call_msg_mask & _END_CALL_BIT:
                    dev = sub.agent_instrument if sub.mode == "agent" else ""  # empty for bridges (§7.2)
                    out.append(Delivery(sid, M.EndCallEvent(
                        monitor_id=0, peripheral_id=self.config.peripheral_id,
                        peripheral_type=self.peripheral_type(sub.profile.icm), connection_device_type=0,
                        call_id=call.id, connection_device_id=dev)))

    # -- media: RTP_STARTED_EVENT / RTP_STOPPED_EVENT ----------------------------------------------------------

    def _watch_media(self, sub: Subscription, step: int) -> None:
        """Count the open sessions that ask for a media event (``config.rtp_events`` on). When the first
        opens, each call's media is taken as it is, without events: a recorder that joins a call hears of
        its streams from their next change on (nothing announces media that already flows)."""
        if not (sub.call_msg_mask & _RTP_BITS and self.config.rtp_events):
            return
        if step > 0 and not self._rtp_sessions:
            for call in self.calls.values():
                call.media = self._media_wanted(call)
        self._rtp_sessions += step

    def _media_wanted(self, call: Call) -> dict[str, tuple[str, str | None]]:
        """The agent phones on ``call`` whose media flows, as :attr:`Call.media` holds them: each connected
        (LCS_CONNECT) agent phone while another party is connected too (a held, ringing or dialling
        connection has none). The far end (SendingAddress/SendingPort) is the conference bridge on a
        conferenced call (or one of three connected parties or more: a supervisor's barge-in), else the other
        connected party: another agent's phone or the voice gateway."""
        connected = [lg for lg in call.legs.values() if lg.state is LCS.LCS_CONNECT]
        if len(connected) < 2:
            return {}
        bridged = call.conferenced or len(connected) > 2
        wanted: dict[str, tuple[str, str | None]] = {}
        for lg in connected:
            if lg.agent is not None:
                wanted[lg.device] = (lg.agent, None if bridged
                                     else next(o for o in connected if o is not lg).device)
        return wanted

    def _sync_media(self, out: list[Delivery], call: Call, *, ending: bool = False) -> None:
        """Tell the changes of the call's media after a step's call events (reference §5.4, §7.2): an
        RTP_STOPPED_EVENT pair (input, output) for each agent phone whose stream stopped (held, cleared,
        transferred away, ``ending``: the call is over; or whose far end changed: a conference), then an
        RTP_STARTED_EVENT pair for each whose stream started (answered, retrieved, a transfer or conference
        completed) — to the bridges and the sessions of the phone's agent, by their masks (:meth:`_emit`)."""
        if not self._rtp_sessions:
            return
        had = call.media
        wanted = {} if ending else self._media_wanted(call)
        if had == wanted:
            return
        for device, media in had.items():
            if wanted.get(device) != media:
                self._rtp_events(out, call, device, media, started=False)
        for device, media in wanted.items():
            if had.get(device) != media:
                self._rtp_events(out, call, device, media, started=True)
        call.media = wanted

    def _rtp_events(self, out: list[Delivery], call: Call, device: str, media: tuple[str, str | None], *,
                    started: bool) -> None:
        agent_id, far = media
        sids = self.bridges | self.agent_sessions.get(agent_id, set())
        if not sids:
            return
        events = call.media_events.get((device, media))
        if events is None:  # (a stream held and retrieved again is the same stream: its events are reused)
            agent = self.agents[agent_id]
            if far is None:
                address, port = _BRIDGE_ADDRESS, _rtp_port(call.id, "bridge/" + device)
            else:
                far_agent = self.by_device.get(far)
                address = _GATEWAY_ADDRESS if far_agent is None else self._phone_address[far_agent.id]
                port = _rtp_port(call.id, far)
            fields: dict[str, Any] = dict(monitor_id=0, peripheral_id=self.config.peripheral_id,
                          client_port=_rtp_port(call.id, device), connection_device_type=0, call_id=call.id,
                          connection_device_id=device, client_address=self._phone_address[agent_id],
                          sending_address=address, sending_port=port, agent_extension=agent.cfg.extension,
                          agent_id=agent_id, agent_instrument=agent.device)
            events = call.media_events[(device, media)] = (
                tuple(M.RtpStartedEvent(direction=d, rtp_type=_RTP_AUDIO, bit_rate=0, echo_cancellation=0,
                                        packet_size=_RTP_PACKET_MS, payload_type=_G711ULAW, **fields)
                      for d in (_RTP_INPUT, _RTP_OUTPUT)),
                tuple(M.RtpStoppedEvent(direction=d, **fields) for d in (_RTP_INPUT, _RTP_OUTPUT)))
        only = sorted(sids)
        for ev in events[0 if started else 1]:
            self._emit(out, call, ev, only=only)

    def _common(self) -> dict[str, Any]:  # (keyword arguments of an event: Any)
        return {"monitor_id": 0, "peripheral_id": self.config.peripheral_id, "peripheral_type": self._ptype}

    def peripheral_type(self, icm: bool) -> int:
        """The PeripheralType of the events (and, under ucce, of an agent-mode OPEN_CONF) a session of the
        profile (``icm``: ucce) gets: the center's ``peripheral_type``, by default UCCX's 21 (PT_ACMI_CRS) under
        uccx and ICM's 17 (PT_ENTERPRISE_AGENT) under ucce."""
        return self._icm_ptype if icm else self._ptype

    def _for_icm(self, ev: Message) -> Message:
        """``ev`` as a session of the ucce profile gets it: its PeripheralType ICM's (:meth:`peripheral_type`).
        The events are built once with UCCX's; the copy is made only when the two differ."""
        if self._icm_ptype != self._ptype and getattr(ev, "peripheral_type", None) == self._ptype:
            return replace(ev, peripheral_type=self._icm_ptype)
        return ev

    def _dev_type(self, leg: Leg) -> int:
        return AGENT_DEVICE if leg.agent is not None else EXTERNAL_DEVICE

    def _delivered(self, call: Call, leg: Leg, calling: str, cause: int | None = None) -> Message:
        """CALL_DELIVERED_EVENT as UCCX sends it (no RouterCallKey: _emit(keyed=True) adds them for ICM)."""
        cfg = self.config
        called_type, called = self._called(call, leg)
        return M.CallDeliveredEvent(
            monitor_id=0, peripheral_id=cfg.peripheral_id, peripheral_type=self._ptype, connection_device_type=0, call_id=call.id, line_type=self.config.line_type,
            application_id=NONE_ID if call.csq_id == NONE_ID else _APPLICATION_ID, service_id=NONE_ID, csq_id=call.csq_id,
            skill_group_id=NONE_ID, skill_group_priority=0, alerting_device_type=self._dev_type(leg),
            calling_device_type=EXTERNAL_DEVICE if self.by_device.get(calling) is None else AGENT_DEVICE,
            called_device_type=called_type, last_redirect_device_type=NONE_SHORT,
            local_connection_state=int(leg.state), event_cause=call.cause if cause is None else cause,
            connection_device_id=leg.device, alerting_device_id=leg.device, calling_device_id=calling,
            called_device_id=called, ani=call.ani, dnis=call.dnis or None, dialed_number=call.dialed or None,
            named_variables=call.named_variables, named_arrays=call.named_arrays, **self._vars(call))

    def _called(self, call: Call, leg: Leg) -> tuple[int, str]:
        """CalledDeviceType and CalledDeviceID of CALL_DELIVERED / CALL_ESTABLISHED: the device the caller
        called, which the ringing or answering phone (AlertingDeviceID / AnsweringDeviceID) need not be.
        An ACD call called its trigger, the DNIS (reference §8.10b: CalledDeviceID "7000" for the call
        alerting at agent 2006; a route point, as CALL_QUEUED_EVENT's CalledDevice); a placed call the
        number its agent dialled; a call without either the phone itself."""
        if call.acd and call.dnis:
            return _ROUTE_POINT, call.dnis
        called = call.dialed or leg.device
        if called == leg.device:
            return self._dev_type(leg), called
        return (AGENT_DEVICE if called in self.by_device else EXTERNAL_DEVICE), called

    def _established(self, call: Call, leg: Leg, calling: str, cause: int = _CEC_NONE) -> Message:
        cfg = self.config
        called_type, called = self._called(call, leg)
        return M.CallEstablishedEvent(
            monitor_id=0, peripheral_id=cfg.peripheral_id, peripheral_type=self._ptype, connection_device_type=0, call_id=call.id, line_type=self.config.line_type,
            application_id=NONE_ID if call.csq_id == NONE_ID else _APPLICATION_ID, service_id=NONE_ID, csq_id=call.csq_id,
            skill_group_id=NONE_ID, skill_group_priority=0, answering_device_type=self._dev_type(leg),
            calling_device_type=EXTERNAL_DEVICE if self.by_device.get(calling) is None else AGENT_DEVICE,
            called_device_type=called_type, last_redirect_device_type=NONE_SHORT,
            local_connection_state=_LCS_CONNECT, event_cause=cause,
            connection_device_id=leg.device, answering_device_id=leg.device, calling_device_id=calling,
            called_device_id=called)

    def _held(self, call: Call, leg: Leg) -> Message:
        cfg = self.config
        return M.CallHeldEvent(monitor_id=0, peripheral_id=cfg.peripheral_id, peripheral_type=self._ptype,
                               connection_device_type=0, call_id=call.id, holding_device_type=self._dev_type(leg),
                               local_connection_state=_LCS_HOLD, event_cause=_CEC_NONE,
                               connection_device_id=leg.device, holding_device_id=leg.device)

    def _retrieved(self, call: Call, leg: Leg) -> Message:
        cfg = self.config
        return M.CallRetrievedEvent(monitor_id=0, peripheral_id=cfg.peripheral_id, peripheral_type=self._ptype,
                                    connection_device_type=0, call_id=call.id, retrieving_device_type=self._dev_type(leg),
                                    local_connection_state=_LCS_CONNECT, event_cause=_CEC_NONE,
                                    connection_device_id=leg.device, retrieving_device_id=leg.device)

    def _originated(self, call: Call, leg: Leg, called: str) -> Message:
        return M.CallOriginatedEvent(
            **self._common(), connection_device_type=0, call_id=call.id,
            application_id=NONE_ID, csq_id=NONE_ID, reserved3=0,
            calling_device_type=AGENT_DEVICE, called_device_type=AGENT_DEVICE if called in self.by_device else EXTERNAL_DEVICE,
            local_connection_state=int(LCS.LCS_INITIATE), event_cause=int(EventCause.CEC_NONE),
            connection_device_id=leg.device, calling_device_id=leg.device, called_device_id=called)

    def _parties(self, call: Call) -> tuple:
        return tuple(M.ConnectedParty(connected_party_call_id=call.id, connected_party_device_type=self._dev_type(leg),
                                      connected_party_device_id=leg.device) for leg in call.legs.values())

    def _lookup_call(self, call_id: int | None) -> Call:
        call = self.calls.get(call_id) if call_id is not None else None
        if call is None:
            raise Refused(failure_conf(S.E_CTI_INVALID_CALLID, f"no call with CallID {call_id}"))
        return call

    def _my_leg(self, call: Call, agent: Agent, device: str | None) -> Leg:
        leg = call.leg_of(agent.id)
        if leg is None or (device and device != leg.device and device not in (agent.cfg.extension, agent.cfg.instrument)):
            raise Refused(control_failure(CF.CF_INVALID_CSTA_CONNECTION_ID, CCX.CCX_TERMINAL_CONNECTION_NULL,
                                          self._not_my_connection(call, agent, leg, device)))
        return leg

    def _not_my_connection(self, call: Call, agent: Agent, leg: Leg | None, device: str | None) -> str:
        """The Text of :meth:`_my_leg`'s refusal, true of what the request named: a device with no connection
        on the call, another party's connection (the caller's, another agent's phone, the route point: the
        call has it, but an agent desktop acts on its own phone's), or the agent's phone, not on the call."""
        mine = not device or device in (agent.device, agent.cfg.extension, agent.cfg.instrument)
        other = self.by_device.get(device) if device and not mine else None
        if mine:
            return f"agent {agent.id}'s phone {agent.device} has no connection on call {call.id}"
        if device in call.legs or device == call.dnis or (other is not None and call.leg_of(other.id) is not None):
            own = (f"not agent {agent.id}'s phone {leg.device}" if leg is not None
                   else f"and agent {agent.id}'s phone {agent.device} has none")
            return f"{device} is another party's connection on call {call.id}, {own}"
        return f"device {device} has no connection on call {call.id}"

    def _connection_of(self, call: Call, device: str | None) -> None:
        """A bridge's SET_CALL_DATA_REQ names a connection of the call, whichever: "the combination of CallID,
        ConnectionDeviceType, and ConnectionDeviceID uniquely identify the call to be operated on" (reference §5.3,
        the UCCX page) — a party's device (an agent's phone by its instrument or extension, the caller, an external
        number) or the call's route point (its DNIS, the connection of the bridges' CALL_DELIVERED there, never
        cleared). Another device: CF_INVALID_CSTA_CONNECTION_ID, as for an agent desktop (:meth:`_my_leg`)."""
        if device and (device in call.legs or device == call.dnis):
            return
        agent = self.by_device.get(device) if device else None
        if agent is not None and call.leg_of(agent.id) is not None:
            return
        raise Refused(control_failure(CF.CF_INVALID_CSTA_CONNECTION_ID, CCX.CCX_TERMINAL_CONNECTION_NULL,
                                      f"device {device!r} has no connection on call {call.id}"))

    def _one_call(self, sid: int, req: Message, call_attr: str, device_attr: str, *,
                  op: str | None = None) -> tuple[Agent, Call, Leg]:
        """The common start of a one-call request (its service was checked by handle): acting agent, the call and the
        agent's connection on it (FAILURE_CONF / CONTROL_FAILURE_CONF otherwise), then the ACD rules."""
        agent = self._requester_agent(sid, req, fields=(device_attr,))
        call = self._lookup_call(getattr(req, call_attr))
        leg = self._my_leg(call, agent, getattr(req, device_attr))
        if op is not None:
            self._guard(agent, op, call=call, leg=leg)
        return agent, call, leg

    def _held_and_active(self, sid: int, req: M.TransferCallReq | M.ConferenceCallReq | M.ReconnectCallReq, *, op: str) -> tuple[Agent, Call, Leg, Call, Leg]:
        """The common start of TRANSFER/CONFERENCE/RECONNECT: the held and the active call, the
        agent's connection on each, then the ACD rules."""
        agent = self._requester_agent(sid, req, fields=("active_connection_device_id", "held_connection_device_id"))
        held, active = self._two_calls(agent, req.held_call_id, req.active_call_id, op)
        hleg = self._my_leg(held, agent, req.held_connection_device_id)
        aleg = self._my_leg(active, agent, req.active_connection_device_id)
        self._guard(agent, op, call=active, leg=aleg, other=held, other_leg=hleg)
        return agent, held, hleg, active, aleg

    def _need_logged_in(self, agent: Agent) -> None:
        if not agent.logged_in:
            raise Refused(failure_conf(S.E_CTI_AGENT_NOT_LOGGED_ON, f"agent {agent.id} is not logged on"))

    def _guard(self, agent: Agent, op: str, **params: Any) -> None:
        """Apply the ACD line-state rules (mockcti.acd) before the center acts."""
        if self.acd is not None:
            self.acd.check(self, agent, op, params)

    # -- inbound calls and routing ------------------------------------------------------------------------

    def check_call_data(self, ani: str, dnis: str | None, variables: Mapping[str, str] | None,
                        named_variables: Any = None, named_arrays: Any = None) -> tuple[tuple, tuple]:
        """The caller's-data check of :func:`mockcti.center.config.check_call_data` (deliver_call runs
        it; it gives back the named variables and arrays as the events carry them), and an ANI that is
        not a phone of this center: an inbound call comes from outside, and
        a call's parties are its devices — from an agent's own phone the caller's leg was the agent's
        ringing leg (a call from nobody), from another agent's phone that agent saw nothing of it."""
        named = check_call_data(ani, dnis, variables, named_variables, named_arrays)
        owner = self.by_device.get(ani)
        if owner is not None:
            raise CallDataError("ani", f"ani {ani!r} is the phone of agent {owner.id}: an inbound call comes from "
                                       "outside the center (an agent's call is its MAKE_CALL_REQ)")
        return named

    def deliver_call(self, now: float, *, csq: str | None = None, agent_id: str | None = None,
                     ani: str = "0600000000", dnis: str = "7000", variables: Mapping[str, str] | None = None,
                     named_variables: Mapping[str, str] | None = None,
                     named_arrays: Mapping[str, Sequence[str | None]] | None = None) -> tuple[int, list[Delivery]]:
        """A caller arrives: to ``agent_id`` directly, or through ``csq`` to its longest-ready agent,
        queued (CALL_QUEUED_EVENT to bridges) when nobody is ready. Returns the CallID and deliveries.
        ``named_variables`` ({name: value}) and ``named_arrays`` ({name: [value, ...]}) are the call's ECC
        data (:func:`mockcti.center.config.named_call_data`), carried by its BEGIN_CALL, CALL_DELIVERED
        and SNAPSHOT_CALL."""
        out: list[Delivery] = []
        named, arrays = self.check_call_data(ani, dnis, variables, named_variables, named_arrays)
        csq_cfg = self.config.csq(csq) if csq else None
        if csq and csq_cfg is None:
            raise KeyError(f"unknown CSQ {csq!r}")
        if agent_id is not None:
            if agent_id not in self.agents:
                raise KeyError(f"unknown agent {agent_id!r}{self.agent_hint(agent_id)}")
            agent = self.agents[agent_id]
            if csq_cfg is not None and csq_cfg.id not in agent.csq_ids:
                # the call would carry (CALL_DELIVERED, the agent's RESERVED and TALKING events, a wallboard's
                # statistics) a CSQ whose agents the agent is not one of: UCCX routes a CSQ's call to its agents
                raise CallNotOffered("csq", f"agent {agent_id} is not in CSQ {csq!r} (its CSQs: "
                                            f"{', '.join(agent.cfg.csqs) or 'none'}): a call routed through a CSQ "
                                            "rings at one of that CSQ's agents; name one of the agent's CSQs, or none")
            self._may_offer_to(agent)
        call = self._new_call(now, CallType.CALLTYPE_CCX_IN if csq_cfg or agent_id else CallType.CALLTYPE_OTHER_IN, ani,
                              dnis=dnis, dialed=dnis, csq_id=csq_cfg.id if csq_cfg else NONE_ID, acd=True,
                              variables=dict(variables or {}), named_variables=named, named_arrays=arrays)
        self._put_leg(call, Leg(ani, None, LCS.LCS_CONNECT))
        if self.bridges and call.dnis and self.config.route_point_events:
            self._at_route_point(out, call)
        if agent_id is not None:
            self._offer(out, call, self.agents[agent_id], now, routed=True)
            return call.id, out
        target = self._ready_agent(call.csq_id)
        if target is None:
            self._queue(out, call)
        else:
            # the call passes through the queue even when an agent is ready: bridge clients (wallboards,
            # recorders) see the queue stage before the agent is reserved (§7.2 inbound ACD call)
            if csq_cfg is not None:
                self._emit(out, call, self._queued_event(call), only=sorted(self.bridges))
            self._offer(out, call, target, now, routed=True)
        return call.id, out

    def agent_hint(self, name: str) -> str:
        """For an unknown agent ``name`` that is an agent's extension or instrument: `` (3001 is the phone of agent
        1001: give the agent ID)``, else ''. A test naming an agent by its phone was told only "unknown agent"
        (and, by the spelling, a guess that is right only where the IDs look like the extensions)."""
        owner = self.by_device.get(name) if isinstance(name, str) else None
        return "" if owner is None else f" ({name} is the phone of agent {owner.id}: give the agent ID)"

    def unknown_agent_text(self, name: str) -> str:
        """A FAILURE_CONF's Text for an AgentID no agent has (OPEN_REQ, a request naming the agent): with
        :meth:`agent_hint` when it is an agent's phone — ``unknown agent '3001' (3001 is the phone of agent 1001:
        give the agent ID)``, as the control API and the handle say; the desktop was told only "unknown agent".
        Where that does not fit the Text field (255 bytes with the NUL: long IDs), the hint without the repeat."""
        text = f"unknown agent {name!r}{self.agent_hint(name)}"
        owner = self.by_device.get(name)
        if owner is not None and len(text.encode("utf-8", "surrogateescape")) >= TEXT_MAX:
            text = f"unknown agent {name!r}: the phone of agent {owner.id}"
        return text

    def _may_offer_to(self, agent: Agent) -> None:
        """Whether a call injected for ``agent`` may ring there (:class:`CallNotOffered` otherwise): the agent
        logged in — a logged-out agent answering the ACD call went TALKING, then READY after it, never having
        logged in — and its phone free (:meth:`_busy_phone`, the rule of every call offered to an agent's
        phone: a call dialled there fails busy, a single-step transfer is refused). A NOT_READY agent, or one
        in wrap-up, is offered the call (RESERVED; that is what delivering to an agent is for)."""
        if not agent.logged_in:
            raise CallNotOffered("agent", f"agent {agent.id} is logged out: the ACD offers a call to a logged-in "
                                          "agent only (log it in first)")
        if agent.id in self._calls_of and self._busy_phone(agent):
            busy = [(c.id, c.leg_of(agent.id).state) for c in self._agent_calls(agent)  # type: ignore[union-attr]  # (a call of the agent's: its leg is there)
                    if c.leg_of(agent.id).state in (LCS.LCS_CONNECT, LCS.LCS_ALERTING, LCS.LCS_INITIATE)]  # type: ignore[union-attr]
            what = ", ".join(f"call {cid} {_LEG_WORDS.get(st, st.name)}" for cid, st in busy)
            raise CallNotOffered("agent", f"the phone {agent.device} of agent {agent.id} is busy ({what}): a UCCX "
                                          "agent line takes one call (MaxActiveCalls 1); deliver the call when "
                                          "that one ends, or to a CSQ to queue it")

    def _ready_agent(self, csq_id: int) -> Agent | None:
        """The longest-READY agent of the CSQ whose phone is not busy (:meth:`_busy_phone`), the busy rule of every
        offer. The state rules keep a READY agent's phone idle, held calls aside (READY asked for during a call is
        refused or waits for the call's end, :meth:`_ready_refused`; the stateful test checks it), so this is a
        guard: should a READY agent's phone be busy after all, it is offered no caller until the call ends
        (:meth:`_after_call` routes then)."""
        calls_of = self._calls_of
        ready = self.ready if csq_id == NONE_ID else self.ready_in.get(csq_id)
        for a in ready.values() if ready else ():
            if not (a.id in calls_of and self._busy_phone(a)):
                return a
        return None

    def queue_hint(self, call_id: int) -> str | None:
        """Why the call ``call_id`` waits in its CSQ's queue with no one to ring, or None (not queued, or queued
        behind agents who are logged in and may become READY): the CSQ has no agents, or none of them is logged in.
        The call is queued all the same (a caller waiting for an agent is legitimate), but a test that delivers it
        and waits for a ring waits for ever unless it logs an agent in: the control API's answer and the handle's
        CallID carry this hint."""
        call = self.calls.get(call_id)
        if call is None or not call.queued:
            return None
        name = next((c.name for c in self.config.csqs if c.id == call.csq_id), str(call.csq_id))
        members = [a for a in self.agents.values() if call.csq_id in a.csq_ids]
        if not members:
            return (f"queued: CSQ {name!r} has no agents, no one will be offered the call "
                    "(give agents that CSQ in the center file)")
        if any(a.logged_in for a in members):
            return None
        return (f"queued: no agent of CSQ {name!r} is logged in ("
                + ", ".join(a.id for a in members[:10]) + (", …" if len(members) > 10 else "")
                + "); it rings once one logs in and is READY")

    def _queue(self, out: list[Delivery], call: Call) -> None:
        self.queues.setdefault(call.csq_id, []).append(call.id)
        call.queued = True
        self._emit(out, call, self._queued_event(call), only=sorted(self.bridges))

    def _requeue(self, call: Call) -> None:
        """A call withdrawn from an agent's phone goes back into its CSQ's queue in its arrival order (its
        start, then its CallID): ahead of the callers who came after it — at the head, as a routed call is
        older than those still waiting — and behind any older one, also when several are withdrawn in one
        step (two ring-no-answers due together: the older call first, not the last one withdrawn). Its wait
        (OldestCallInQueue, ``queue_position``) counts from its first arrival too. Source: the Select Resource /
        Connect step's Timeout is the time "before the contact is retrieved back into the queue" (the contact stays
        in its CSQ's queue; Unified CM's call queuing likewise returns an unanswered caller "to the previous position
        in the queue"); a script re-queueing by hand (Connect = No, Failed, Goto Select Resource) is not simulated."""
        queue = self.queues.setdefault(call.csq_id, [])
        key, calls, i = (call.started, call.id), self.calls, 0
        while i < len(queue):  # stops at once in the usual case (the withdrawn call is the oldest)
            other = calls.get(queue[i])
            if other is not None and (other.started, other.id) > key:
                break
            i += 1
        queue.insert(i, call.id)
        call.queued = True

    def _at_route_point(self, out: list[Delivery], call: Call) -> None:
        """The caller reaches the trigger (the call's DNIS, a CTI route point): to the bridge-mode sessions, each by
        its call-event mask (BEGIN_CALL_EVENT first), CALL_ORIGINATED_EVENT then CALL_DELIVERED_EVENT at the route
        point — reference §7.2 "Inbound ACD call": "CALL_ORIGINATED_EVENT ... CALL_DELIVERED_EVENT at route point
        7000 (LCS != ALERTING) ... CALL_QUEUED_EVENT (bridge clients)"; §5.4: LCS tells arrival at a route point
        from alerting at an agent phone. The reference gives no field values: the device IDs and types follow the
        other events of the call (the caller's connection as in the bridges' BEGIN_CALL and CALL_QUEUED, the route
        point as their CalledDevice, 74 DEVID_ROUTE_POINT); LocalConnectionState of the delivery, EventCause and
        CSQID are unconfirmed (U) and set in the center file (CenterConfig.route_point_lcs, route_point_event_cause,
        route_point_csq). Agent-mode sessions get neither (they learn of the call when it rings at their phone),
        and nothing is built with no bridge open."""
        cfg, rp, ani = self.config, call.dnis, call.ani
        csq_id = call.csq_id if cfg.route_point_csq else NONE_ID
        cause = cfg.route_point_event_cause
        bridges = sorted(self.bridges)
        self._emit(out, call, M.CallOriginatedEvent(
            **self._common(), connection_device_type=0, call_id=call.id, line_type=cfg.line_type,
            application_id=_APPLICATION_ID, csq_id=csq_id, reserved3=0,
            calling_device_type=EXTERNAL_DEVICE, called_device_type=_ROUTE_POINT,
            local_connection_state=int(LCS.LCS_INITIATE), event_cause=cause,
            connection_device_id=ani, calling_device_id=ani, called_device_id=rp), only=bridges)
        self._emit(out, call, M.CallDeliveredEvent(
            **self._common(), connection_device_type=0, call_id=call.id, line_type=cfg.line_type,
            application_id=_APPLICATION_ID, service_id=NONE_ID, csq_id=csq_id, skill_group_id=NONE_ID,
            skill_group_priority=0, alerting_device_type=_ROUTE_POINT, calling_device_type=EXTERNAL_DEVICE,
            called_device_type=_ROUTE_POINT, last_redirect_device_type=NONE_SHORT,
            local_connection_state=cfg.route_point_lcs, event_cause=cause,
            connection_device_id=rp, alerting_device_id=rp, calling_device_id=ani, called_device_id=rp,
            ani=ani, dnis=rp, dialed_number=call.dialed or None,
            named_variables=call.named_variables, named_arrays=call.named_arrays, **self._vars(call)),
            only=bridges, keyed=True)

    def _queued_event(self, call: Call) -> Message:
        return M.CallQueuedEvent(**self._common(), connection_device_type=0, call_id=call.id,
                               application_id=_APPLICATION_ID, service_id=NONE_ID, queue_device_type=int(DeviceType.DEVID_QUEUE),
                               calling_device_type=EXTERNAL_DEVICE, called_device_type=int(DeviceType.DEVID_ROUTE_POINT),
                               last_redirect_device_type=NONE_SHORT, num_queued=0,  # reserved (ICM NumQueued): 0
                               local_connection_state=int(LCS.LCS_QUEUED), event_cause=int(EventCause.CEC_NONE),
                               connection_device_id=call.ani, queue_device_id=str(call.csq_id),
                               calling_device_id=call.ani, called_device_id=call.dnis or None,
                               csqs=(M.QueuedCSQ(csq_id=call.csq_id, skill_group_id=NONE_ID, skill_group_priority=0),)
                               if hasattr(M, "QueuedCSQ") else ())

    def _route_queued(self, out: list[Delivery], now: float) -> None:
        """Offer waiting callers to READY agents: the caller waiting longest first, whatever its CSQ, among those
        whose CSQ has a READY agent (then that CSQ's longest-READY agent, :meth:`_ready_agent`), until no waiting
        caller has one. UCCX picks the next caller by priority, then first in first out, "no skills or CSQ names
        involved" (the mock has one priority; a queue holds its callers in arrival order, :meth:`_requeue`): an
        agent of two CSQs becoming READY took the head of the CSQ configured first, though the other's caller had
        waited longer, whose wait a wallboard then saw grow while later callers were served."""
        queues, calls = self.queues, self.calls
        while True:
            best: tuple[tuple[float, int], list[int], Agent] | None = None
            for csq_id, queue in queues.items():
                if queue:
                    head = calls[queue[0]]
                    key = (head.started, head.id)
                    if best is None or key < best[0]:
                        agent = self._ready_agent(csq_id)
                        if agent is not None:
                            best = (key, queue, agent)
            if best is None:
                return
            _, queue, agent = best
            call = calls[queue.pop(0)]
            call.queued = False
            self._offer(out, call, agent, now, routed=True)

    def _offer(self, out: list[Delivery], call: Call, agent: Agent, now: float, *, routed: bool = False) -> None:
        """Ring an agent's phone: RESERVED (ACD and consultation calls, §7.2), BEGIN_CALL, CALL_DELIVERED.
        ``routed``: the ACD offers the call (a caller routed from its CSQ, or delivered to this agent), and only
        such an offer has a ring-no-answer timer (:meth:`_ring_timer`): UCCX's script gives up on the agent
        after its Select Resource / Connect step's Timeout ("before the contact is retrieved back into the
        queue", below Unified CM's Call Forward No Answer time). An ACD call an agent sends to a colleague's
        phone (a single-step or consultative transfer or conference, a consultation) is a Unified CM call no
        script watches: it rings until answered or given up, however it was sent."""
        consult = call.type is CallType.CALLTYPE_CONSULT
        if (call.acd or consult) and agent.state in (AS.AGENT_STATE_READY, AS.AGENT_STATE_NOT_READY,
                                                     AS.AGENT_STATE_WORK, AS.AGENT_STATE_WORK_READY):
            agent.offered_from = (agent.state, agent.reason, agent.call_csq)
            self._set_state(out, agent, AS.AGENT_STATE_RESERVED, 0, now, csq_id=call.csq_id)
            agent.consult_offer = consult and not call.acd
            agent.call_csq = call.csq_id
            if routed and self.config.ring_no_answer > 0:
                self._ring_timer(agent, call.id, now)
        elif agent.state is _READY and not call.acd and not consult:
            self._direct_call(out, agent, now, ringing=True)
        leg = Leg(agent.device, agent.id, LCS.LCS_ALERTING, routed)
        self._put_leg(call, leg)
        self._emit(out, call, self._delivered(call, leg, call.ani), keyed=True)

    def _direct_call(self, out: list[Delivery], agent: Agent, now: float, *, ringing: bool = False) -> None:
        """A direct call reaches a READY agent's phone (another agent's MAKE_CALL, a non-ACD call
        transferred here, a supervisor's assist call or barge-in): it takes the agent out of routing, as
        UCCX does (§6.19 AGT_NON_ICD 32761: "direct non-business call received"): NOT_READY, and it stays
        so after the call (a NOT_READY agent's direct call changes nothing, §7.2 make call). Left READY,
        the queues offered it calls while it talked.

        Under the ucce profile the agent is READY again after the call (Finesse 12.5(1) User—Change Agent State,
        Unified CCE: TALKING -> READY "if the agent was in READY state before the call"), so the call does not
        make it NOT_READY: ``ringing`` (the call rings there, :meth:`_offer`), the agent is RESERVED while it
        rings (the same table: READY -> RESERVED "an incoming call arrives at an agent"; RESERVED -> READY "an
        agent can become RESERVED but never take a call", :meth:`_offer_gone`), TALKING once it answers
        (:meth:`_answer`, :meth:`_talk_on_own_call`), READY (or the state it asked for meanwhile) after it; a phone
        joining the call at once (a supervisor's barge-in) goes TALKING (:meth:`_talk_on_own_call`, by the caller)."""
        if agent.state is not _READY:
            return
        if not self._speaks_icm(agent):
            self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, _AGT_NON_ICD, now)
        elif ringing:
            agent.offered_from = (agent.state, agent.reason, agent.call_csq)
            self._set_state(out, agent, AS.AGENT_STATE_RESERVED, 0, now)

    def _talk_on_own_call(self, out: list[Delivery], agent: Agent, now: float) -> bool:
        """The agent talks on a call of its own (it placed it — MAKE_CALL, an assist call —, answered a direct call,
        or, READY, took back one it had held): under the ucce profile a NOT_READY or READY agent goes TALKING
        (reason 0, no CSQ), as Unified CCE reports it — Finesse 12.5(1) User—Change Agent State, Unified CCE: "An
        agent who places a call while in NOT_READY state transitions to TALKING", "Agent receives and answers a
        non-ICD call": state=TALKING, "agent state can be TALKING in Unified CCE or NOT_READY in Unified CCX" —
        and back to that state (:attr:`Agent.own_call_from`) when its calls are over ("transitions to NOT_READY if
        that agent was in NOT_READY state before the call"; READY likewise), or to the one it asked for meanwhile
        (the TALKING rules: a pending state, announced with NextAgentState). Under uccx (UCCX keeps such an agent
        NOT_READY) and for an agent in its wrap-up (Finesse's Unified CCE table has no WORK -> TALKING) nothing
        changes. Whether it did."""
        state = agent.state
        if state is AS.AGENT_STATE_RESERVED:
            # (ucce) a READY agent a direct call rang at, RESERVED while it rang (:meth:`_direct_call`)
            if agent.offered_from is None or not self._reserved_for_own_call(agent):
                return False
            before = agent.offered_from[:2]
        elif state is AS.AGENT_STATE_NOT_READY or state is _READY:
            before = (state, agent.reason)
        else:
            return False
        if not self._speaks_icm(agent):
            return False
        self._set_state(out, agent, _TALKING, 0, now)
        agent.own_call_from = before
        return True

    def _sync_hold(self, out: list[Delivery], agent: Agent, now: float) -> None:
        """(ucce) The agent TALKING or HOLD as its phone is: HOLD (ICM AGENT_STATE_HOLD, 10) while it holds a call and
        talks on and dials none (a call ringing there meanwhile changes nothing until answered), TALKING once it does — Finesse 12.5(1) User—Change Agent State, Unified CCE: TALKING ->
        HOLD "an agent puts a call on hold", HOLD -> TALKING "when an agent retrieves a held call"; "Agent puts an
        ICD call on hold": stand-alone Finesse with Unified CCE sends state=HOLD, coresident with Unified CCX none,
        "the agent remains in TALKING state" (so under uccx nothing changes, reference §7.2: "Agent state stays
        TALKING while on hold in UCCX"). The AGENT_STATE_EVENT carries the CSQ of the call it talks on; a pending
        state and the state after its own calls stay (:meth:`_set_state`)."""
        state = agent.state
        if state is not _TALKING and state is not _HOLD or agent is self._hold_settling or not self._speaks_icm(agent):
            return
        legs = self.agent_call_legs(agent.id)
        held = any(leg.state is LCS.LCS_HOLD for _, leg in legs) and not any(
            leg.state is LCS.LCS_CONNECT or leg.state is LCS.LCS_INITIATE for _, leg in legs)
        if held is (state is _HOLD):
            return
        self._set_state(out, agent, _HOLD if held else _TALKING, 0, now, csq_id=agent.call_csq)

    def _reserved_for_own_call(self, agent: Agent) -> bool:
        """Whether the RESERVED agent was reserved by a call of its own ringing there — no ACD call, no consultation
        rings at its phone — (ucce: a direct call rang at it READY, :meth:`_direct_call`; it may just have been
        answered)."""
        return agent.state is AS.AGENT_STATE_RESERVED and not any(
            leg.state is LCS.LCS_ALERTING and _routed_for(call, agent.id) for call, leg in self.agent_call_legs(agent.id))

    def _ring_timer(self, agent: Agent, call_id: int, now: float) -> None:
        """The ACD has just offered the agent a call (:meth:`_offer` ``routed``, a preset ringing call): it is
        given ``ring_no_answer`` seconds (when set)."""
        if self.config.ring_no_answer > 0:
            self._schedule(now + self.config.ring_no_answer,
                           functools.partial(self._ring_no_answer, agent, call_id, agent.since))

    def _ring_no_answer(self, agent: Agent, call_id: int, since: float, out: list[Delivery], now: float) -> None:
        """``ring_no_answer`` seconds after the ACD offered the agent a call, the call still rings there
        (reference §6.19 AGT_RNA 32763): it leaves the phone and goes back to its CSQ's queue, in arrival
        order (:meth:`_withdraw_offer`), the agent goes NOT_READY with reason AGT_RNA, and the queue goes on to
        the next READY agent. Nothing happens when the agent's state changed meanwhile (answered, its
        own request, a supervisor, its desktop gone): ``since`` tells."""
        if agent.state is not AS.AGENT_STATE_RESERVED or agent.since != since:
            return
        pair = self._calls_of.get(agent.id, {}).get(call_id)
        if pair is None or pair[1].state is not LCS.LCS_ALERTING:
            return
        requeued = self._withdraw_offer(out, agent, now)
        self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, _AGT_RNA, now)
        if requeued:
            self._route_queued(out, now)
        self.happenings.append({
            "what": f"agent {agent.id}: call {call_id} not answered in {self.config.ring_no_answer:g} s, "
                    f"NOT_READY (AGT_RNA)" + (", the call back to its queue" if requeued else ""),
            "agent": agent.id, "call_id": call_id, "state": agent.state.name, "calls_requeued": requeued})

    def _start_wrapup(self, agent: Agent, now: float) -> None:
        """The agent went to WORK or WORK_READY after an ACD call: with a wrap-up time (its call's CSQ's,
        else the center's), the wrap-up timer ends that state (:meth:`_wrapup_over`)."""
        seconds = self._wrapup_of.get(agent.call_csq, self.config.wrapup_time)
        if seconds > 0:
            agent.wrapup_since = agent.since
            self._schedule(now + seconds, functools.partial(self._wrapup_over, agent, agent.state, agent.since, seconds))

    @staticmethod
    def wrapping_up(agent: Agent) -> bool:
        """Whether the agent is in the WORK or WORK_READY state a wrap-up timer was armed for (the
        timer will end it: READY, or NOT_READY with AGT_WORK_TIMER_EXP)."""
        return agent.wrapup_since == agent.since and agent.state in _WRAPUP_STATES

    def _wrapup_over(self, agent: Agent, state: AgentState, since: float, seconds: float,
                     out: list[Delivery], now: float) -> None:
        """The wrap-up timer expired (reference §6.19 AGT_WORK_TIMER_EXP 32758): WORK_READY becomes READY
        (and the queues route to the agent), WORK becomes NOT_READY with reason AGT_WORK_TIMER_EXP.
        Nothing happens when the agent left that state meanwhile."""
        if agent.state is not state or agent.since != since:
            return
        ready = state is AS.AGENT_STATE_WORK_READY
        if (ready or agent.pending is _READY) and self._busy_off_acd(agent):
            # its phone is busy with a call of its own (placed from WORK_READY; a direct call): READY would leave
            # it READY and skipped by routing — a desktop and a wallboard showing an available agent while the
            # caller waits — where UCCX keeps an agent on a non-routed call out of READY (Finesse: NOT_READY "while
            # on a non-routed call", READY refused "while talking on a non-ICD call"). The mock's choice (U: no
            # source says what UCCX's timer does then): WORK_READY until that call ends, then READY (_after_call);
            # so does WORK (ucce) when the agent asked for READY after that call (_ready_after_own_call)
            if agent.pending is not _READY:
                agent.pending, agent.pending_reason = _READY, 0
            self.happenings.append({
                "what": f"agent {agent.id}: wrap-up time ({seconds:g} s) over, its phone busy with a call that is "
                        "not an ACD call: READY when it ends",
                "agent": agent.id, "state_before": state.name, "state": state.name})
            return
        target = AS.AGENT_STATE_READY if ready else AS.AGENT_STATE_NOT_READY
        self.happenings.append({  # (told first: READY may route a waiting call to the agent at once)
            "what": f"agent {agent.id}: wrap-up time ({seconds:g} s) over, {_short_state(target)}"
                    + ("" if ready else " (AGT_WORK_TIMER_EXP)"),
            "agent": agent.id, "state_before": state.name, "state": target.name})
        self._set_state(out, agent, target, 0 if ready else _AGT_WORK_TIMER_EXP, now)

    def _withdraw_offer(self, out: list[Delivery], agent: Agent, now: float) -> bool:
        """The agent's phone stops ringing before it is answered (the reserved agent's state changes, or
        its desktop is gone), as after a ring-no-answer: each ACD call ringing there leaves the phone
        (CALL_CONNECTION_CLEARED with cause CEC_CALL_NOT_ANSWERED, END_CALL to the agent's sessions) and,
        with nobody else on it, goes back to its CSQ's queue in its arrival order (:meth:`_requeue`;
        CALL_QUEUED_EVENT to the bridges); a call without a CSQ (delivered to this agent) ends. The agent's state is the
        caller's to set, and then the queues' to route (:meth:`_route_queued`): whether a call went back
        to a queue is returned."""
        requeued = False
        for call, leg in self.agent_call_legs(agent.id):
            if leg.state is not LCS.LCS_ALERTING or not leg.routed:
                continue  # (a transferred or conferenced ACD call, a consultation: rings on, Leg.routed)
            self._emit(out, call, self._conn_cleared(call, leg, leg.device, cause=_CEC_CALL_NOT_ANSWERED))
            self._take_leg(call, leg.device)
            self._end_call_for(out, call, self._sessions_of(agent))
            if call.agent_legs() or len(call.legs) > 1:
                continue  # others are still on the call (a conference): it goes on without this phone
            if call.csq_id != NONE_ID and call.legs:
                self._requeue(call)
                self._emit(out, call, self._queued_event(call), only=sorted(self.bridges))
                requeued = True
            else:
                self._finish(out, call, now)
        return requeued

    # -- call-control requests ----------------------------------------------------------------------------

    def _answer_call_req(self, out: list[Delivery], sid: int, req: M.AnswerCallReq, now: float) -> None:
        if not req.connection_device_id and not req.agent_instrument:
            # §5.3: ConnectionDeviceID and AgentInstrument are "one of 2" — "either ConnectionDeviceID or
            # AgentInstrument"; a request with neither lacks a required field (§7.1: E_CTI_REQUIRED_DATA_MISSING),
            # also from an agent-mode session, whose phone the mock could have guessed (it answered the call)
            raise Refused(failure_conf(S.E_CTI_REQUIRED_DATA_MISSING, _ANSWER_NAMES_NO_DEVICE), violation={
                "rule": "PROTO-REQUIRED-FIELD", "detail": f"ANSWER_CALL_REQ for call {req.call_id}: "
                + _ANSWER_NAMES_NO_DEVICE, "answer": "FAILURE_CONF " + _REQUIRED_MISSING_NAME,
                "answer_type": MessageType.FAILURE_CONF})
        agent, call, leg = self._one_call(sid, req, "call_id", "connection_device_id", op="Answer")
        if leg.state is not LCS.LCS_ALERTING:
            raise Refused(self._cf_refusal("no_call_to_answer", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {call.id} is not ringing at {leg.device}"))
        self._conf(out, sid, M.AnswerCallConf(invoke_id=req.invoke_id))
        self._answer(out, call, leg, now)

    def _answer(self, out: list[Delivery], call: Call, leg: Leg, now: float) -> None:
        leg.state = LCS.LCS_CONNECT
        if leg.agent is not None:
            call.answered = True
        calling = next((lg.device for lg in call.legs.values() if lg is not leg), call.ani)
        self._emit(out, call, self._established(call, leg, calling))
        agent = self.agents.get(leg.agent) if leg.agent else None
        if agent is not None and agent.state is not AS.AGENT_STATE_TALKING:
            if call.acd or agent.state is AS.AGENT_STATE_RESERVED and _routed_for(call, agent.id):
                agent.call_csq = call.csq_id
                self._set_state(out, agent, AS.AGENT_STATE_TALKING, 0, now, csq_id=call.csq_id)
            elif agent.state is _HOLD:  # (ucce) its calls were all held: it talks on this one
                self._sync_hold(out, agent, now)
            else:  # a direct call answered (another agent's, a supervisor's): TALKING under ucce
                self._talk_on_own_call(out, agent, now)
        # the caller side of an agent-placed call is connected when the far end answers
        for other in call.legs.values():
            if other.agent is not None and other is not leg and other.state is LCS.LCS_INITIATE:
                other.state = LCS.LCS_CONNECT
        self._sync_media(out, call)

    def _hold_call_req(self, out: list[Delivery], sid: int, req: M.HoldCallReq, now: float) -> None:
        agent, call, leg = self._one_call(sid, req, "call_id", "connection_device_id", op="Hold")
        if leg.state is not LCS.LCS_CONNECT:
            raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {call.id} is not connected at {leg.device}"))
        self._conf(out, sid, M.HoldCallConf(invoke_id=req.invoke_id))
        leg.state = LCS.LCS_HOLD
        self._emit(out, call, self._held(call, leg))
        self._sync_media(out, call)
        self._sync_hold(out, agent, now)

    def _retrieve_call_req(self, out: list[Delivery], sid: int, req: M.RetrieveCallReq, now: float) -> None:
        agent, call, leg = self._one_call(sid, req, "held_call_id", "held_connection_device_id", op="Retrieve")
        if leg.state is not LCS.LCS_HOLD:
            raise Refused(self._cf_refusal("no_held_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {call.id} is not held at {leg.device}"))
        if any(c.leg_of(agent.id).state is LCS.LCS_CONNECT for c in self._agent_calls(agent) if c is not call):  # type: ignore[union-attr]
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY,
                                          f"{leg.device} has another active call; use ALTERNATE_CALL_REQ"))
        self._conf(out, sid, M.RetrieveCallConf(invoke_id=req.invoke_id))
        leg.state = LCS.LCS_CONNECT
        self._emit(out, call, self._retrieved(call, leg))
        self._sync_media(out, call)
        self._sync_hold(out, agent, now)
        if agent.state is _READY and not call.acd:
            # a READY agent takes back a call of its own it held (a held call leaves it routable): it talks on a
            # non-routed call now, which UCCX does READY-less (Finesse User.States: NOT_READY "In Unified CCX
            # deployments, the user is in this state while on a non-routed call"; its READY is refused then, see
            # _ready_refused). Left READY, it was skipped by routing while desktops and wallboards showed it
            # available. NOT_READY with AGT_OFFHOOK 32762 ("agent went off-hook", §6.19: the agent took its line
            # up; which code UCCX gives is not said — the mock's choice); NOT_READY it stays after the call, as
            # after a direct call (_direct_call). Under ucce it talks (_talk_on_own_call): TALKING, READY after it
            if not self._talk_on_own_call(out, agent, now):
                self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, _AGT_OFFHOOK, now)

    def _not_itself(self, agent: Agent, dialed: str | None) -> None:
        """A phone cannot call (consult, transfer, conference to) itself, nor a number no phone can dial
        (``"+33 1 23"``, ``"abc"``: Unified CM rejects the call): CF_INVALID_CALLED_DEVICE."""
        if not dialed:
            return
        owner = self.by_device.get(dialed)
        if owner is agent:
            raise Refused(control_failure(CF.CF_INVALID_CALLED_DEVICE, CCX.CCX_INVALID_ARGUMENT,
                                          f"{dialed} is the agent's own phone"))
        if owner is None and _DIALABLE.fullmatch(dialed) is None:
            raise Refused(control_failure(CF.CF_INVALID_CALLED_DEVICE, CCX.CCX_INVALID_ARGUMENT,
                                          f"DialedNumber {dialed!r} is not a number a phone can dial "
                                          "(digits, * and #, a leading +)"))

    def _room_in_conference(self, call: Call, joining: int) -> None:
        """``joining`` more parties on ``call`` keep it within MAX_DEVICES_IN_CONFERENCE, else the refusal."""
        if len(call.legs) + joining > MAX_DEVICES_IN_CONFERENCE:
            raise Refused(self._cf_refusal(
                "conference_full", CCX.CCX_JTAPI_CCM_PROBLEM,
                f"call {call.id} has {len(call.legs)} parties: a conference has at most {MAX_DEVICES_IN_CONFERENCE} "
                "(QUERY_DEVICE_INFO_CONF MaxDevicesInConference)"))

    def _make_call_req(self, out: list[Delivery], sid: int, req: M.MakeCallReq, now: float) -> None:
        agent = self._requester_agent(sid, req)
        self._need_logged_in(agent)
        if not req.dialed_number:
            raise Refused(failure_conf(S.E_CTI_REQUIRED_DATA_MISSING, "MAKE_CALL_REQ needs DialedNumber"))
        self._may_place_call(agent, req.dialed_number)
        named, arrays = merged_named((), (), req.named_variables, req.named_arrays)
        call = self._new_call(now, CallType.CALLTYPE_AGENT_INSIDE, agent.device, dialed=req.dialed_number,
                              variables=_placed_call_data(req), named_variables=named, named_arrays=arrays)
        self._place(out, sid, call, agent, req.dialed_number, now, conf=lambda leg: M.MakeCallConf(
            invoke_id=req.invoke_id, new_call_id=call.id, new_connection_device_type=0,
            new_connection_device_id=leg.device))

    def _busy_phone(self, agent: Agent) -> bool:
        """Whether the agent's phone has a call it is talking on, dialling or ringing with (held calls aside)."""
        return any(c.leg_of(agent.id).state in (LCS.LCS_CONNECT, LCS.LCS_ALERTING, LCS.LCS_INITIATE)  # type: ignore[union-attr]
                   for c in self._agent_calls(agent))

    def _busy_destination(self, agent: Agent, dialed: str | None) -> Agent | None:
        """The other agent whose phone ``dialed`` is, when that phone is busy (:meth:`_busy_phone`): a call a
        client sends there does not ring (a UCCX agent line takes one call: QUERY_DEVICE_INFO_CONF
        MaxActiveCalls 1; the UCCX Call Consult Transfer step has a Busy outcome). The one rule for every way
        a client offers a call to an agent's phone: a call placed there (MAKE_CALL, CONSULT, a supervisor
        assist or emergency call) fails busy once dialled (:meth:`_busy`), a single-step transfer or
        conference is refused (:meth:`_refuse_busy_destination`)."""
        target = self.by_device.get(dialed) if dialed else None
        return target if target is not None and target is not agent and self._busy_phone(target) else None

    def _refuse_busy_destination(self, agent: Agent, dialed: str | None, what: str) -> None:
        """A single-step transfer or conference to a busy agent's phone (:meth:`_busy_destination`) fails as a
        request, as the JTAPI request UCCX makes of Unified CM does (CTIERR_TRANSFERFAILED_DESTINATION_BUSY,
        "attempt to transfer to a busy destination"): CONTROL_FAILURE_CONF CF_INVALID_OBJECT_STATE with
        CCX_AGENT_DEVICE_BUSY (88005, "agent device busy", as for the requester's own busy phone); the call
        stays as it was, with the requesting agent. Its phone never rang there."""
        target = self._busy_destination(agent, dialed)
        if target is not None:
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY,
                                          f"cannot {what} to {dialed}: the phone of agent {target.id} is busy "
                                          "(it has an active call)"))

    def _may_place_call(self, agent: Agent, dialed: str) -> None:
        """What a new call from the agent's phone needs (MAKE_CALL_REQ, a supervisor assist or emergency
        call without a related call): the ACD rules, another phone, a free phone, the agent NOT_READY."""
        self._guard(agent, "MakeCall", dest=dialed)
        self._not_itself(agent, dialed)
        if self._busy_phone(agent):
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY,
                                          f"{agent.device} already has an active call"))
        if agent.state not in MAKE_CALL_STATES:  # the states QUERY_DEVICE_INFO_CONF's MakeCallSetup names
            raise Refused(control_failure(
                CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                f"agent {agent.id} is {AS(agent.state).name.removeprefix('AGENT_STATE_')}: a call is placed in "
                + ", ".join(s.name.removeprefix("AGENT_STATE_") for s in MAKE_CALL_STATES)))

    def _may_consult(self, agent: Agent, active: Call, leg: Leg, dialed: str) -> None:
        """What a consultation from the agent's call needs (CONSULT_CALL_REQ, a supervisor assist or
        emergency call about that call): the ACD rules, another phone, the call connected or held, no
        second call."""
        self._guard(agent, "Consult", call=active, leg=leg, dest=dialed)
        self._not_itself(agent, dialed)
        if leg.state not in (LCS.LCS_CONNECT, LCS.LCS_HOLD):
            raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {active.id} is not connected at {leg.device}"))
        if any(c is not active and c.leg_of(agent.id) is not None for c in self._agent_calls(agent)):
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY,
                                          f"{leg.device} already has a second call"))

    def _hold_for_consult(self, out: list[Delivery], call: Call, leg: Leg) -> None:
        """A consultation holds the agent's connected call first (§7.2: CALL_HELD_EVENT, then the new call)."""
        if leg.state is LCS.LCS_CONNECT:
            leg.state = LCS.LCS_HOLD
            self._emit(out, call, self._held(call, leg))
            self._sync_media(out, call)

    def _place(self, out: list[Delivery], sid: int, call: Call, agent: Agent, dialed: str, now: float,
               conf: Callable[[Leg], Message]) -> None:
        """The agent's phone dials ``dialed``: the far end is another agent's phone (it rings there)
        or an external party (it answers after ``external_answer_delay``)."""
        leg = Leg(agent.device, agent.id, LCS.LCS_INITIATE)
        self._put_leg(call, leg)
        self._conf(out, sid, conf(leg))
        # CSQID: a consultation is about its call's CSQ (the UCCX transferred-call flow: agent 2006's consultation
        # of the CSQ 1 call has CSQID 1, ApplicationID -1); an agent's own call has none
        self._emit(out, call, M.CallServiceInitiatedEvent(
            **self._common(), connection_device_type=0, call_id=call.id,
            application_id=NONE_ID, csq_id=call.csq_id, line_type=self.config.line_type,
            calling_device_type=AGENT_DEVICE, local_connection_state=int(LCS.LCS_INITIATE),
            event_cause=int(EventCause.CEC_NONE), connection_device_id=leg.device, calling_device_id=leg.device))
        self._emit(out, call, self._originated(call, leg, dialed))
        if call.consult_of is None and not call.acd:  # a call of its own (MAKE_CALL, an assist call without one)
            self._talk_on_own_call(out, agent, now)
        self._sync_hold(out, agent, now)  # (ucce) HOLD, its calls all held, it dials: TALKING
        busy = self._busy_destination(agent, dialed)
        if busy is not None:
            self._busy(out, call, busy, dialed)
            return
        target = self.by_device.get(dialed)
        if target is not None and target is not agent:  # rings even if that agent is logged out: a phone is a phone
            self._offer(out, call, target, now)
            return
        far = Leg(dialed, None, LCS.LCS_ALERTING)
        self._put_leg(call, far)
        if call.type is CallType.CALLTYPE_AGENT_INSIDE:  # it leaves the switch: re-typed OUT (§7.2 make call)
            self._retype(out, call, CallType.CALLTYPE_OUT)
        delay = self.config.external_answer_delay
        if delay <= 0:
            self._far_answers(out, call.id, dialed, now)
        else:
            self._schedule(now + delay, lambda o, t: self._far_answers(o, call.id, dialed, t))

    def _busy(self, out: list[Delivery], call: Call, target: Agent, dialed: str) -> None:
        """The dialled agent's phone is busy (talking, dialling or ringing: QUERY_DEVICE_INFO_CONF gives it one
        active call, and a UCCX agent line takes no second incoming one — the UCCX Call Consult Transfer step
        has a "Busy" outcome for it): the call does not ring there. CALL_FAILED_EVENT (LCS_FAIL, EventCause
        CEC_BUSY, FailingDeviceID the busy phone) to the sessions that watch the call; the dialling agent hears
        busy and ends the attempt (RECONNECT_CALL_REQ or CLEAR_CONNECTION_REQ). The busy agent sees nothing."""
        self._emit(out, call, M.CallFailedEvent(
            **self._common(), connection_device_type=0, call_id=call.id, failing_device_type=AGENT_DEVICE,
            called_device_type=AGENT_DEVICE, local_connection_state=int(LCS.LCS_FAIL),
            event_cause=int(EventCause.CEC_BUSY), connection_device_id=target.device,
            failing_device_id=target.device, called_device_id=dialed))

    def _far_answers(self, out: list[Delivery], call_id: int, device: str, now: float) -> None:
        call = self.calls.get(call_id)
        if call is None or device not in call.legs:
            return
        far = call.legs[device]
        far.state = LCS.LCS_CONNECT
        caller = next((lg for lg in call.legs.values() if lg.agent is not None), None)
        if caller is not None and caller.state is LCS.LCS_INITIATE:
            caller.state = LCS.LCS_CONNECT
        self._emit(out, call, self._established(call, far, caller.device if caller else call.ani))
        self._sync_media(out, call)

    def _consult_call_req(self, out: list[Delivery], sid: int, req: M.ConsultCallReq, now: float) -> None:
        agent = self._requester_agent(sid, req, fields=("active_connection_device_id",))
        active = self._lookup_call(req.active_call_id)
        leg = self._my_leg(active, agent, req.active_connection_device_id)
        if not req.dialed_number:
            raise Refused(failure_conf(S.E_CTI_REQUIRED_DATA_MISSING, "CONSULT_CALL_REQ needs DialedNumber"))
        self._may_consult(agent, active, leg, req.dialed_number)
        # the consultation starts with the call's data, and the request's own over it (§5.3: CONSULT_CALL_REQ
        # carries call variables, UserToUserInfo, CallWrapupData, named variables and arrays for it)
        named, arrays = merged_named(active.named_variables, active.named_arrays,
                                     req.named_variables, req.named_arrays)
        self._hold_for_consult(out, active, leg)
        consult = self._new_call(now, CallType.CALLTYPE_CONSULT, agent.device, dialed=req.dialed_number,
                                 consult_of=active.id, csq_id=active.csq_id,
                                 variables={**active.variables, **_placed_call_data(req)},
                                 named_variables=named, named_arrays=arrays)
        self._place(out, sid, consult, agent, req.dialed_number, now, conf=lambda lg: M.ConsultCallConf(
            invoke_id=req.invoke_id, new_call_id=consult.id, new_connection_device_type=0,
            new_connection_device_id=lg.device))

    def _two_calls(self, agent: Agent, held_id: int | None, active_id: int | None, op: str) -> tuple[Call, Call]:
        held = self._lookup_call(held_id)
        active = self._lookup_call(active_id)
        if held is active:
            # one call named twice (a transfer or conference without a consultation): the ACD rules judge it
            # first, as they judge every request before the center acts — Transfer, Alternate and ReConnect
            # refuse a `line` equal to `dest` (ACD-1153, ACD-1150, ACD-1144), Conference the one-call state
            # (ACD-1133) —, so the client's mistake is a violation in the report, not only a refusal
            leg = active.leg_of(agent.id)
            if leg is not None:
                self._guard(agent, op, call=active, leg=leg, other=held, other_leg=leg)
            raise Refused(control_failure(CF.CF_INVALID_CSTA_CALL_ID, CCX.CCX_INVALID_ARGUMENT,
                                          "the held and the active call are the same call"))
        return held, active

    def _transfer_call_req(self, out: list[Delivery], sid: int, req: M.TransferCallReq, now: float) -> None:
        agent = self._requester_agent(sid, req, fields=("active_connection_device_id", "held_connection_device_id"))
        if req.held_call_id in (None, NONE_ID):
            if req.dialed_number:
                return self._blind_transfer(out, sid, req, agent, req.dialed_number, now)
            raise self._single_step_without_number(req)
        held, active = self._two_calls(agent, req.held_call_id, req.active_call_id, "Transfer")
        hleg = self._my_leg(held, agent, req.held_connection_device_id)
        aleg = self._my_leg(active, agent, req.active_connection_device_id)
        self._guard(agent, "Transfer", call=active, leg=aleg, other=held, other_leg=hleg)
        others = [lg for lg in active.legs.values() if lg is not aleg]
        if hleg.state is not LCS.LCS_HOLD or not others:
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                                          "transfer needs the original call held and the consultation call set up"))
        data = self._joined_data(held, active, req)
        # the consulted parties join the held call; the transferring agent leaves both
        before = self._interested(active)
        knew = set(held.told)
        update = self._set_joined_data(held, data)
        self._drop_quietly(held, hleg)
        self._drop_quietly(active, aleg)
        for lg in others:
            self._take_leg(active, lg.device)
            self._put_leg(held, lg)
            if lg.agent is not None:  # now on the transferred call, not a consultation any more
                self.agents[lg.agent].consult_offer = False
            if lg.state is LCS.LCS_ALERTING:  # transferred while the consulted phone still rings
                self._emit(out, held, self._delivered(held, lg, agent.device), keyed=True)
        self._keep_consulted(held, active, others)
        self._conf(out, sid, M.TransferCallConf(
            invoke_id=req.invoke_id, new_call_id=held.id, new_connection_device_type=0,
            new_connection_device_id=others[0].device, parties=self._parties(held)))
        ev = M.CallTransferredEvent(
            **self._common(), primary_device_type=0, primary_call_id=held.id, line_type=self.config.line_type,
            skill_group_number=NONE_ID, skill_group_id=NONE_ID, skill_group_priority=0, secondary_device_type=0,
            secondary_call_id=active.id, transferring_device_type=AGENT_DEVICE,
            transferred_device_type=self._dev_type(others[0]), local_connection_state=int(LCS.LCS_CONNECT),
            event_cause=int(EventCause.CEC_TRANSFER), primary_device_id=held.ani, secondary_device_id=others[0].device,
            transferring_device_id=agent.device, transferred_device_id=others[0].device, parties=self._parties(held))
        held_watchers = self._interested(held)
        self._emit(out, held, ev, only=sorted(set(held_watchers) | set(before) | self._sessions_of(agent)))
        self._emit(out, held, self._conn_cleared(held, hleg, agent.device))
        self._end_call_for(out, held, self._sessions_of(agent))
        self._finish(out, active, now)
        self._sync_media(out, held)  # the consulted party talks on the transferred call now
        call_type = held.type
        if len(held.legs) > 2:
            # three parties or more on the call once transferred — the held call was a conference (one the agent
            # set up, a supervisor's barge-in), or the consultation was (a supervisor barged in on it): its parties
            # talk through the conference bridge, a conferenced call (§6.17: "transferred/conferenced ACD calls =
            # TRANSFER_IN/CONFERENCE"), not a transferred one — it was typed TRANSFER_IN with three parties on it,
            # and its line states were a two-party call's once one left
            held.conferenced = True
            call_type = CallType.CALLTYPE_CONFERENCE
        elif held.acd:  # a transferred ACD call is TRANSFER_IN (§6.17), for every session that knows it
            call_type = CallType.CALLTYPE_TRANSFER_IN
        # §7.2 consult + transfer: one CALL_DATA_UPDATE_EVENT after CALL_TRANSFERRED_EVENT, the merged data and
        # the new CallType together (the consulted party's BEGIN_CALL had the data: the re-typing alone)
        self._retype(out, held, call_type, update=update, updated=knew & held.told)
        self._after_call(out, agent, now)

    def _keep_consulted(self, held: Call, consult: Call, legs: list[Leg]) -> None:
        """A consultative transfer or conference moved the parties ``legs`` of the consultation ``consult`` to the
        call it was placed from, ``held``. When that call is no ACD call (the consulting agent's own: MAKE_CALL, a
        direct call), the agents among them the consultation reserved or made TALKING stay on a call about that
        consultation (:attr:`Call.consulted`): TALKING on it (once answered, if it still rang), the after-call state
        when they leave it, as the README's consultations rule has it ("whose consultation became the transferred or
        conferenced call, takes the after-call state"). Left out: one on the consultation as on a call of its own
        (ucce, :attr:`Agent.own_call_from`: a supervisor that barged in), one it did not reserve (NOT_READY under
        uccx: a supervisor that barged in), and two calls of the agent's own merged (acd_rules off)."""
        if (held.acd or held.consult_of is not None or held.type is CallType.CALLTYPE_CONSULT
                or consult.consult_of is None and consult.type is not CallType.CALLTYPE_CONSULT):
            return  # an ACD call (or a consultation) keeps them TALKING already; no consultation merged
        kept = {lg.agent for lg in legs if lg.agent is not None and self.agents[lg.agent].own_call_from is None
                and self.agents[lg.agent].state in _CONSULTED_STATES}
        if kept:
            held.consulted = held.consulted | kept

    @staticmethod
    def _single_step_without_number(req: M.TransferCallReq | M.ConferenceCallReq) -> Refused:
        """A single-step TRANSFER_CALL_REQ or CONFERENCE_CALL_REQ (HeldCallID 0xFFFFFFFF, §5.3) without its
        DialedNumber, the field §5.3 requires then ("single-step": the number to conference in, the
        blind-transfer destination): a required field missing, FAILURE_CONF E_CTI_REQUIRED_DATA_MISSING (§7.1),
        journalled PROTO-REQUIRED-FIELD. 0xFFFFFFFF marks the request single-step; it names no call, so it is no
        E_CTI_INVALID_CALLID (what the mock answered, looking the number up as the held call)."""
        text = (f"{req.TYPE.name} with HeldCallID 0xFFFFFFFF (single-step) needs DialedNumber (tag 11), "
                "the number to connect; it had none")
        return Refused(failure_conf(S.E_CTI_REQUIRED_DATA_MISSING, text), violation={
            "rule": "PROTO-REQUIRED-FIELD", "detail": text, "answer": "FAILURE_CONF " + _REQUIRED_MISSING_NAME,
            "answer_type": MessageType.FAILURE_CONF})

    def _blind_transfer(self, out: list[Delivery], sid: int, req: M.TransferCallReq, agent: Agent, dialed: str,
                        now: float) -> None:
        """Single-step transfer (ICM rule, U for UCCX): HeldCallID 0xFFFFFFFF, DialedNumber = destination."""
        call = self._lookup_call(req.active_call_id)
        leg = self._my_leg(call, agent, req.active_connection_device_id)
        self._guard(agent, "Connect", call=call, leg=leg, dest=dialed)
        self._not_itself(agent, dialed)
        if leg.state not in (LCS.LCS_CONNECT, LCS.LCS_HOLD):
            raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {call.id} is not connected at {leg.device}"))
        self._refuse_busy_destination(agent, dialed, f"transfer call {call.id}")
        data = self._joined_data(call, None, req)
        target = self.by_device.get(dialed)
        # the parties of the call once transferred (as a consultative transfer's): the others and the destination
        parties = (*(p for p in self._parties(call) if p.connected_party_device_id != leg.device),
                   M.ConnectedParty(connected_party_call_id=call.id,
                                    connected_party_device_type=AGENT_DEVICE if target else EXTERNAL_DEVICE,
                                    connected_party_device_id=dialed))
        self._conf(out, sid, M.TransferCallConf(invoke_id=req.invoke_id, new_call_id=call.id,
                                                new_connection_device_type=0,
                                                new_connection_device_id=dialed, parties=parties))
        mine = self._sessions_of(agent)
        knew = set(call.told)
        update = self._set_joined_data(call, data)
        self._drop_quietly(call, leg)
        ev = M.CallTransferredEvent(
            **self._common(), primary_device_type=0, primary_call_id=call.id, line_type=self.config.line_type,
            skill_group_number=NONE_ID, skill_group_id=NONE_ID, skill_group_priority=0, secondary_device_type=NONE_SHORT,
            secondary_call_id=NONE_ID, transferring_device_type=AGENT_DEVICE,
            transferred_device_type=AGENT_DEVICE if target else EXTERNAL_DEVICE, local_connection_state=int(LCS.LCS_NULL),
            event_cause=int(EventCause.CEC_TRANSFER),  # 1028 CECX_BLIND_TRANSFER is reserved in UCCX (§6.11)
            primary_device_id=call.ani, secondary_device_id="",
            transferring_device_id=agent.device, transferred_device_id=dialed, parties=parties)
        watchers = sorted(set(self._interested(call)) | mine)
        self._emit(out, call, ev, only=watchers)
        # the transferring agent's connection is gone, as after a consultative transfer (§7.2)
        self._emit(out, call, self._conn_cleared(call, leg, agent.device), only=watchers)
        self._sync_media(out, call)
        self._end_call_for(out, call, mine)
        # a transferred ACD call is TRANSFER_IN (§6.17), to an agent or to a number outside alike; the request's
        # call data, if it changed any, goes in the same one CALL_DATA_UPDATE_EVENT (§5.4: one change, one event)
        if call.acd:
            self._retype(out, call, CallType.CALLTYPE_TRANSFER_IN, update=update, updated=knew & call.told)
        elif update is not None:
            self._emit(out, call, update, only=sorted(knew & call.told))
        if target is not None:
            self._offer(out, call, target, now)
        else:
            self._put_leg(call, Leg(dialed, None, LCS.LCS_CONNECT))
        self._after_call(out, agent, now)

    def _conference_call_req(self, out: list[Delivery], sid: int, req: M.ConferenceCallReq, now: float) -> None:
        if req.held_call_id in (None, NONE_ID):
            if req.dialed_number:
                return self._blind_conference(out, sid, req, req.dialed_number, now)
            raise self._single_step_without_number(req)
        agent, held, hleg, active, aleg = self._held_and_active(sid, req, op="Conference")
        others = [lg for lg in active.legs.values() if lg is not aleg]
        if hleg.state is not LCS.LCS_HOLD or not others or any(lg.state is not LCS.LCS_CONNECT for lg in others):
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                                          "conference needs the original call held and the consulted party connected"))
        self._room_in_conference(held, len(others))
        data = self._joined_data(held, active, req)
        before = self._interested(active)
        knew = set(held.told)
        update = self._set_joined_data(held, data)
        self._drop_quietly(active, aleg)
        for lg in others:
            self._take_leg(active, lg.device)
            self._put_leg(held, lg)
        self._keep_consulted(held, active, others)
        hleg.state = LCS.LCS_CONNECT
        held.conferenced = True
        self._conf(out, sid, M.ConferenceCallConf(
            invoke_id=req.invoke_id, new_call_id=held.id, new_connection_device_type=0,
            new_connection_device_id=agent.device, parties=self._parties(held)))
        ev = M.CallConferencedEvent(
            **self._common(), primary_device_type=0, primary_call_id=held.id, line_type=self.config.line_type,
            skill_group_number=NONE_ID, skill_group_id=NONE_ID, skill_group_priority=0, secondary_device_type=0,
            secondary_call_id=active.id, controller_device_type=AGENT_DEVICE,
            added_party_device_type=self._dev_type(others[0]), local_connection_state=int(LCS.LCS_CONNECT),
            event_cause=int(EventCause.CEC_NONE), primary_device_id=held.ani, secondary_device_id=others[0].device,
            controller_device_id=agent.device, added_party_device_id=others[0].device, parties=self._parties(held))
        self._emit(out, held, ev, only=sorted(set(self._interested(held)) | set(before)))
        self._finish(out, active, now)
        self._sync_hold(out, agent, now)  # (ucce) both calls were held (Line2AllHeld): HOLD, talking again now
        self._sync_media(out, held)  # the parties talk through the conference bridge now
        # §7.2 consult + conference: one CALL_DATA_UPDATE_EVENT, the merged data and the new CallType together
        self._retype(out, held, CallType.CALLTYPE_CONFERENCE, update=update, updated=knew & held.told)

    def _blind_conference(self, out: list[Delivery], sid: int, req: M.ConferenceCallReq, dialed: str,
                          now: float) -> None:
        """Single-step conference (§5.3 CONFERENCE_CALL_REQ: HeldCallID 0xFFFFFFFF, HeldConnectionDeviceType
        0xFFFF, DialedNumber = the number to conference in): the number joins the agent's active call. An
        agent's phone rings (BEGIN_CALL, CALL_DELIVERED to its desktop, RESERVED for an ACD call) and joins
        when it answers; any other number answers (after ``external_answer_delay``). CALL_CONFERENCED_EVENT
        follows the CALL_DELIVERED_EVENT (§5.4: "even for blind conference"); no secondary call. The ACD
        rules read it as the seed's Bridge (add ``dest`` to the call ``line``; §3.3: Line1Connected →
        Line2Conferenced)."""
        agent = self._requester_agent(sid, req, fields=("active_connection_device_id",))
        call = self._lookup_call(req.active_call_id)
        leg = self._my_leg(call, agent, req.active_connection_device_id)
        self._guard(agent, "Bridge", call=call, leg=leg, dest=dialed)
        self._not_itself(agent, dialed)
        if leg.state is not LCS.LCS_CONNECT:
            raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {call.id} is not connected at {leg.device}"))
        target = self.by_device.get(dialed)
        if dialed in call.legs or (target is not None and call.leg_of(target.id) is not None):
            raise Refused(control_failure(CF.CF_INVALID_CALLED_DEVICE, CCX.CCX_INVALID_ARGUMENT,
                                          f"{dialed} is already on call {call.id}"))
        self._room_in_conference(call, 1)
        self._refuse_busy_destination(agent, dialed, f"conference call {call.id}")
        data = self._joined_data(call, None, req)
        added_type = AGENT_DEVICE if target else EXTERNAL_DEVICE
        added = M.ConnectedParty(connected_party_call_id=call.id, connected_party_device_type=added_type,
                                 connected_party_device_id=target.device if target else dialed)
        self._conf(out, sid, M.ConferenceCallConf(
            invoke_id=req.invoke_id, new_call_id=call.id, new_connection_device_type=0,
            new_connection_device_id=agent.device, parties=(*self._parties(call), added)))
        knew = set(call.told)
        update = self._set_joined_data(call, data)  # before the offer: an added agent's BEGIN_CALL carries it
        if target is not None:
            self._offer(out, call, target, now)
        else:
            self._put_leg(call, Leg(dialed, None, LCS.LCS_ALERTING))
        call.conferenced = True
        self._emit(out, call, M.CallConferencedEvent(
            **self._common(), primary_device_type=0, primary_call_id=call.id, line_type=self.config.line_type,
            skill_group_number=NONE_ID, skill_group_id=NONE_ID, skill_group_priority=0,
            secondary_device_type=NONE_SHORT, secondary_call_id=NONE_ID, controller_device_type=AGENT_DEVICE,
            added_party_device_type=added_type, local_connection_state=int(LCS.LCS_CONNECT),
            event_cause=int(EventCause.CEC_NONE), primary_device_id=call.ani, secondary_device_id="",
            controller_device_id=agent.device, added_party_device_id=added.connected_party_device_id,
            parties=self._parties(call)))
        # one CALL_DATA_UPDATE_EVENT after CALL_CONFERENCED_EVENT (§7.2 conference), the request's call data that
        # changed and the new CallType together (§5.4: one change, one event); an added agent: the re-typing alone
        self._retype(out, call, CallType.CALLTYPE_CONFERENCE, update=update, updated=knew & call.told)
        if target is None:
            delay = self.config.external_answer_delay
            if delay <= 0:
                self._far_answers(out, call.id, dialed, now)
            else:
                self._schedule(now + delay, lambda o, t: self._far_answers(o, call.id, dialed, t))

    def _alternate_call_req(self, out: list[Delivery], sid: int, req: M.AlternateCallReq, now: float) -> None:
        agent = self._requester_agent(sid, req, fields=("active_connection_device_id",))
        active, other = self._two_calls(agent, req.active_call_id, req.other_call_id, "Alternate")
        aleg = self._my_leg(active, agent, req.active_connection_device_id)
        oleg = self._my_leg(other, agent, req.other_connection_device_id)
        self._guard(agent, "Alternate", call=active, leg=aleg, other=other, other_leg=oleg)
        if aleg.state is not LCS.LCS_CONNECT or oleg.state is not LCS.LCS_HOLD:
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                                          "alternate needs one active and one held call"))
        self._conf(out, sid, M.AlternateCallConf(invoke_id=req.invoke_id))
        aleg.state, oleg.state = LCS.LCS_HOLD, LCS.LCS_CONNECT
        self._emit(out, active, self._held(active, aleg))
        self._sync_media(out, active)
        self._emit(out, other, self._retrieved(other, oleg))
        self._sync_media(out, other)

    def _reconnect_call_req(self, out: list[Delivery], sid: int, req: M.ReconnectCallReq, now: float) -> None:
        agent, held, hleg, active, aleg = self._held_and_active(sid, req, op="ReConnect")
        if hleg.state is not LCS.LCS_HOLD:
            raise Refused(self._cf_refusal("no_held_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {held.id} is not held at {hleg.device}"))
        self._conf(out, sid, M.ReconnectCallConf(invoke_id=req.invoke_id))
        # one step for the agent: its phone is left with the held call alone only between the two halves, so
        # under ucce no HOLD then (a desktop saw AGENT_STATE_EVENT HOLD, then TALKING); it talks on, or, were
        # it out of TALKING now, it is in the state the cleared call left it
        self._hold_settling = agent
        try:
            self._drop_leg(out, active, aleg, now)
        finally:
            self._hold_settling = None
        hleg.state = LCS.LCS_CONNECT
        self._emit(out, held, self._retrieved(held, hleg))
        self._sync_media(out, held)
        self._sync_hold(out, agent, now)

    def _clear_connection_req(self, out: list[Delivery], sid: int, req: M.ClearConnectionReq, now: float) -> None:
        agent, call, leg = self._one_call(sid, req, "call_id", "connection_device_id", op="ClearConnection")
        self._conf(out, sid, M.ClearConnectionConf(invoke_id=req.invoke_id))
        self._drop_leg(out, call, leg, now)

    def _clear_call_req(self, out: list[Delivery], sid: int, req: M.ClearCallReq, now: float) -> None:
        agent, call, leg = self._one_call(sid, req, "call_id", "connection_device_id", op="ClearCall")
        self._conf(out, sid, M.ClearCallConf(invoke_id=req.invoke_id))
        agents = [(self.agents[lg.agent], lg.agent != agent.id and self._consulted(call, lg))  # type: ignore[index]  # (agent_legs: legs with an agent)
                  for lg in call.agent_legs()]
        for lg in list(call.legs.values()):
            self._emit(out, call, self._conn_cleared(call, lg, agent.device))
        self._finish(out, call, now)
        for a, cancelled in agents:
            self._after_call(out, a, now, consult_cancelled=cancelled)

    def _send_dtmf_signal_req(self, out: list[Delivery], sid: int, req: M.SendDtmfSignalReq, now: float) -> None:
        agent, call, leg = self._one_call(sid, req, "call_id", "connection_device_id")
        if leg.state is not LCS.LCS_CONNECT:
            raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"call {call.id} is not connected at {leg.device}"))
        if not req.dtmf_string or any(ch not in "0123456789*#ABCDabcd" for ch in req.dtmf_string):
            raise Refused(control_failure(CF.CF_VALUE_OUT_OF_RANGE, CCX.CCX_INVALID_ARGUMENT,
                                          f"invalid DTMF digits {req.dtmf_string!r}"))
        self._conf(out, sid, M.SendDtmfSignalConf(invoke_id=req.invoke_id))

    def _bad_call_req(self, out: list[Delivery], sid: int, req: M.BadCallReq, now: float) -> None:
        """A report of bad voice quality, for the server's log (§5.5): BAD_CALL_CONF; the report is
        journalled as a happening. A CallID (0xFFFFFFFF: none) must name a call of the center. The agent data
        is checked as for the other requests (§7.1): an agent-mode session reports for its own agent, whose phone
        ConnectionDeviceID is ("the connection between the call and the agent's device", the UCCX page), another
        AgentID or phone being E_CTI_INVALID_AGENT_DATA; a bridge's AgentID must be a known agent
        (E_CTI_INVALID_AGENT_DATA); the agent must be logged on (E_CTI_AGENT_NOT_LOGGED_ON)."""
        sub = self.subs.get(sid)
        own = sub is not None and sub.mode == "agent" and bool(sub.agent_id)
        if own or req.agent_id:
            agent = self._requester_agent(sid, req)
            if own:
                self._my_phone(agent, req.connection_device_id)
            self._need_logged_in(agent)
        if req.call_id not in (None, NONE_ID):
            self._lookup_call(req.call_id)
        self._conf(out, sid, M.BadCallConf(invoke_id=req.invoke_id))
        self.happenings.append({"what": "bad call reported", "call_id": None if req.call_id == NONE_ID else req.call_id,
                                "device": req.connection_device_id, "agent": req.agent_id})

    def _set_call_data_req(self, out: list[Delivery], sid: int, req: M.SetCallDataReq, now: float) -> None:
        call = self._lookup_call(req.call_id)
        sub = self.subs.get(sid)
        if sub is not None and sub.mode == "agent":
            # an agent desktop sets the data of its own phone's calls (§7.1 delivery: it sees only those);
            # a bridge (a recorder, a wallboard) may set any call's, naming one of its connections
            agent = self._requester_agent(sid, req, fields=("connection_device_id",))
            self._my_leg(call, agent, req.connection_device_id)
        else:
            self._connection_of(call, req.connection_device_id)
        call_type = self._set_call_type(sub, req.call_type)
        named, arrays = merged_named(call.named_variables, call.named_arrays, req.named_variables, req.named_arrays)
        # "Changes to the call context data generate a CALL_DATA_UPDATE_EVENT to the client that contains only the
        # items that have changed" (§5.4, the UCCX page): an item set to the value it has is none, and a request
        # that changes nothing is confirmed with no event
        now_set = {"ani": call.ani, "dnis": call.dnis, "dialed_number": call.dialed}
        changed = {k: v for k in (*CALL_DATA_KEYS, "ani", "dnis", "dialed_number")
                   if (v := getattr(req, k, None)) is not None
                   and v != (now_set[k] if k in now_set else call.variables.get(k))}
        new_named = tuple(v for v in req.named_variables or () if v not in call.named_variables)
        new_arrays = tuple(a for a in req.named_arrays or () if a not in call.named_arrays)
        for k, v in changed.items():
            if k == "ani":
                call.ani = v
            elif k == "dnis":
                call.dnis = v
            elif k == "dialed_number":
                call.dialed = v
            else:
                call.variables[k] = v
        call.named_variables, call.named_arrays = named, arrays
        retyped = call_type is not None and call_type is not call.shown_type
        if retyped:
            call.set_type = None if call_type is call.type else call_type
        self._conf(out, sid, M.SetCallDataConf(invoke_id=req.invoke_id))
        if changed or new_named or new_arrays or retyped:
            # (one event: the new CallType in its fixed part and the data that changed; a re-typing alone carries
            # no data, as :meth:`_retype`'s; every session that sees the call's events gets it, so all of them
            # hold the same CallType)
            self._emit(out, call, self._data_update(call, changed, new_named, new_arrays))

    def _set_call_type(self, sub: Subscription | None, value: int) -> CallType | None:
        """The CallType a SET_CALL_DATA_REQ gives its call (CenterConfig.set_call_data_call_type, U): None for
        none — 0 (CALLTYPE_INVALID, what a request with no type to set carries) or ``"ignore"``. A value the
        session's profile does not name (§6.17: under uccx one UCCX lists as reserved) is refused before the
        request changes anything: FAILURE_CONF, the profile's status (UCCX E_CTI_UNSPECIFIED_FAILURE, ICM
        E_CTI_INVALID_CALL_TYPE)."""
        if not value or self.config.set_call_data_call_type == "ignore":
            return None
        prof = sub.profile if sub is not None else UCCX
        if value not in (_ICM_CALL_TYPES if prof.icm else UCCX_CALL_TYPES):
            raise Refused(failure_conf(prof.status("call_type"),
                                       f"CallType {value} is not a call type {prof.system_name} defines"))
        return CallType(value)

    def _data_update(self, call: Call, changed: Mapping[str, Any] | None = None, named: tuple = (),
                     arrays: tuple = ()) -> Message:
        """CALL_DATA_UPDATE_EVENT for the call as it is now (its CallType in the fixed part) with the
        items that changed: "only changed items are sent" (§5.4) — what a SET_CALL_DATA_REQ set
        (``changed``, its named variables ``named`` and array elements ``arrays``), nothing of the call's data
        for a re-typing."""
        return M.CallDataUpdateEvent(
            **self._common(), call_type=int(call.shown_type), connection_device_type=0, call_id=call.id,
            new_connection_device_type=0, new_call_id=call.id, called_party_disposition=0, campaign_id=0,
            query_rule_id=0, connection_device_id=next(iter(call.legs), call.ani),
            new_connection_device_id=next(iter(call.legs), call.ani), named_variables=named, named_arrays=arrays,
            **(changed or {}))

    def _joined_data(self, call: Call, consult: Call | None,
                     req: M.TransferCallReq | M.ConferenceCallReq) -> tuple[dict[str, str | bytes], tuple, tuple] | None:
        """The call data ``call`` carries once a TRANSFER_CALL_REQ or CONFERENCE_CALL_REQ completes: the
        consultation's data (``consult``: it began as a copy of the call's, with what CONSULT_CALL_REQ and
        SET_CALL_DATA_REQ set on it since — what the consulted party was shown) over the call's, then the
        request's own call variables, CallWrapupData, UserToUserInfo, named variables and arrays (§5.3: both
        requests carry them for the resulting call). Only computed: a refusal (named data past 2,000 bytes)
        comes before the request changes anything; :meth:`_set_joined_data` applies it. None: nothing to join
        (a single-step request without call data, the usual)."""
        placed = _placed_call_data(req)
        if consult is None and not (placed or req.named_variables or req.named_arrays):
            return None
        variables = {**call.variables, **(consult.variables if consult is not None else {}), **placed}
        named, arrays = call.named_variables, call.named_arrays
        if consult is not None:
            named, arrays = merged_named(named, arrays, consult.named_variables, consult.named_arrays)
        named, arrays = merged_named(named, arrays, req.named_variables, req.named_arrays)
        return variables, named, arrays

    def _set_joined_data(self, call: Call, data: tuple[dict[str, str | bytes], tuple, tuple] | None) -> Message | None:
        """Give ``call`` the data of :meth:`_joined_data`; the CALL_DATA_UPDATE_EVENT with the items that
        changed (None when nothing did), for the sessions that knew the call before (a session told of the
        call from now on reads all of it in its BEGIN_CALL_EVENT)."""
        if data is None:
            return None
        variables, named, arrays = data
        changed = {k: v for k, v in variables.items() if call.variables.get(k) != v}
        new_named = tuple(v for v in named if v not in call.named_variables)
        new_arrays = tuple(a for a in arrays if a not in call.named_arrays)
        call.variables, call.named_variables, call.named_arrays = variables, named, arrays
        if not (changed or new_named or new_arrays):
            return None
        return self._data_update(call, changed, new_named, new_arrays)

    def _retype(self, out: list[Delivery], call: Call, call_type: CallType, *, update: Message | None = None,
                updated: set[int] | frozenset[int] = frozenset()) -> None:
        """The call is classified anew (§6.17: an agent call leaving the switch is OUT, a transferred
        ACD call TRANSFER_IN, a conferenced one CONFERENCE): CALL_DATA_UPDATE_EVENT to the sessions
        that know the call, so that every one of them has the same CallType. ``update``: the same step's
        CALL_DATA_UPDATE_EVENT with the call data that changed (:meth:`_set_joined_data`), for the sessions
        ``updated``; it goes out carrying the new CallType, one event for the one change of the call's
        context ("only the items that have changed", §5.4), the others get the re-typing alone."""
        before = call.shown_type
        if call_type is not call.type:  # classified anew: a CallType a client set (SET_CALL_DATA_REQ) is replaced
            call.type, call.set_type = call_type, None
        retyped = call.shown_type is not before
        if update is not None:
            if retyped:
                update = replace(update, call_type=int(call.shown_type))
            if updated:
                self._emit(out, call, update, only=sorted(updated))
        if retyped and call.told:  # (nobody knows the call — no bridge, its agent gone: no event to build)
            rest = call.told - updated if update is not None else call.told
            if rest:
                self._emit(out, call, self._data_update(call), only=sorted(rest))

    def _query_device_info_req(self, out: list[Delivery], sid: int, req: M.QueryDeviceInfoReq, now: float) -> None:
        dev = req.agent_instrument or (self.subs[sid].agent_instrument if sid in self.subs else None)
        if not dev or dev not in self.by_device:
            raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA, f"unknown device {dev!r}"))
        # a UCCX agent phone: one active call, one held (consultation), a conference of 4. The reserved ICM
        # fields keep the values UCCX sends (reference §5.3 QUERY_DEVICE_INFO_CONF, the UCCX page: PeripheralType,
        # TypeOfDevice and ClassOfDevice -1, NumLines 0), the message's defaults: not the events' PeripheralType 21.
        # Under ucce PeripheralType is ICM's "the type of the peripheral": the events' (peripheral_type()), and
        # TypeOfDevice / ClassOfDevice ICM values (ICM_TYPE_OF_DEVICE, ICM_CLASS_OF_DEVICE)
        icm = sid in self.subs and self.subs[sid].profile.icm
        icm_fields: dict[str, Any] = {"peripheral_type": self.peripheral_type(True), "type_of_device": ICM_TYPE_OF_DEVICE,
                                      "class_of_device": ICM_CLASS_OF_DEVICE} if icm else {}
        self._conf(out, sid, M.QueryDeviceInfoConf(
            invoke_id=req.invoke_id, max_active_calls=1, max_held_calls=1,
            max_devices_in_conference=MAX_DEVICES_IN_CONFERENCE,
            make_call_setup=ICM_MAKE_CALL_SETUP if icm else MAKE_CALL_SETUP, **icm_fields))

    def _snapshot_device_req(self, out: list[Delivery], sid: int, req: M.SnapshotDeviceReq, now: float) -> None:
        # a supervisor's desktop may snapshot the phones of its team (:meth:`_team_member`, the team rule of its
        # SET/QUERY_AGENT_STATE_REQ): SUPERVISE_CALL_REQ needs the agent's AgentCallID, which its desktop is told of
        # by no event (UCCX has no agent-team monitor) — a Finesse supervisor barges in on a team member's dialog.
        # Another team's phone: E_CTI_INVALID_AGENT_DATA; any other agent-mode session its own phone only.
        agent = self._team_member(sid, req) or self._requester_agent(sid, req)
        calls = tuple(M.DeviceCall(call_connection_call_id=c.id, call_connection_device_type=0,
                                   call_connection_device_id=agent.device, call_state=int(c.leg_of(agent.id).state))  # type: ignore[union-attr]
                      for c in self._agent_calls(agent))
        self._conf(out, sid, M.SnapshotDeviceConf(invoke_id=req.invoke_id, calls=calls))

    def _snapshot_call_req(self, out: list[Delivery], sid: int, req: M.SnapshotCallReq, now: float) -> None:
        call = self._lookup_call(req.call_id)
        sub = self.subs.get(sid)
        self._conf(out, sid, M.SnapshotCallConf(
            # CallType: the call's under ICM; the UCCX page prints "This value is set to 0."
            invoke_id=req.invoke_id, call_type=int(call.shown_type) if sub is not None and sub.profile.icm else 0,
            called_party_disposition=0,
            ani=call.ani, dnis=call.dnis or None, dialed_number=call.dialed or None,
            named_variables=call.named_variables, named_arrays=call.named_arrays,
            **_snapshot_call_key(sub),
            call_devices=tuple(M.CallDevice(call_connection_call_id=call.id, call_connection_device_type=0,
                                            call_connection_device_id=lg.device, call_device_type=self._dev_type(lg),
                                            call_device_id=lg.device, call_device_connection_state=int(lg.state))
                               for lg in call.legs.values()),
            **self._vars(call)))

    # -- supervisor requests (reference §5.5, §7.2 supervisor functions) ------------------------------------

    def _sup_refused(self, sid: int, key: str, text: str) -> Refused:
        """The refusal ``key`` of a supervisor request (:data:`_SUPERVISOR_REFUSALS`): by the center's
        ``control_failure_codes``; a session of the ucce profile gets ICM's E_CTI_SUPERVISOR_NOT_FOUND, the
        status ICM defines and UCCX reserves (as for the profile's other statuses, ``Profile.status``). A
        SupervisoryAction not simulated keeps the center's choice: ICM's 1 and 2 are no invalid action."""
        sub = self.subs.get(sid)
        table = _SUPERVISOR_REFUSALS["icm"] if sub is not None and sub.profile.icm and key != "bad_action" \
            else self._sup_refusal
        return Refused(table[key](text))

    def _bad_supervisory_action(self, sid: int, action: int) -> Refused:
        """A SupervisoryAction the mock does not simulate. UCCX documents 0 CLEAR, 3 BARGE_IN and 4 INTERCEPT: the
        center's ``bad_action`` refusal says so. ICM defines 1 SUPERVISOR_MONITOR and 2 SUPERVISOR_WHISPER too
        (reference §6.20): a ucce session gets a Text that names ICM's values and says which ones the mock
        simulates, and a value ICM does not define (5 and above) ICM's E_CTI_INVALID_SUPERVISORY_ACTION (82,
        reserved in UCCX), as for ICM's other statuses (``Profile.status``); ICM's 1 and 2, no invalid action
        there, keep the center's choice."""
        sub = self.subs.get(sid)
        if sub is None or not sub.profile.icm:
            return self._sup_refused(sid, "bad_action", f"SupervisoryAction {action} is not simulated; UCCX "
                                                        f"documents 0 CLEAR, 3 BARGE_IN, 4 INTERCEPT")
        try:
            name = SupervisoryAction(action).name
        except ValueError:
            return Refused(_SUPERVISOR_REFUSALS["icm"]["bad_action"](
                f"SupervisoryAction {action} is not defined; ICM defines 0 CLEAR, 1 MONITOR, 2 WHISPER, "
                f"3 BARGE_IN, 4 INTERCEPT"))
        return self._sup_refused(sid, "bad_action", f"SupervisoryAction {action} ({name}) is not simulated; "
                                                    f"mockcti simulates 0 CLEAR, 3 BARGE_IN, 4 INTERCEPT")

    def _team_supervisor(self, sid: int, agent: Agent) -> Agent:
        """The supervisor an assist or emergency call of ``agent`` goes to: a supervisor of the agent's team
        (``supervisor = true`` in the center file) that is available — logged in, its phone not talking,
        dialling or ringing — the team's primary one (the first configured) first (UCCX: "once an
        available supervisor is found"; which one is not said: U). None: the configured refusal
        (FAILURE_CONF, §7.1)."""
        team = agent.cfg.team
        supervisors = [self.agents[a.id] for a in self.config.agents if a.supervisor and a.team == team
                       and a.id != agent.id]
        for sup in supervisors:
            if sup.logged_in and not self._busy_phone(sup):
                return sup
        if not supervisors:
            raise self._sup_refused(sid, "no_supervisor", f"team {team!r} of agent {agent.id} has no supervisor")
        raise self._sup_refused(sid, "no_supervisor",
                                f"no supervisor of team {team!r} is available (logged in, phone free): "
                                + ", ".join(f"{s.id} {_short_state(s.state)}" for s in supervisors))

    def _call_supervisor(self, out: list[Delivery], sid: int, req: M.SupervisorAssistReq | M.EmergencyCallReq,
                         call_id: int | None, now: float, *,
                         call_type: CallType, cause: EventCause,
                         conf: Callable[[Call, Leg], Message],
                         event: Callable[[Call, Call | None, Agent], Message]) -> None:
        """SUPERVISOR_ASSIST_REQ and EMERGENCY_CALL_REQ: a call of type ``call_type`` from the agent's phone to
        its team's supervisor (:meth:`_team_supervisor`), placed as the agent's own calls are — about a
        related call (``call_id``) as a consultation of it (the call is held first, and the agent can then
        conference or transfer the supervisor in, or reconnect), else as a new call (the agent NOT_READY,
        its phone free). The supervisor's phone rings (CALL_DELIVERED with EventCause ``cause``) and the
        supervisor's agent-mode sessions and every bridge get ``event`` (no mask filters it, §6.6), built
        from the new call and the related one (None without)."""
        agent = self._requester_agent(sid, req, fields=("connection_device_id",))
        self._need_logged_in(agent)
        related = leg = None
        if call_id is not None and call_id != NONE_ID:
            related = self._lookup_call(call_id)
            leg = self._my_leg(related, agent, req.connection_device_id)
        else:
            self._my_phone(agent, req.connection_device_id)
        sup = self._team_supervisor(sid, agent)
        if related is not None and leg is not None:
            self._may_consult(agent, related, leg, sup.device)
            self._hold_for_consult(out, related, leg)
            call = self._new_call(now, call_type, agent.device, dialed=sup.device, consult_of=related.id,
                                  variables=dict(related.variables), named_variables=related.named_variables,
                                  named_arrays=related.named_arrays)
        else:
            self._may_place_call(agent, sup.device)
            call = self._new_call(now, call_type, agent.device, dialed=sup.device)
        call.cause = int(cause)
        self._place(out, sid, call, agent, sup.device, now, conf=lambda lg: conf(call, lg))
        ev = event(call, related, agent)
        out.extend(Delivery(s, ev) for s in sorted(self._sessions_of(sup) | self.bridges))

    def _my_phone(self, agent: Agent, device: str | None) -> None:
        """A request without a call names the agent's own phone (ConnectionDeviceID), if any."""
        if device and device not in (agent.device, agent.cfg.extension):
            raise Refused(failure_conf(S.E_CTI_INVALID_AGENT_DATA,
                                       f"ConnectionDeviceID {device!r} is not the phone of agent {agent.id}"))

    def _bridge_names_the_agent(self, sid: int, req: M.SupervisorAssistReq | M.EmergencyCallReq) -> None:
        """(ucce) ICM's SUPERVISOR_ASSIST_REQ and EMERGENCY_CALL_REQ (AgentExtension, AgentID, AgentInstrument): "For
        clients with ALL EVENTS or PERIPHERAL MONITOR service, at least one of AgentExtension, AgentID, or
        AgentInstrument must be provided" — ConnectionDeviceID alone does not name the agent. The UCCX pages have no
        such rule (their AgentID and AgentInstrument are optional): a uccx bridge may still name the agent by its
        phone alone."""
        sub = self.subs.get(sid)
        if (sub is not None and sub.profile.icm and sub.mode == "bridge"
                and not (req.agent_extension or req.agent_id or req.agent_instrument)):
            raise required_data_missing(f"{req.TYPE.name} from an ALL_EVENTS client names the agent by "
                                        "AgentExtension, AgentID or AgentInstrument; ConnectionDeviceID alone "
                                        "is not enough")

    def _supervisor_assist_req(self, out: list[Delivery], sid: int, req: M.SupervisorAssistReq, now: float) -> None:
        self._bridge_names_the_agent(sid, req)
        sub = self.subs.get(sid)
        client = sub.client_id if sub is not None else ""
        self._call_supervisor(
            out, sid, req, req.call_id, now, call_type=CallType.CALLTYPE_ASSIST, cause=EventCause.CEC_SUPERVISOR_ASSIST,
            conf=lambda call, lg: M.SupervisorAssistConf(invoke_id=req.invoke_id, call_id=call.id,
                                                         connection_device_type=0, connection_device_id=lg.device),
            event=lambda call, related, agent: M.SupervisorAssistEvent(
                call_id=call.id, connection_device_type=0, connection_device_id=agent.device,
                client_id=_fit(client, 63), text=req.text))

    def _emergency_call_req(self, out: list[Delivery], sid: int, req: M.EmergencyCallReq, now: float) -> None:
        self._bridge_names_the_agent(sid, req)
        client = self.subs[sid].client_id if sid in self.subs else ""
        self._call_supervisor(
            out, sid, req, req.connection_call_id, now, call_type=CallType.CALLTYPE_EMERGENCY,
            cause=EventCause.CEC_EMERGENCY_CALL,
            conf=lambda call, lg: M.EmergencyCallConf(
                invoke_id=req.invoke_id, connection_call_id=call.id, connection_device_type=0, line_handle=NONE_SHORT,
                line_type=self.config.line_type, connection_device_id=lg.device),
            # InvokeID: printed on the UCCX page only (ICM has none, U): 0, the event answers no request of
            # its receiver; SessionID: the session of the agent that declared the emergency; ConnectionCallID:
            # the call the emergency is about, the request's ("The Call ID value of the call that the agent
            # needs assistance with. Contains the special value 0xffffffff if there is no related call", the
            # UCCX EMERGENCY_CALL_EVENT page; ICM: "an agent is handling the indicated call as an emergency
            # call"), not the EMERGENCY call to the supervisor, which EMERGENCY_CALL_CONF names
            event=lambda call, related, agent: M.EmergencyCallEvent(
                invoke_id=0, peripheral_id=self.config.peripheral_id,
                connection_call_id=NONE_ID if related is None else related.id,
                connection_device_type=0, session_id=sid, connection_device_id=agent.device,
                client_id=_fit(client, 63) or None, agent_extension=agent.cfg.extension, agent_id=agent.id,
                agent_instrument=agent.device))

    def _supervise_call_req(self, out: list[Delivery], sid: int, req: M.SuperviseCallReq, now: float) -> None:
        """A supervisor barges in on, intercepts or leaves a call of an agent of its team (UCCX documents
        SupervisoryAction 3 BARGE_IN, 4 INTERCEPT and 0 CLEAR; §6.20). Barge-in conferences the supervisor's
        phone into the agent's call: CALL_DELIVERED, CALL_ESTABLISHED (EventCause CEC_SUPERVISOR_BARGE_IN)
        and CALL_CONFERENCED_EVENT (the agent's phone the controller, the supervisor's the added party),
        the call re-typed SUPERVISOR_BARGE_IN (§6.17, §7.2: CALL_DATA_UPDATE to whoever knows it);
        intercept does the same if the supervisor is not on the call yet (under ucce it is refused: Unified
        CCE intercepts only after a barge-in), then clears the agent's
        connection (CALL_CONNECTION_CLEARED with CEC_SUPERVISOR_INTERCEPT, END_CALL to the agent, who takes
        its after-call state) — the supervisor stays with the other parties, the call re-typed
        SUPERVISOR_INTERCEPT; clear takes the supervisor's phone off the call (CEC_SUPERVISOR_CLEAR),
        which ends the call when fewer than two parties are left. SUPERVISE_CALL_CONF names the call and
        the supervised agent's phone. The supervisor is the session's agent (agent mode) or the phone
        SupervisorInstrument / SupervisorConnectionDeviceID names (bridge mode); the agent is named by
        AgentID, AgentInstrument, AgentExtension or AgentConnectionDeviceID, its call by AgentCallID (0xFFFFFFFF:
        the agent's active call, :meth:`_active_call_of`). Silent monitoring and whisper
        (1, 2: ICM values) are not UCCX's (its silent monitoring is not a CTI request): refused."""
        sub = self.subs.get(sid)
        if sub is not None and sub.mode == "agent" and sub.agent_id:
            sup = self.agents[sub.agent_id]
            self._my_phone(sup, req.supervisor_instrument)
        else:
            if sub is not None and sub.profile.icm and sub.mode == "bridge" and not req.supervisor_instrument:
                # ICM's SUPERVISE_CALL_REQ, SupervisorInstrument: "This field is required for clients with ALL
                # EVENTS or PERIPHERAL MONITOR service". No UCCX page says so (reference §5.5 takes the field from
                # ICM, I): a uccx bridge may still name the supervisor's phone by SupervisorConnectionDeviceID
                raise required_data_missing("SUPERVISE_CALL_REQ from an ALL_EVENTS client names the supervisor's "
                                            "phone in SupervisorInstrument; SupervisorConnectionDeviceID alone is "
                                            "not enough")
            sup = self._agent_named(req, None, ("supervisor_instrument", "supervisor_connection_device_id"))
        if not sup.cfg.supervisor:
            raise self._sup_refused(sid, "not_supervisor", f"agent {sup.id} is not a supervisor")
        self._need_logged_in(sup)
        action = req.supervisory_action
        if action not in _SUPERVISORY_ACTIONS:
            raise self._bad_supervisory_action(sid, action)
        agent = self._agent_named(req, "agent_id", ("agent_instrument", "agent_extension", "agent_connection_device_id"))
        self._check_team(sup, agent)
        if action != _SUPERVISOR_CLEAR:
            # §7.1: an agent named in a request that is not logged on is E_CTI_AGENT_NOT_LOGGED_ON (it was told
            # "no connection on the call" or "unknown call"); SUPERVISOR_CLEAR takes the supervisor's own phone off
            # the call, which an agent gone after an intercept no longer is on: not checked
            self._need_logged_in(agent)
        if req.agent_call_id in (None, NONE_ID):
            call = self._active_call_of(agent, req)
        else:
            call = self._lookup_call(req.agent_call_id)
        if req.supervisor_call_id not in (None, NONE_ID):
            self._lookup_call(req.supervisor_call_id)
        conf = M.SuperviseCallConf(invoke_id=req.invoke_id, call_id=call.id, connection_device_type=0,
                                   connection_device_id=agent.device)
        if action == _SUPERVISOR_CLEAR:
            cleared = self._my_leg(call, sup, req.supervisor_connection_device_id)
            self._conf(out, sid, conf)
            self._drop_leg(out, call, cleared, now, cause=int(EventCause.CEC_SUPERVISOR_CLEAR))
            return
        aleg = self._my_leg(call, agent, req.agent_connection_device_id)
        if aleg.state is not LCS.LCS_CONNECT:
            raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"agent {agent.id} is not talking on call {call.id}"))
        sleg = call.leg_of(sup.id)
        if sleg is None and action == _SUPERVISOR_INTERCEPT and sub is not None and sub.profile.icm:
            # Unified CCE (CTI OS Developer's Guide, Agent.SuperviseCall): "An Intercept can only be performed by a
            # supervisor who has already performed a BargeIn. The Intercept simply hangs up the original agent,
            # leaving only the customer and the supervisor talking." No UCCX page says so: a uccx supervisor not
            # on the call is barged in first. The code is the mock's choice (U): the call is not in the state
            # the intercept needs, as a barge-in by a supervisor already on it is refused
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"SUPERVISOR_INTERCEPT needs a barge-in first: supervisor {sup.id} is not "
                                          f"on call {call.id}"))
        if sleg is None and self._busy_phone(sup):
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_AGENT_DEVICE_BUSY,
                                          f"supervisor {sup.id}'s phone {sup.device} already has an active call"))
        if sleg is not None and action == _SUPERVISOR_BARGE_IN:
            raise Refused(control_failure(CF.CF_INVALID_OBJECT_STATE, CCX.CCX_DEFAULT_ERROR_CODE,
                                          f"supervisor {sup.id} is already on call {call.id}"))
        if sleg is None:
            self._room_in_conference(call, 1)
        intercept = action == _SUPERVISOR_INTERCEPT
        cause = int(EventCause.CEC_SUPERVISOR_INTERCEPT if intercept else EventCause.CEC_SUPERVISOR_BARGE_IN)
        self._conf(out, sid, conf)
        self._retype(out, call, CallType.CALLTYPE_SUPERVISOR_INTERCEPT if intercept
                     else CallType.CALLTYPE_SUPERVISOR_BARGE_IN)
        if sleg is None:
            self._barge_in(out, call, sup, aleg, cause, now)
        if intercept:
            self._drop_leg(out, call, aleg, now, cause=cause)

    def _active_call_of(self, agent: Agent, req: M.SuperviseCallReq) -> Call:
        """The call SUPERVISE_CALL_REQ supervises when its AgentCallID is 0xFFFFFFFF: the agent's currently active
        call (ICM: "may select an agent's currently active call by specifying only the agent", AgentCallID "may
        contain the special value 0xffffffff when selecting the agent's currently active call"; the UCCX page:
        "Either the CallID and the ConnectionDeviceID, or one of AgentExtension, AgentID, or AgentInstrument must
        be provided"). An agent named by AgentConnectionDeviceID alone, with no CallID, is E_CTI_REQUIRED_DATA_MISSING
        (§7.1); one with no call connected, the refusal of a request needing an active call."""
        if not (req.agent_id or req.agent_instrument or req.agent_extension):
            raise required_data_missing("SUPERVISE_CALL_REQ without AgentCallID (0xFFFFFFFF) names the agent by "
                                        "AgentID, AgentInstrument or AgentExtension")
        for call, leg in self.agent_call_legs(agent.id):
            if leg.state is LCS.LCS_CONNECT:
                return call
        raise Refused(self._cf_refusal("no_active_call", CCX.CCX_DEFAULT_ERROR_CODE,
                                       f"agent {agent.id} has no active call to supervise"))

    def _barge_in(self, out: list[Delivery], call: Call, sup: Agent, aleg: Leg, cause: int, now: float) -> None:
        """The supervisor's phone joins the agent's call as a conference party (see :meth:`_supervise_call_req`)."""
        self._direct_call(out, sup, now)  # (ucce: nothing, the phone joins at once: TALKING below, READY after)
        leg = Leg(sup.device, sup.id, LCS.LCS_ALERTING)
        self._put_leg(call, leg)
        call.conferenced = True  # through the conference bridge, as a conference (media, ACD line state)
        self._emit(out, call, self._delivered(call, leg, call.ani, cause), keyed=True)
        leg.state = LCS.LCS_CONNECT
        self._emit(out, call, self._established(call, leg, call.ani, cause))
        self._emit(out, call, M.CallConferencedEvent(
            **self._common(), primary_device_type=0, primary_call_id=call.id, line_type=self.config.line_type,
            skill_group_number=NONE_ID, skill_group_id=NONE_ID, skill_group_priority=0,
            secondary_device_type=NONE_SHORT, secondary_call_id=NONE_ID, controller_device_type=AGENT_DEVICE,
            added_party_device_type=AGENT_DEVICE, local_connection_state=_LCS_CONNECT, event_cause=cause,
            primary_device_id=call.ani, secondary_device_id="", controller_device_id=aleg.device,
            added_party_device_id=sup.device, parties=self._parties(call)))
        self._talk_on_own_call(out, sup, now)  # (ucce) TALKING on the call its phone joined, as on a direct call
        self._sync_hold(out, sup, now)  # (ucce) HOLD, its own calls all held, it barges in: TALKING
        self._sync_media(out, call)  # the parties talk through the conference bridge now

    # -- call teardown ------------------------------------------------------------------------------------

    def _sessions_of(self, agent: Agent) -> set[int]:
        return set(self.agent_sessions.get(agent.id, ()))

    def _conn_cleared(self, call: Call, leg: Leg, releasing: str, cause: int = _CEC_NONE) -> Message:
        cfg = self.config
        # ReleasingDeviceType is the type of ReleasingDeviceID (§5.4), not of the cleared connection: the
        # caller hanging up releases the agent's connection too, and a recorder reads who hung up from it
        return M.CallConnectionClearedEvent(
            monitor_id=0, peripheral_id=cfg.peripheral_id, peripheral_type=self._ptype,
            connection_device_type=0, call_id=call.id,
            releasing_device_type=AGENT_DEVICE if releasing in self.by_device else EXTERNAL_DEVICE,
            local_connection_state=_LCS_NULL, event_cause=cause,
            connection_device_id=leg.device, releasing_device_id=releasing)

    @staticmethod
    def _consulted(call: Call, leg: Leg) -> bool:
        """Whether ``leg`` is a consulted agent's connection on a consultation call (CONSULT_CALL_REQ's, not
        transferred or conferenced yet): an agent's, other than the consulting phone that placed it."""
        return call.type is CallType.CALLTYPE_CONSULT and leg.agent is not None and leg.device != call.ani

    def _drop_quietly(self, call: Call, leg: Leg) -> None:
        self._take_leg(call, leg.device)

    def _drop_leg(self, out: list[Delivery], call: Call, leg: Leg, now: float, cause: int = _CEC_NONE) -> None:
        """One party hangs up: CALL_CONNECTION_CLEARED (EventCause ``cause``: a supervisor's clear or
        intercept says so); END_CALL to that agent; the call ends when fewer than two parties remain
        (§7.2 Clear). Two outside parties left talking (an agent leaving the conference of a customer
        and an outside number) are a call that goes on, as after a single-step transfer to an outside
        number, until one of them hangs up."""
        self._emit(out, call, self._conn_cleared(call, leg, leg.device, cause))
        self._take_leg(call, leg.device)
        self._sync_media(out, call)
        agent = self.agents.get(leg.agent) if leg.agent else None
        if len(call.legs) < 2:
            survivors = [(self.agents[lg.agent], self._consulted(call, lg)) for lg in call.agent_legs()]  # type: ignore[index]  # (agent_legs: legs with an agent)
            for lg in list(call.legs.values()):
                if lg.agent is not None:
                    self._emit(out, call, self._conn_cleared(call, lg, leg.device))
            self._finish(out, call, now)
            for a, cancelled in survivors:
                self._after_call(out, a, now, consult_cancelled=cancelled)
        elif agent is not None:
            self._end_call_for(out, call, self._sessions_of(agent))
        if agent is not None:
            self._after_call(out, agent, now)

    def _finish(self, out: list[Delivery], call: Call, now: float) -> None:
        """The call is over: its media stops, CALL_CLEARED, then END_CALL to every session that saw it begin."""
        self._sync_media(out, call, ending=True)
        cfg = self.config
        self._emit(out, call, M.CallClearedEvent(
            monitor_id=0, peripheral_id=cfg.peripheral_id, peripheral_type=self._ptype,
            connection_device_type=0, call_id=call.id, local_connection_state=_LCS_NULL,
            event_cause=_CEC_NONE, connection_device_id=next(iter(call.legs), call.ani)))
        self._end_call_for(out, call, set(call.told))
        for device in list(call.legs):
            self._take_leg(call, device)
        self.calls.pop(call.id, None)
        if call.queued:  # a caller who hangs up in the queue leaves it
            call.queued = False
            for q in self.queues.values():
                if call.id in q:
                    q.remove(call.id)

    def _offer_gone(self, out: list[Delivery], agent: Agent, now: float) -> None:
        """The call that reserved the agent stopped ringing there unanswered (its caller hung up, the consultation
        was given up). A consultation cancelled: NOT_READY, AGT_CANCEL_CONSULT (§6.19: "consulted agent to Not
        Ready (Cancel)"; UCCX's reason-code list: "Agent's state changes from Talking to Not Ready because the
        Cancel feature is triggered during an ICD consult call" — also once answered, see :meth:`_after_call`),
        not the after-call state of an ACD call, which made a NOT_READY agent READY after a colleague's
        question. Any other call: the agent never took it, so no after-call state and no wrap-up — it is what
        it was before the call was offered (Finesse's state table: RESERVED -> READY, "an agent can become
        RESERVED but never take a call"; NOT_READY with its reason for an agent a call was transferred to while
        NOT_READY, the wrap-up it was in). A system reason is not given again (AGT_LOGON would announce a login,
        AGT_RNA a ring-no-answer): a NOT_READY that had one comes back with AGT_CALL_ENDED, as after a call.
        Under the ucce profile a cancelled consultation is no exception: ICM has no AGT_CANCEL_CONSULT (a UCCX
        reason code), and Finesse's Unified CCE transitions return the agent to its state before."""
        if agent.consult_offer and not self._speaks_icm(agent):
            self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, int(ReasonCode.AGT_CANCEL_CONSULT), now)
            return
        state, reason, csq = agent.offered_from or (_READY, 0, NONE_ID)
        if agent.pending is not None:  # a state it asked for meanwhile
            state, reason = agent.pending, agent.pending_reason
        if reason > _LAST_CLIENT_REASON:
            reason = int(ReasonCode.AGT_CALL_ENDED) if state is AS.AGENT_STATE_NOT_READY else 0
        agent.call_csq = csq
        self._set_state(out, agent, state, reason, now)
        if state is AS.AGENT_STATE_WORK or state is AS.AGENT_STATE_WORK_READY:
            self._start_wrapup(agent, now)

    def _speaks_icm(self, agent: Agent) -> bool:
        """Whether the agent's desktops (else, for an agent without one, the open sessions: one server speaks
        one profile) speak the ucce profile, whose center follows ICM where ICM and UCCX differ."""
        subs = self.subs
        sids = self.agent_sessions.get(agent.id) or subs
        return any(subs[sid].profile.icm for sid in sids if sid in subs)

    def _after_call(self, out: list[Delivery], agent: Agent, now: float, *, consult_cancelled: bool = False) -> None:
        """The agent's last call ended: the pending state, else the configured after-call state; for an
        agent whose desktop went away meanwhile, the state of ``on_agent_disconnect`` (AGT_CONN_DOWN).
        ``consult_cancelled``: the agent was consulted and the consultation was given up by the other side
        (the consulting agent reconnected to its held call or cleared the consultation): NOT_READY,
        AGT_CANCEL_CONSULT, ringing or answered; under the ucce profile the state it had before (ICM)."""
        if (agent.pending is _READY and agent.state in _OWN_CALL_STATES
                and not self._busy_off_acd(agent)):
            # its wrap-up time ended while its phone was busy with a call of its own (_wrapup_over), or (ucce) it
            # asked for READY during that call (_ready_after_own_call): READY now
            self._set_state(out, agent, _READY, agent.pending_reason, now)
            return
        calls = self._agent_calls(agent)
        if agent.pending is _LOGOUT and not calls:
            # a supervisor's LOGOUT, pending while the agent talked (supervisor_logout_while_talking), its phone free
            # now: before any other after-call state — the Cancel's NOT_READY of a consultation given up, the
            # on_agent_disconnect state of a desktop gone meanwhile, the state before a call of its own (ucce) —
            # each of which dropped the sign-out
            agent.desktop_lost = False
            self._set_state(out, agent, _LOGOUT, agent.pending_reason, now)
            return
        if calls:
            if (agent.state is AS.AGENT_STATE_RESERVED
                    and all(c.leg_of(agent.id).state is not LCS.LCS_ALERTING for c in calls)):  # type: ignore[union-attr]
                # the call that reserved it no longer rings there, a call of its own (held) stays: the
                # reservation is over all the same (it stayed RESERVED with nothing ringing until that call ended);
                # with its desktop gone, not back to READY but out of routing (see _desktop_gone)
                if agent.desktop_lost:
                    self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, _AGT_CONN_DOWN, now)
                else:
                    self._offer_gone(out, agent, now)
                return
            if (agent.state is not AS.AGENT_STATE_TALKING and agent.state is not AS.AGENT_STATE_HOLD) or any(
                    _routed_for(c, agent.id) for c in calls):
                self._sync_hold(out, agent, now)  # (ucce) the calls left on its phone all held: HOLD
                return
            if agent.own_call_from is not None:
                # (ucce) TALKING on calls of its own: until the last of them ends (_talk_on_own_call)
                self._sync_hold(out, agent, now)
                return
            # TALKING, and the ACD call (or consultation) it talked on is over: what is left on the phone is a call
            # of its own (held beside the ACD call), which keeps no agent TALKING (UCCX: TALKING is for routed
            # calls, an agent on a non-routed call is NOT_READY). The after-call state now, not when that call
            # ends; READY routes it a caller only when its phone is free (:meth:`_ready_agent`)
        if agent.desktop_lost:
            target = self._disconnect_state()
            if calls and target is AS.AGENT_STATE_LOGOUT:
                target = AS.AGENT_STATE_NOT_READY  # (no LOGOUT with a call on the phone: when it ends)
            else:
                agent.desktop_lost = False
            if agent.logged_in and agent.state is not target:
                self._set_state(out, agent, target, _AGT_CONN_DOWN, now)
            return
        if consult_cancelled and agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD):
            if self._speaks_icm(agent):
                # UCCE has no AGT_CANCEL_CONSULT (a UCCX reason code, §6.19): back to the state it had before the
                # consultation reserved it, with its reason code, or to one it asked for while talking (Finesse's
                # Unified CCE transitions: TALKING -> READY / NOT_READY "if the agent was in READY / NOT_READY
                # state before the call")
                self._offer_gone(out, agent, now)
            else:
                self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, int(ReasonCode.AGT_CANCEL_CONSULT), now)
        elif agent.state is AS.AGENT_STATE_RESERVED:
            self._offer_gone(out, agent, now)
        elif agent.own_call_from is not None and (agent.state is _TALKING or agent.state is _HOLD):
            # (ucce) its own calls are over: the state it asked for meanwhile, else the one it had before them (a
            # system reason code such as AGT_LOGON, which told of something else, becomes AGT_CALL_ENDED)
            nxt, reason = (agent.pending, agent.pending_reason) if agent.pending else agent.own_call_from
            if reason > _LAST_CLIENT_REASON:
                reason = int(ReasonCode.AGT_CALL_ENDED) if nxt is AS.AGENT_STATE_NOT_READY else 0
            self._set_state(out, agent, nxt, reason, now)
            if nxt is AS.AGENT_STATE_WORK or nxt is AS.AGENT_STATE_WORK_READY:
                self._start_wrapup(agent, now)
        elif agent.state is _READY:
            # READY while its phone had a call of its own (READY asked for meanwhile): the queues skipped it
            # (:meth:`_ready_agent`), and may route to it now
            self._route_queued(out, now)
        elif (agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD) and agent.pending is None
              and agent.offered_from is not None and agent.offered_from[0] is AS.AGENT_STATE_NOT_READY):
            # a call a colleague sent to a NOT_READY agent (a consultation, a transfer or conference to its phone):
            # after handling it the agent is NOT_READY again, not READY and routed callers (UCCX Historical
            # Reports guide, CALL_ENDED 32755: "an agent ... in the Not Ready state [that] gets a consult
            # Unified CCX call from another agent ... after handling the call, moves back to the Not Ready state")
            self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, int(ReasonCode.AGT_CALL_ENDED), now)
        elif agent.state in (AS.AGENT_STATE_TALKING, AS.AGENT_STATE_HOLD):
            nxt = agent.pending or self.config.after_call_state
            reason = agent.pending_reason if agent.pending else (
                int(ReasonCode.AGT_CALL_ENDED) if nxt is AS.AGENT_STATE_NOT_READY else 0)
            if nxt is _LOGOUT and calls:
                # a supervisor's pending LOGOUT, a call of its own still on the phone (held beside the ACD call): no
                # LOGOUT with a call on the phone (_check_logout). NOT_READY now, the LOGOUT pending after that call
                self._set_state(out, agent, AS.AGENT_STATE_NOT_READY, int(ReasonCode.AGT_CALL_ENDED), now)
                self._set_pending(out, agent, _LOGOUT, reason, now)
                return
            self._set_state(out, agent, nxt, reason, now)
            if nxt is AS.AGENT_STATE_WORK or nxt is AS.AGENT_STATE_WORK_READY:
                self._start_wrapup(agent, now)

    # -- happenings pushed by scenarios, the control API or the call generator ------------------------------

    def hang_up(self, now: float, call_id: int, device: str | None = None) -> list[Delivery]:
        """A party hangs up by itself: the caller (``device`` None: the call's ANI), the external
        number a call was transferred or placed to, or an agent's phone set down. The same as that
        party's ClearConnection (§7.2 Clear): CALL_CONNECTION_CLEARED to the sessions that watch the
        call, END_CALL to its agent; with fewer than two parties left the call ends (CALL_CLEARED,
        END_CALL, each agent left on it to its after-call state). A queued caller hanging up leaves
        the queue. Raises KeyError for an unknown call or a device that is not on it, TypeError for a
        CallID that is no integer or a device that is no text (a CallID as text, "16777500", read
        "unknown call 16777500; calls: [16777500]")."""
        if isinstance(call_id, bool) or not isinstance(call_id, int):
            raise TypeError(f"a CallID is an integer, not {type(call_id).__name__} {call_id!r}")
        if device is not None and not isinstance(device, str):
            raise TypeError(f"a device is text (the party's phone number), not {type(device).__name__} {device!r}")
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError(f"unknown call {call_id}; calls: {sorted(self.calls)}")
        dev = call.ani if device is None else device
        leg = call.legs.get(dev)
        if leg is None:
            raise KeyError(f"{dev!r} is not on call {call_id}; parties: {sorted(call.legs)}")
        out: list[Delivery] = []
        self._drop_leg(out, call, leg, now)
        return out

    def system_event(self, now: float, event_id: SystemEventID | int, *, text: str | None = None,
                     device: str | None = None, wall_time: float | None = None) -> list[Delivery]:
        """SYSTEM_EVENT to every open session (reference §3.6); CCX offline/online changes :attr:`online`.
        ``wall_time``: seconds since 1970 UTC now, for CCXTime (§5.1; the hub knows it, the center
        reads no clock); without it, ``now``."""
        eid = SystemEventID(event_id)
        if eid in _PG_STATUS_DOWN:
            self.online = False
            self._pg_down |= _PG_STATUS_DOWN[eid]
        elif eid in (SystemEventID.SYS_CCX_ONLINE, SystemEventID.SYS_CTI_SERVER_ONLINE,
                     SystemEventID.SYS_CENTRAL_CONTROLLER_ONLINE):
            self.online = True
            self._pg_down = 0
        by_profile: dict[bool, Message] = {}  # the event as each profile's sessions get it (its first field)

        def event(icm: bool) -> Message:
            ev = by_profile.get(icm)
            if ev is None:
                ev = by_profile[icm] = self.system_event_message(
                    icm, eid, now if wall_time is None else wall_time, text=text, device=device)
            return ev

        return [Delivery(sid, event(self.subs[sid].profile.icm)) for sid in sorted(self.subs)]

    def peripheral_id(self, icm: bool) -> int:
        """The PeripheralID a session of the profile (``icm``: ucce) is told about in OPEN_CONF (FltPeripheralID)
        and SYSTEM_EVENT (SystemEventArg1 of a peripheral's event): under ucce the center's one peripheral, the
        ``peripheral_id`` its call and agent events carry (ICM: one PeripheralID names the peripheral in all of
        them); under uccx 0, what UCCX sends there (OPEN_CONF's FltPeripheralID "given by the OPEN_REQ", whose
        PeripheralID is reserved 0, reference §8.4; SystemEventArg1 reserved) while its events carry 1 (§5.4)."""
        return self.config.peripheral_id if icm else 0

    def system_event_message(self, icm: bool, event_id: SystemEventID | int, wall_time: float, *,
                             text: str | None = None, device: str | None = None,
                             status: int | None = None) -> Message:
        """SYSTEM_EVENT ``event_id`` as a session of the profile (``icm``: ucce) gets it: the first field the
        profile's status (:meth:`system_status`, or ``status``), the time ``wall_time`` (seconds since 1970 UTC);
        under ucce a peripheral's event (SYS_PERIPHERAL_ONLINE / OFFLINE) names the peripheral in
        SystemEventArg1 (:meth:`peripheral_id`; ICM: "the peripheral identified by SystemEventArg1")."""
        eid = int(event_id)
        return M.SystemEvent(
            ccx_status=self.system_status(icm) if status is None else status, ccx_time=int(wall_time) & 0xFFFFFFFF,
            system_event_id=eid,
            system_event_arg1=self.peripheral_id(icm) if icm and eid in _PERIPHERAL_EVENTS else 0,
            system_event_arg2=0, system_event_arg3=0, event_device_type=0 if device else NONE_SHORT, text=text,
            event_device_id=device)

    def system_status(self, icm: bool) -> int:
        """The first field of a SYSTEM_EVENT (and, under ICM, OPEN_CONF's PGStatus) as a session of the profile
        reads it: UCCX's CCXStatus, an enumerated value (CCX_IN_SERVICE 0x400, CCX_OUT_OF_SERVICE 0x600; §6.13),
        or, under the ucce profile (``icm``), ICM's PGStatus, a bit per failure and 0 when all is well
        (ICM's PGStatusCode values: the bit of each SYSTEM_EVENT that took the center offline, PGS_CC_DOWN for
        SYS_CENTRAL_CONTROLLER_OFFLINE, PGS_PERIPHERAL_OFFLINE for SYS_PERIPHERAL_OFFLINE, PGS_OPC_DOWN for
        SYS_PERIPHERAL_GATEWAY_OFFLINE, PGS_CTI_SERVER_OFFLINE for SYS_CTI_SERVER_OFFLINE; the mock's one
        peripheral offline, PGS_PERIPHERAL_OFFLINE, when it went offline otherwise)."""
        if not icm:
            return int(CCXStatus.CCX_IN_SERVICE if self.online else CCXStatus.CCX_OUT_OF_SERVICE)
        return 0 if self.online else (self._pg_down or int(PGStatus.PGS_PERIPHERAL_OFFLINE))

    def failure_event(self, now: float, status: StatusCode | int, *, text: str | None = None,
                      session_ids: Iterable[int] | None = None) -> list[Delivery]:
        ev = M.FailureEvent(status=int(status), text=text)
        sids = sorted(self.subs) if session_ids is None else sorted(s for s in session_ids if s in self.subs)
        return [Delivery(sid, ev) for sid in sids]

    def _config_records(self, icm: bool = False) -> dict[int, tuple[Any, ...]]:  # (each bit its record class)
        """The configuration records, by their ConfigurationMask bit (reference §6.8): application, CSQs,
        agents, devices — what CONFIG_REQUEST_EVENT downloads and what the keys are made from — as a session of
        the profile (``icm``: ucce) gets them: each record's PeripheralID (tag 208, ICM's PERIPHERAL_ID, which
        UCCX reserves as 0 from v11) is :meth:`peripheral_id`, under ucce the peripheral its events name."""
        pid = self.peripheral_id(icm)
        # the one application of the mock: every CSQ call's CALL_QUEUED / CALL_DELIVERED / CALL_ESTABLISHED
        # names ApplicationID 1, which a wallboard looks up here
        apps = (M.ApplicationRecord(
            record_type=0, peripheral_id=pid, application_id=_APPLICATION_ID, cur_peripheral_number=0, max_queued=0,
            extension="", previous_application_id=_APPLICATION_ID, application_name=_APPLICATION_NAME,
            description="routes every call of the CSQs", service_level_threshold=0, service_level_type=0,
            config_param="", mr_domain_id=0),)
        csqs = tuple(M.CSQRecord(record_type=0, peripheral_id=pid, csq_id=c.id, cur_peripheral_number=0,
                                 skill_group_priority=0, skill_group_skill_target_id=0, auto_work=0, extension="",
                                 csq_name=c.name, description="", mr_domain_id=0, config_param="")
                     for c in self.config.csqs)
        csq_ids = {c.name: c.id for c in self.config.csqs}
        agents = tuple(M.AgentRecord(record_type=0, peripheral_id=pid, agent_type=2 if a.supervisor else 1, login_id=a.id,
                                     cur_login_id="", login_name="", last_name=_fit(f"Agent {a.id}", 31), first_name="",
                                     extension=a.extension, description="", agent_skill_target_id=0,
                                     csqs=tuple(M.AgentRecordCSQ(csq_id=csq_ids[n], skill_group_priority=0)
                                                for n in a.csqs if n in csq_ids))
                       for a in self.config.agents)
        devices = tuple(M.DeviceRecord(record_type=0, peripheral_id=pid, device_field0=n, device_type=3, max_queued=0,
                                       device_field1=0, device_field2=a.id, device_field3="", device_field4=a.extension,
                                       description=_fit(f"phone of agent {a.id}", 127))
                        for n, a in enumerate(self.config.agents, 1))
        return {0x01: apps, 0x02: csqs, 0x04: agents, 0x08: devices}

    @staticmethod
    def _config_keys(records: Mapping[int, tuple[Message, ...]]) -> dict[str, Any]:  # (name -> 8 bytes; keyword arguments)
        """The four 8-byte configuration keys (UNSPEC, reference §5.6), each a digest of the records it
        stands for: a client that cached the records by key downloads again whenever any field of them
        changes (an agent made supervisor, phones given to other agents), and only then."""
        def key(recs: tuple[Message, ...]) -> bytes:  # stable across runs (not hash(): randomised per process)
            return hashlib.blake2b(repr(recs).encode(), digest_size=8).digest()
        return {"application_config_key": key(records[0x01]), "csq_config_key": key(records[0x02]),
                "agent_config_key": key(records[0x04]), "device_config_key": key(records[0x08])}

    def _config_request(self, out: list[Delivery], sid: int, msg: Message, now: float) -> None:
        """CONFIG_REQUEST_KEY_EVENT -> CONFIG_KEY_EVENT; CONFIG_REQUEST_EVENT -> CONFIG_BEGIN_EVENT,
        CONFIG_CSQ/AGENT/DEVICE_EVENT records (at most 10 per message), CONFIG_END_EVENT (reference
        §7.2 configuration download). Only for sessions granted CTI_SERVICE_CONFIG_EVENTS (:meth:`handle`
        checks it) and only while Unified CCX is online (§3.6); otherwise FAILURE_CONF with the session's
        profile's "offline" status, as for a heartbeat (ICM's E_CTI_CTI_SERVER_OFFLINE under ucce,
        E_CTI_UNSPECIFIED_FAILURE under uccx, which reserves 15), and a text (InvokeID 0: these requests
        carry none): a client left without an answer waited for ever for a CONFIG_KEY_EVENT or CONFIG_END_EVENT."""
        if not self.online:
            prof = self.subs[sid].profile
            raise Refused(failure_conf(prof.status("offline"),
                                       f"{prof.system_name} is offline: {msg.TYPE.name} is accepted only online"))
        icm = self.subs[sid].profile.icm
        # the records and their keys follow from the center's configuration, which a center keeps for its life:
        # built once per profile (built per request, a bridge's keys cost 80 ms at 5,000 agents and 1.3 s at
        # 50,000 — the whole server stalled while every client's connection waited). So are the CONFIG_* messages
        # holding them: every bridge of a profile gets the same message objects, whose encoding (codec.encode_shared)
        # and JSON rendering (journal.json of --report, --json) are then made once, not once per bridge
        cached = self._config_cache.get(icm)
        if cached is None:
            records = self._config_records(icm)
            events: dict[int, tuple[Message, ...]] = {bit: tuple(event(records=records[bit][i:i + 10]) for i in range(0, len(records[bit]), 10))
                      for bit, event in ((0x01, M.ConfigApplicationEvent), (0x02, M.ConfigCsqEvent),
                                         (0x04, M.ConfigAgentEvent), (0x08, M.ConfigDeviceEvent))}
            cached = self._config_cache[icm] = (events, self._config_keys(records))
        events, keys = cached
        if msg.TYPE is MT.CONFIG_REQUEST_KEY_EVENT:
            out.append(Delivery(sid, M.ConfigKeyEvent(status=0, **keys)))
            return
        mask = getattr(msg, "configuration_mask", 0) or 0
        if mask == 0:  # "updates only": nothing changes in a mock's configuration
            return
        # only the kinds the session's OPEN_REQ ConfigMsgMask asked for (§3.3: "ConfigMsgMask which
        # configuration events are sent"; at v18 OPEN_CONF grants them in ConfigMsgMaskGranted); the
        # two masks number the kinds differently (§6.8)
        sub = self.subs[sid]
        mask &= sum(bit for open_bit, bit in _CONFIG_KINDS if sub.config_msg_mask & open_bit)
        out.append(Delivery(sid, M.ConfigBeginEvent(config_type=1, configuration_mask=mask, **keys)))
        for bit in (0x01, 0x02, 0x04, 0x08):
            if mask & bit:
                out.extend(Delivery(sid, m) for m in events[bit])
        out.append(Delivery(sid, M.ConfigEndEvent(status=0)))

    def _team_config_req(self, out: list[Delivery], sid: int, req: M.TeamConfigReq, now: float) -> None:
        """TEAM_CONFIG_EVENT per team (Operation 1 add; members with AgentFlags 0x4 for supervisors, 0x5 for the
        team's primary supervisor — the first configured, whom assist and emergency calls try first —, §5.6
        "0x1 primary supervisor ... 0x4 supervisor", both bits: it is a supervisor too), then TEAM_CONFIG_CONF (reference §7.2 team configuration). Needs CTI_SERVICE_SUPERVISOR (checked
        by :meth:`handle`). An event holds at most 64 members (§5.6 NumRecords): a larger team's further
        members follow in Operation 3 (change team) events adding them (RecordType 0), 64 at a time.
        The team's CSQs (the center's ``teams``) follow its agents as members of MemberType 2, the CSQID as the
        AgentID string (the page: "the CSQID of a member of the team if the MemberType is CSQ member"),
        RecordType 0 (add) as every record of an upload; AgentFlags 0: the page's flags are attributes of an
        agent or supervisor and it gives none for a CSQ (U: the mock's choice). A team with CSQs and no agents
        has an event of its own."""
        if req.config_param & 0x1:  # initial upload; 0x2 (updates only) has nothing to send
            teams: dict[str, list[AgentConfig]] = {}
            for a in self.config.agents:
                teams.setdefault(a.team, []).append(a)
            team_csqs: dict[str, list[int]] = {}
            for t in self.config.teams:
                teams.setdefault(t.name, [])
                team_csqs[t.name] = [c.id for n in t.csqs if (c := self.config.csq(n)) is not None]
            for team_id, (name, members) in enumerate(sorted(teams.items()), 1):
                primary = next((a.id for a in members if a.supervisor), None)
                records = [M.TeamMember(agent_id=a.id, agent_flags=(0x5 if a.id == primary else 0x4)
                                        if a.supervisor else 0, record_type=0, member_type=1) for a in members]
                records += [M.TeamMember(agent_id=str(cid), agent_flags=0, record_type=0, member_type=2)  # flags U
                            for cid in team_csqs.get(name, ())]
                for first in range(0, max(len(records), 1), 64):
                    recs = tuple(records[first:first + 64])
                    out.append(Delivery(sid, M.TeamConfigEvent(team_id=team_id, operation=3 if first else 1,
                                                               reserved=bytes(8), team_name=name, records=recs)))
        out.append(Delivery(sid, M.TeamConfigConf(invoke_id=req.invoke_id, status=0)))

    def snapshot(self, max_calls: int | None = None) -> dict[str, Any]:
        """A JSON-ready picture of the center (control API, reports): the calls as :meth:`call_view`
        shows them, the oldest first, at most ``max_calls`` of them (``calls_truncated``: how many
        more there are); each CSQ's queue, its head first, at most ``max_calls`` call IDs of it
        (``queues_truncated``: CSQ -> how many more wait in it, for the queues cut short)."""
        calls = list(itertools.islice(self.calls.values(), max_calls))
        positions = self.queue_positions() if calls else {}
        waiting = {str(k): v for k, v in self.queues.items() if v}
        return {
            "online": self.online,
            "agents": [{"id": a.id, "extension": a.cfg.extension, "instrument": a.device, "state": a.state.name,
                        "reason_code": a.reason, "pending": a.pending.name if a.pending else None,
                        "sessions": sorted(self.agent_sessions.get(a.id, ())),
                        "acd_state": self.acd.line_state_name(self, a) if self.acd is not None else None}
                       for a in self.agents.values()],
            "calls": [self.call_view(c, positions) for c in calls],
            "calls_total": len(self.calls),
            "calls_truncated": len(self.calls) - len(calls),
            "queues": {k: v[:max_calls] for k, v in waiting.items()},
            "queues_truncated": {k: len(v) - max_calls for k, v in waiting.items()
                                 if max_calls is not None and len(v) > max_calls},
            "sessions": {"agent": sum(len(v) for v in self.agent_sessions.values()), "bridge": len(self.bridges)},
        }

    def queue_positions(self) -> dict[int, tuple[int, int]]:
        """Every queued call: call ID -> (CSQID, its place in that queue, 0 first)."""
        return {cid: (csq_id, i) for csq_id, q in self.queues.items() for i, cid in enumerate(q)}

    def call_view(self, call: Call, positions: Mapping[int, tuple[int, int]] | None = None) -> dict[str, Any]:
        """A JSON-ready picture of one call, in a fixed key order: what the call events carry (type,
        ANI, DNIS, dialed number, call variables in wire order, the ECC named variables and named arrays
        in the shape a call is injected with: ``{"user.items": ["a", null, "b"]}``), the CSQ, whether it
        waits in a queue and where, and its legs. Bytes (UserToUserInfo) are shown in hex; a text a
        client sent that was not UTF-8 keeps its bytes as lone surrogates (``json_text`` escapes them).
        ``positions``: :meth:`queue_positions`, computed once for many calls."""
        if positions is None:
            positions = self.queue_positions()
        where = positions.get(call.id)
        csq = next((c.name for c in self.config.csqs if c.id == call.csq_id), None)
        order = {k: i for i, k in enumerate(CALL_DATA_KEYS)}
        arrays: dict[str, list[str | None]] = {}
        for a in call.named_arrays:
            values = arrays.setdefault(a.name, [])
            values.extend([None] * (a.index + 1 - len(values)))
            values[a.index] = a.value
        return {
            "call_id": call.id, "type": call.shown_type.name, "ani": call.ani, "dnis": call.dnis, "dialed": call.dialed,
            "csq_id": call.csq_id if call.csq_id != NONE_ID else None, "csq": csq,
            "acd": call.acd, "queued": where is not None, "queue_position": where[1] if where is not None else None,
            "started": round(call.started, 6), "consult_of": call.consult_of, "conferenced": call.conferenced,
            "variables": {k: (v.hex() if isinstance(v, bytes) else v)
                          for k, v in sorted(call.variables.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
                          if v is not None},
            "named_variables": {v.name: v.value for v in call.named_variables},
            "named_arrays": arrays,
            "legs": [{"device": lg.device, "agent": lg.agent, "state": lg.state.name} for lg in call.legs.values()],
        }

    # -- timers -----------------------------------------------------------------------------------------------

    def _schedule(self, at: float, fn: Callable[[list[Delivery], float], None]) -> None:
        heapq.heappush(self._timers, (at, next(self._seq), fn))

    def tick(self, now: float) -> list[Delivery]:
        out: list[Delivery] = []
        while self._timers and self._timers[0][0] <= now:
            _, _, fn = heapq.heappop(self._timers)
            fn(out, now)
        return out

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def _preset_call(self, out: list[Delivery], c: Any, now: float) -> None:
        """A call in progress at start (scenario ``center.calls``)."""
        agent = self.agents[c.agent]
        csq = self.config.csq(c.csq) if c.csq else None
        if not agent.logged_in:
            self._enter_state(agent, AS.AGENT_STATE_NOT_READY)
        call = self._new_call(now, CallType.CALLTYPE_CCX_IN, c.ani, csq_id=csq.id if csq else NONE_ID, acd=True,
                              variables=dict(c.variables), named_variables=c.named_variables,
                              named_arrays=c.named_arrays)
        self._put_leg(call, Leg(c.ani, None, LCS.LCS_CONNECT))
        state = {"ringing": LCS.LCS_ALERTING, "talking": LCS.LCS_CONNECT, "held": LCS.LCS_HOLD}[c.state]
        self._put_leg(call, Leg(agent.device, agent.id, state, state is LCS.LCS_ALERTING))
        self._enter_state(agent, AS.AGENT_STATE_RESERVED if state is LCS.LCS_ALERTING else AS.AGENT_STATE_TALKING)
        agent.call_csq, agent.offered_from = call.csq_id, None
        if state is LCS.LCS_ALERTING:
            self._ring_timer(agent, call.id, now)
        self.preset_call_ids.append(call.id)


#: the request handlers of :meth:`ContactCenter.handle` (a table outside the class: mypyc, which compiles this module
#: for the compiled build, takes no class attribute naming the class's own methods)
_HANDLERS: dict[MessageType, Callable[..., None]] = {
    MT.SET_AGENT_STATE_REQ: ContactCenter._set_agent_state_req,
    MT.QUERY_AGENT_STATE_REQ: ContactCenter._query_agent_state_req,
    MT.ANSWER_CALL_REQ: ContactCenter._answer_call_req,
    MT.HOLD_CALL_REQ: ContactCenter._hold_call_req,
    MT.RETRIEVE_CALL_REQ: ContactCenter._retrieve_call_req,
    MT.MAKE_CALL_REQ: ContactCenter._make_call_req,
    MT.CONSULT_CALL_REQ: ContactCenter._consult_call_req,
    MT.TRANSFER_CALL_REQ: ContactCenter._transfer_call_req,
    MT.CONFERENCE_CALL_REQ: ContactCenter._conference_call_req,
    MT.ALTERNATE_CALL_REQ: ContactCenter._alternate_call_req,
    MT.RECONNECT_CALL_REQ: ContactCenter._reconnect_call_req,
    MT.CLEAR_CONNECTION_REQ: ContactCenter._clear_connection_req,
    MT.CLEAR_CALL_REQ: ContactCenter._clear_call_req,
    MT.SEND_DTMF_SIGNAL_REQ: ContactCenter._send_dtmf_signal_req,
    MT.BAD_CALL_REQ: ContactCenter._bad_call_req,
    MT.SET_CALL_DATA_REQ: ContactCenter._set_call_data_req,
    MT.QUERY_DEVICE_INFO_REQ: ContactCenter._query_device_info_req,
    MT.SNAPSHOT_DEVICE_REQ: ContactCenter._snapshot_device_req,
    MT.SNAPSHOT_CALL_REQ: ContactCenter._snapshot_call_req,
    MT.TEAM_CONFIG_REQ: ContactCenter._team_config_req,
    MT.SUPERVISOR_ASSIST_REQ: ContactCenter._supervisor_assist_req,
    MT.EMERGENCY_CALL_REQ: ContactCenter._emergency_call_req,
    MT.SUPERVISE_CALL_REQ: ContactCenter._supervise_call_req,
    MT.CONFIG_REQUEST_KEY_EVENT: ContactCenter._config_request,
    MT.CONFIG_REQUEST_EVENT: ContactCenter._config_request,
    MT.QUERY_AGENT_QUEUE_STATISTICS_REQ: ContactCenter._query_agent_queue_statistics_req,
    MT.QUERY_QUEUE_STATISTICS_REQ: ContactCenter._query_queue_statistics_req,
    MT.QUERY_SUMMARY_STATISTICS_REQ: ContactCenter._query_summary_statistics_req,
}


def _load_acd(config: CenterConfig) -> Any:
    """The ACD guard (mockcti.acd) unless the center turns the rules off (``acd_rules = false``)."""
    if not config.acd_rules:
        return None
    from mockcti.center.acd_guard import AcdGuard

    return AcdGuard(config)
