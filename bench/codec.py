"""Codec benchmark: the fast path against plain construct and a hand-written ``struct`` baseline.

For OPEN_REQ, AGENT_STATE_EVENT and CALL_DELIVERED_EVENT it measures messages per second for
decode and encode on three paths, all in the same run:

- ``fast``      mockcti.wire.decode / encode (derived struct formats + tag table)
- ``construct`` mockcti.wire.decode_construct / encode_construct (construct's interpreter)
- ``struct``    a hand-written decoder/encoder for that one message, producing the same
                dataclass (the best a person could do with ``struct`` and no framework)

and prints the ratios (lines containing ``ratio``). Targets (issue 2): fast >= 0.5x struct and
>= 20x construct, for decode and encode of each message. Absolute numbers on shared machines
are noise; the ratios are measured back to back.

    python bench/codec.py [--seconds 0.5] [--json]
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time

from mockcti.wire import Dialect, Frame, decode, decode_construct, encode, encode_construct
from mockcti.wire.messages import AgentStateEvent, CallDeliveredEvent, OpenReq

DIALECT = Dialect.uccx(14)

OPEN_REQ = OpenReq(invoke_id=1, version_number=14, idle_timeout=60, services_requested=0x7, call_msg_mask=0xFFFF,
                   agent_state_mask=0x1FF, config_msg_mask=0, client_id="agent1001", client_password=b"",
                   agent_instrument="3001", agent_id="1001")
AGENT_STATE_EVENT = AgentStateEvent(csq_state=3, csq_id=0xFFFFFFFF, agent_state=3, agent_id="1001",
                                    agent_extension="3001", agent_instrument="3001")
CALL_DELIVERED = CallDeliveredEvent(
    connection_device_type=0, call_id=16777507, line_type=3, application_id=1, csq_id=2, alerting_device_type=76,
    calling_device_type=0, called_device_type=0, last_redirect_device_type=0xFFFF, local_connection_state=2,
    event_cause=0xFFFF, connection_device_id="2006", alerting_device_id="2006", calling_device_id="2005",
    called_device_id="7000", ani="2005", dialed_number="7000")

# -- hand-written baselines ------------------------------------------------------------------------

_OPEN_FIXED = struct.Struct(">11I")
_ASE_FIXED = struct.Struct(">IIIHHIIIHHHiIHIiiH")
_CDE_FIXED = struct.Struct(">IIHHIHHIIIIHHHHHHHHH")
_HDR = struct.Struct(">II")


def _s(data: bytes) -> str:
    return (data[:-1] if data[-1:] == b"\0" else data).decode()


def _tlv(tag: int, value: str) -> bytes:
    b = value.encode() + b"\0"
    return bytes((tag, len(b))) + b


def hand_decode_open_req(body: bytes) -> OpenReq:
    f = _OPEN_FIXED.unpack_from(body)
    kw = {}
    pos, n = 44, len(body)
    while pos < n:
        tag, ln = body[pos], body[pos + 1]
        data = body[pos + 2:pos + 2 + ln]
        pos += 2 + ln
        if tag == 1:
            kw["client_id"] = _s(data)
        elif tag == 2:
            kw["client_password"] = bytes(data)
        elif tag == 6:
            kw["agent_instrument"] = _s(data)
        elif tag == 194:
            kw["agent_id"] = _s(data)
        elif tag == 4:
            kw["agent_extension"] = _s(data)
    return OpenReq(invoke_id=f[0], version_number=f[1], idle_timeout=f[2], peripheral_id=f[3],
                   services_requested=f[4], call_msg_mask=f[5], agent_state_mask=f[6], config_msg_mask=f[7],
                   reserved1=f[8], reserved2=f[9], reserved3=f[10], **kw)


def hand_encode_open_req(m: OpenReq) -> bytes:
    body = _OPEN_FIXED.pack(m.invoke_id, m.version_number, m.idle_timeout, m.peripheral_id, m.services_requested,
                            m.call_msg_mask, m.agent_state_mask, m.config_msg_mask, 0, 0, 0)
    body += _tlv(1, m.client_id) + bytes((2, len(m.client_password))) + m.client_password
    body += _tlv(6, m.agent_instrument) + _tlv(194, m.agent_id)
    return _HDR.pack(len(body), 3) + body


def hand_decode_agent_state_event(body: bytes) -> AgentStateEvent:
    f = _ASE_FIXED.unpack_from(body)
    kw = {}
    pos, n = 58, len(body)
    while pos < n:
        tag, ln = body[pos], body[pos + 1]
        data = body[pos + 2:pos + 2 + ln]
        pos += 2 + ln
        if tag == 194:
            kw["agent_id"] = _s(data)
        elif tag == 4:
            kw["agent_extension"] = _s(data)
        elif tag == 6:
            kw["agent_instrument"] = _s(data)
    return AgentStateEvent(
        monitor_id=f[0], peripheral_id=f[1], session_id=f[2], peripheral_type=f[3], csq_state=f[4],
        state_duration=f[5], csq_id=f[6], skill_group_id=f[7], skill_group_priority=f[8], agent_state=f[9],
        event_reason_code=f[10], mrd_id=f[11], num_tasks=f[12], agent_mode=f[13], max_task_limit=f[14],
        icm_agent_id=f[15], agent_availability_status=f[16], num_csqs=None if f[17] == 0 else f[17], **kw)


def hand_encode_agent_state_event(m: AgentStateEvent) -> bytes:
    body = _ASE_FIXED.pack(m.monitor_id, m.peripheral_id, m.session_id, m.peripheral_type, m.csq_state,
                           m.state_duration, m.csq_id, m.skill_group_id, m.skill_group_priority, m.agent_state,
                           m.event_reason_code, m.mrd_id, m.num_tasks, m.agent_mode, m.max_task_limit,
                           m.icm_agent_id, m.agent_availability_status, 0)
    body += _tlv(194, m.agent_id) + _tlv(4, m.agent_extension) + _tlv(6, m.agent_instrument)
    return _HDR.pack(len(body), 30) + body


_CDE_STR = {25: "connection_device_id", 26: "alerting_device_id", 27: "calling_device_id", 28: "called_device_id",
            29: "last_redirect_device_id", 8: "ani", 10: "dnis", 11: "dialed_number", 12: "caller_entered_digits"}


def hand_decode_call_delivered(body: bytes) -> CallDeliveredEvent:
    f = _CDE_FIXED.unpack_from(body)
    kw = {}
    pos, n = 54, len(body)
    while pos < n:
        tag, ln = body[pos], body[pos + 1]
        data = body[pos + 2:pos + 2 + ln]
        pos += 2 + ln
        name = _CDE_STR.get(tag)
        if name is not None:
            kw[name] = _s(data)
    return CallDeliveredEvent(
        monitor_id=f[0], peripheral_id=f[1], peripheral_type=f[2], connection_device_type=f[3], call_id=f[4],
        line_handle=f[5], line_type=f[6], application_id=f[7], service_id=f[8], csq_id=f[9], skill_group_id=f[10],
        skill_group_priority=f[11], alerting_device_type=f[12], calling_device_type=f[13], called_device_type=f[14],
        last_redirect_device_type=f[15], local_connection_state=f[16], event_cause=f[17],
        num_named_variables=None if f[18] == 0 else f[18], num_named_arrays=None if f[19] == 0 else f[19], **kw)


def hand_encode_call_delivered(m: CallDeliveredEvent) -> bytes:
    body = _CDE_FIXED.pack(m.monitor_id, m.peripheral_id, m.peripheral_type, m.connection_device_type, m.call_id,
                           m.line_handle, m.line_type, m.application_id, m.service_id, m.csq_id, m.skill_group_id,
                           m.skill_group_priority, m.alerting_device_type, m.calling_device_type,
                           m.called_device_type, m.last_redirect_device_type, m.local_connection_state,
                           m.event_cause, 0, 0)
    body += (_tlv(25, m.connection_device_id) + _tlv(26, m.alerting_device_id) + _tlv(27, m.calling_device_id)
             + _tlv(28, m.called_device_id) + _tlv(8, m.ani) + _tlv(11, m.dialed_number))
    return _HDR.pack(len(body), 9) + body


CASES = [
    ("OPEN_REQ", OPEN_REQ, hand_decode_open_req, hand_encode_open_req),
    ("AGENT_STATE_EVENT", AGENT_STATE_EVENT, hand_decode_agent_state_event, hand_encode_agent_state_event),
    ("CALL_DELIVERED_EVENT", CALL_DELIVERED, hand_decode_call_delivered, hand_encode_call_delivered),
]


def rate(fn, arg, seconds: float) -> float:
    """Calls per second of ``fn(arg)``, best of three runs of about ``seconds / 3`` each."""
    n = 64
    while True:  # calibrate
        t0 = time.perf_counter()
        for _ in range(n):
            fn(arg)
        dt = time.perf_counter() - t0
        if dt > 0.02:
            break
        n *= 2
    per_run = max(1, int(n * (seconds / 3) / dt))
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(per_run):
            fn(arg)
        best = max(best, per_run / (time.perf_counter() - t0))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=0.6, help="time per measurement (default 0.6)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args(argv)
    results = []
    ok = True
    for name, msg, hdec, henc in CASES:
        wire = encode(msg, DIALECT)
        frame = Frame(int(msg.TYPE), wire[8:])
        # the three paths agree before anything is timed
        assert henc(msg) == wire == encode_construct(msg, DIALECT), name
        assert hdec(frame.body) == decode(frame, DIALECT) == decode_construct(frame, DIALECT) == msg, name
        for op in ("decode", "encode"):
            if op == "decode":
                fast = rate(lambda f: decode(f, DIALECT), frame, args.seconds)
                cons = rate(lambda f: decode_construct(f, DIALECT), frame, args.seconds)
                hand = rate(hdec, frame.body, args.seconds)
            else:
                fast = rate(lambda m: encode(m, DIALECT), msg, args.seconds)
                cons = rate(lambda m: encode_construct(m, DIALECT), msg, args.seconds)
                hand = rate(henc, msg, args.seconds)
            r_hand, r_cons = fast / hand, fast / cons
            met = r_hand >= 0.5 and r_cons >= 20
            ok &= met
            results.append({"message": name, "op": op, "fast_per_s": round(fast), "construct_per_s": round(cons),
                            "struct_per_s": round(hand), "ratio_vs_struct": round(r_hand, 3),
                            "ratio_vs_construct": round(r_cons, 1), "target_met": met})
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "results": results, "all_targets_met": ok}, indent=2))
    else:
        print(f"{'message':22} {'op':6} {'fast/s':>10} {'struct/s':>10} {'construct/s':>12}")
        for r in results:
            print(f"{r['message']:22} {r['op']:6} {r['fast_per_s']:>10} {r['struct_per_s']:>10} "
                  f"{r['construct_per_s']:>12}")
        for r in results:
            print(f"ratio {r['message']} {r['op']}: fast/struct = {r['ratio_vs_struct']:.2f} (target >= 0.5), "
                  f"fast/construct = {r['ratio_vs_construct']:.1f} (target >= 20)"
                  f"{'' if r['target_met'] else '  << below target'}")
        print(f"all targets met: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
