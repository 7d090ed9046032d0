"""The ACD line-state rules (:mod:`mockcti.acd`) applied to the center's call-control requests.

Each agent's calls are read as one ACD line state (error-catalogs.md §3.3 meanings: Delivered,
Originated, Line1Connected, Line1Held, Line2Connected, Held, Line2AllHeld, Line2Conferenced, …);
the request becomes an :class:`~mockcti.acd.AcdRequest` (call IDs stand for the parties: ``dest``
is the call the request names, ``line_info`` the agent's calls, ``talking_to`` the connected one,
``held_party`` the held one); a rejection is answered as CONTROL_FAILURE_CONF with the
operation's CF code and UCCX error code (``acd_failure_mode = "cf"``, the default) or with the
matching Cisco CTIERR code as the CCXErrorCode value and its name in Text
(``acd_failure_mode = "ctierr"``), and recorded as a violation naming the rule, the ACD state
and the seed-000 code with its text. The center's state does not change.

UCCX adaptation (a deliberate, documented deviation from the seed platform): a UCCX desktop
conferences, alternates and reconnects from *consultation connected, original held*
(reference §7.2), which the seed calls Line2Connected; the seed's rules only allow those
operations from Line2AllHeld/Line2Conferenced, Held/Line2Conferenced and Line1Conferenced.
:data:`UCCX_ADAPTATION` widens those three state sets so the standard UCCX flows pass; a
center configured with ``acd = {uccx_adaptation = false}`` applies the seed's sets unchanged.
Everything else in the center's ``acd`` table is passed to :class:`mockcti.acd.AcdConfig`.

Pure. Must not import the hub or the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockcti.acd import CHECKS, AcdConfig, AcdLine, AcdModel, AcdRequest, LineState, Operation, wire_failure
from mockcti.wire.enums import CCXErrorCode, LocalConnectionState

if TYPE_CHECKING:
    from mockcti.center.core import Agent, Call, ContactCenter

__all__ = ["AcdGuard", "UCCX_ADAPTATION", "line_state"]

LCS = LocalConnectionState
L = LineState

#: allowed-state additions that let the UCCX consult flows of reference §7.2 through (see module doc)
UCCX_ADAPTATION: dict[str, tuple[LineState, ...]] = {
    "ACD-1133": (L.Line2Connected,),  # Conference from consult connected + original held
    "ACD-1152": (L.Line2Connected,),  # Alternate between consult and original
    "ACD-1146": (L.Line2Connected, L.Held),  # Reconnect: drop the consult call, retrieve the original
}


def agent_legs(center: "ContactCenter", agent: "Agent") -> list[tuple["Call", Any]]:
    """(call, the agent's leg on it) for every call the agent is on."""
    out = []
    aid = agent.id
    for c in center.calls.values():
        for leg in c.legs.values():
            if leg.agent == aid:
                out.append((c, leg))
                break
    return out


def line_state(center: "ContactCenter", agent: "Agent", legs: list | None = None) -> LineState:
    """The agent's calls read as one ACD line state (§3.3 meanings)."""
    if legs is None:
        legs = agent_legs(center, agent)
    if not legs:
        return L.Idle
    if len(legs) == 1:
        call, leg = legs[0]
        others = [lg for lg in call.legs.values() if lg is not leg]
        if leg.state is LCS.LCS_ALERTING:
            return L.Delivered
        if leg.state is LCS.LCS_INITIATE or any(o.state is LCS.LCS_ALERTING for o in others):
            return L.Originated
        if leg.state is LCS.LCS_HOLD:
            return L.Line1Held if len(others) <= 1 else L.Held
        return {0: L.Line1Connected, 1: L.Line1Connected, 2: L.Line2Conferenced}.get(len(others), L.Line3Conferenced)
    held = [(c, lg) for c, lg in legs if lg.state is LCS.LCS_HOLD]
    active = [(c, lg) for c, lg in legs if lg.state is not LCS.LCS_HOLD]
    if not active:
        return L.Line2AllHeld
    call, leg = active[0]
    others = [lg for lg in call.legs.values() if lg is not leg]
    if leg.state in (LCS.LCS_INITIATE, LCS.LCS_ALERTING) or any(o.state is LCS.LCS_ALERTING for o in others):
        return L.Originated if held else L.Delivered
    if held and call.consult_of == held[0][0].id:
        return L.Line2Connected
    return L.Held


class AcdGuard:
    def __init__(self, config: Any) -> None:
        raw = dict(config.acd or {})
        adapt = raw.pop("uccx_adaptation", True)
        if not isinstance(adapt, bool):
            raise ValueError("acd.uccx_adaptation: expected true or false")
        if adapt:
            extra = dict(raw.get("allowed_states", {}))
            for rid, states in UCCX_ADAPTATION.items():
                if rid not in extra:  # an explicit override in the center file wins
                    allowed = next(c.allowed_states for c in CHECKS if c.rule_id == rid) or frozenset()
                    extra[rid] = sorted(str(s) for s in allowed | set(states))
            raw["allowed_states"] = extra
        self.model = AcdModel(AcdConfig.from_mapping(raw))
        self.mode = config.acd_failure_mode

    def line_state_name(self, center: "ContactCenter", agent: "Agent") -> str:
        return str(line_state(center, agent))

    def check(self, center: "ContactCenter", agent: "Agent", op: str, params: dict[str, Any]) -> None:
        from mockcti.center.core import Failure, Refused

        operation = Operation(op)
        legs = agent_legs(center, agent)
        state = line_state(center, agent, legs)
        request = self._request(agent, legs, operation, params)
        verdict = self.model.evaluate(AcdLine(state), request)
        if verdict.ok:
            return
        check = verdict.check
        assert check is not None
        wf = wire_failure(operation)
        text = f"{check.code_name} ({check.code}): {check.explanation}"
        if self.mode == "ctierr":
            from mockcti import catalog

            entry = catalog.default().by_name(wf.ctierr_name)
            failure = Failure("control_failure_conf", failure_code=int(wf.cf_code),
                              ccx_error_code=entry.code & 0xFFFFFFFF, text=f"{wf.ctierr_name}: {text}"[:255])
        else:
            failure = Failure("control_failure_conf", failure_code=int(wf.cf_code),
                              ccx_error_code=int(wf.ccx_error or CCXErrorCode.CCX_DEFAULT_ERROR_CODE), text=text[:255])
        raise Refused(failure, violation={
            "rule": check.rule_id, "operation": str(operation), "acd_state": str(state), "agent_id": agent.id,
            "code": check.code, "code_name": check.code_name, "inferred": check.inferred,
            "detail": f"{operation} in {state}: {check.explanation}",
            "explanation": check.explanation,
        })

    def _request(self, agent: "Agent", legs: list, op: Operation, p: dict[str, Any]) -> AcdRequest:
        line_info = tuple(str(c.id) for c, _ in legs)
        talking = next((str(c.id) for c, leg in legs if leg.state is LCS.LCS_CONNECT), "")
        held = next((str(c.id) for c, leg in legs if leg.state is LCS.LCS_HOLD), "")
        call = p.get("call")
        other = p.get("other")
        kw: dict[str, Any] = {"line_info": line_info, "talking_to": talking, "held_party": held}
        if op is Operation.MakeCall:
            kw.update(dest=p.get("dest") or "", did="000002" + agent.device)
        elif op is Operation.Consult:
            kw.update(dest=p.get("dest") or "")
        elif op in (Operation.Hold, Operation.Retrieve, Operation.ClearConnection):
            kw.update(dest=str(call.id))
        elif op in (Operation.Alternate, Operation.ReConnect, Operation.Transfer) and other is not None:
            kw.update(line=str(call.id), dest=str(other.id))
        elif op is Operation.Connect:  # single-step transfer: re-route the party to dest (§3.2 derived facts)
            kw.update(dest=p.get("dest") or "")
        elif op is Operation.Answer:
            leg = p.get("leg")
            kw.update(phone_ringing=leg is not None and leg.state is LCS.LCS_ALERTING)
        return AcdRequest(op=op, **kw)
