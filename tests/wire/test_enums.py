"""mockcti/wire/enums.py against the reference (protocol.md §4, §6, Appendix A).

The docstring test needs nothing but the package; the table tests parse ``../shared/reference/
protocol.md`` and are skipped (via the ``shared_dir`` fixture) when it is not beside the checkout.
"""

from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path

import pytest

from mockcti.wire import UCCX, Dialect, DecodeError, Frame, decode
from mockcti.wire import enums as E
from mockcti.wire.enums import (
    ICM_ONLY_MESSAGE_TYPES, ICM_ONLY_TAGS, PROVISIONAL_MESSAGE_TYPES, UCCX_STATUS_CODES, UCCX_TAGS, AgentState,
    AgentStateMask, CallEventMask, CCXErrorCode, ControlFailureCode, EventCause, LocalConnectionState, MessageType,
    ServiceMask, StatusCode, Tag, enum_name,
)

ENUM_CLASSES = sorted(
    (obj for name, obj in vars(E).items()
     if inspect.isclass(obj) and issubclass(obj, enum.Enum) and obj.__module__ == E.__name__),
    key=lambda c: c.__name__,
)


def _rows(section: str) -> list[list[str]]:
    """The cells of every markdown table row of ``section`` (header and separator rows dropped)."""
    out = []
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        out.append([c.strip() for c in line.strip("|").split("|")])
    return out


def _section(text: str, start: str, end: str | None) -> str:
    i = text.index(start)
    j = text.find(end, i + len(start)) if end else -1
    return text[i:] if j < 0 else text[i:j]


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> str:
    path = shared_dir / "reference" / "protocol.md"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path.read_text(encoding="utf-8")


# -- docstrings ---------------------------------------------------------------------------


def test_the_module_defines_the_enumerations_of_the_reference():
    names = {c.__name__ for c in ENUM_CLASSES}
    assert {"MessageType", "Tag", "StatusCode", "ControlFailureCode", "CCXErrorCode", "AgentState",
            "EventCause", "ServiceMask", "CallEventMask", "AgentStateMask"} <= names
    assert names <= set(E.__all__), "every enumeration is exported"


@pytest.mark.parametrize("cls", ENUM_CLASSES, ids=lambda c: c.__name__)
def test_every_enum_docstring_names_its_guide_table_and_reference_section(cls):
    doc = cls.__doc__ or ""
    assert doc and doc != enum.IntEnum.__doc__ and doc != enum.IntFlag.__doc__, f"{cls.__name__} has no docstring"
    # "(UCCX "<table>"; reference §6.4)": the guide (UCCX or ICM) and its table, then the reference section
    m = re.search(r"\(((?:UCCX|ICM)\b.*?);\s+reference (§\d+(?:\.\d+)?|Appendix [A-Z])", doc, re.S)
    assert m, f"{cls.__name__}: the docstring names no guide table and reference section: {doc!r}"
    assert len(m.group(1)) > len("UCCX "), f"{cls.__name__}: the guide reference names no table"


@pytest.mark.parametrize("cls", ENUM_CLASSES, ids=lambda c: c.__name__)
def test_the_reference_section_named_in_each_docstring_exists(cls, reference):
    headings = set(re.findall(r"^#{2,4} (§?[\dA-Z]+(?:\.\d+)?)[ .]", reference, re.M))
    headings |= {f"Appendix {h}" for h in re.findall(r"^## Appendix ([A-Z])\.", reference, re.M)}
    for ref in re.findall(r"reference (§\d+(?:\.\d+)?|Appendix [A-Z])", cls.__doc__):
        key = ref.lstrip("§")
        assert key in headings, f"{cls.__name__} cites reference {ref}, which protocol.md has no heading for"


# -- spot values from reference §6 ----------------------------------------------------------------

STATUS_SPOTS = {
    0: "E_CTI_NO_ERROR", 1: "E_CTI_INVALID_VERSION", 2: "E_CTI_INVALID_MESSAGE_TYPE", 3: "E_CTI_INVALID_FIELD",
    4: "E_CTI_SESSION_NOT_OPEN", 5: "E_CTI_SESSION_ALREADY_OPEN", 6: "E_CTI_REQUIRED_DATA_MISSING",
    7: "E_CTI_INVALID_PERIPHERAL_ID", 10: "E_CTI_DEVICE_IN_USE", 11: "E_CTI_NEW_SESSION_OPENED",
    13: "E_CTI_INVALID_CALLID", 17: "E_CTI_UNSPECIFIED_FAILURE", 18: "E_CTI_INVALID_TIMEOUT",
    23: "E_CTI_INVALID_FIELD_LENGTH", 92: "E_CTI_SERVER_NOT_MASTER", 93: "E_CTI_INVALID_CSQ",
    94: "E_CTI_JTAPI_CCM_PROBLEM", 96: "E_CTI_AUTO_CONFIG_RESET",
}


@pytest.mark.parametrize(("value", "name"), STATUS_SPOTS.items())
def test_status_code_spot_values(value, name):
    assert StatusCode(value).name == name  # the UCCX name is the canonical member, ICM names are aliases
    assert StatusCode(value) in UCCX_STATUS_CODES


def test_icm_status_names_are_aliases_and_reserved_codes_are_not_uccx():
    assert StatusCode["E_CTI_INVALID_FIELD_TAG"] is StatusCode.E_CTI_INVALID_FIELD
    assert StatusCode["E_CTI_INVALID_CSD"] is StatusCode.E_CTI_INVALID_CSQ
    for reserved in (12, 14, 15, 25, 26, 49):
        assert StatusCode(reserved) not in UCCX_STATUS_CODES


@pytest.mark.parametrize(("value", "name"), [
    (0, "CF_GENERIC_UNSPECIFIED"), (1, "CF_GENERIC_OPERATION"), (3, "CF_VALUE_OUT_OF_RANGE"),
    (4, "CF_OBJECT_NOT_KNOWN"), (6, "CF_INVALID_CALLED_DEVICE"), (11, "CF_INVALID_CSTA_CALL_ID"),
    (12, "CF_INVALID_CSTA_DEVICE_ID"), (13, "CF_INVALID_CSTA_CONNECTION_ID"), (14, "CF_INVALID_DESTINATION"),
    (256, "CF_INVALID_AGENT_ID_SPECIFIED"),
])
def test_control_failure_spot_values(value, name):
    assert ControlFailureCode(value).name == name


def test_ccx_error_codes_run_from_88001():
    assert CCXErrorCode.CCX_JTAPI_CCM_PROBLEM == 88001
    assert CCXErrorCode.CCX_AGENT_INVALID == 88009
    assert [int(c) for c in CCXErrorCode][1:] == list(range(88001, 88001 + len(CCXErrorCode) - 1))


@pytest.mark.parametrize(("value", "name"), [
    (0, "AGENT_STATE_LOGIN"), (1, "AGENT_STATE_LOGOUT"), (2, "AGENT_STATE_NOT_READY"), (3, "AGENT_STATE_READY"),
    (4, "AGENT_STATE_TALKING"), (5, "AGENT_STATE_WORK"), (6, "AGENT_STATE_WORK_READY"), (7, "BUSY_OTHER"),
    (8, "AGENT_STATE_RESERVED"), (9, "AGENT_STATE_UNKNOWN"), (11, "AGENT_STATE_ACTIVE"), (12, "AGENT_STATE_PAUSED"),
])
def test_agent_state_spot_values(value, name):
    assert AgentState(value).name == name


def test_icm_agent_state_names_alias_the_uccx_ones():
    assert AgentState.AGENT_STATE_AVAILABLE is AgentState.AGENT_STATE_READY
    assert AgentState.AGENT_STATE_WORK_NOT_READY is AgentState.AGENT_STATE_WORK


def test_mask_spot_values():
    assert ServiceMask.CTI_SERVICE_CLIENT_EVENTS == 0x1 and ServiceMask.CTI_SERVICE_ALL_EVENTS == 0x10
    assert ServiceMask.CTI_SERVICE_SUPERVISOR == 0x80 and ServiceMask.CTI_SERVICE_CONFIG_EVENTS == 0x40000
    assert ServiceMask.CTI_AGENT_STATE_CONTROL_ONLY == 0x2000
    # the guide's example: DELIVERED + ESTABLISHED = 0x5
    assert CallEventMask.CALL_DELIVERED_MASK | CallEventMask.CALL_ESTABLISHED_MASK == 0x5
    assert CallEventMask.BEGIN_CALL_MASK == 0x2000 and CallEventMask.END_CALL_MASK == 0x4000
    assert AgentStateMask.AGENT_TALKING_MASK == 0x10 and AgentStateMask.AGENT_WORK_MASK == 0x20
    assert AgentStateMask.AGENT_RESERVED_MASK == 0x100
    # every mask member is a single bit
    for cls in (ServiceMask, CallEventMask, AgentStateMask):
        for m in cls:
            assert int(m) and int(m) & (int(m) - 1) == 0, f"{cls.__name__}.{m.name} is not one bit"


def test_enum_name_names_known_bits_and_keeps_unknown_ones():
    assert enum_name(AgentStateMask, 0x3FFF).startswith("AGENT_LOGIN_MASK|")
    assert enum_name(AgentStateMask, 0x3FFF).endswith("|0x3E00")
    assert enum_name(ServiceMask, 0) == "0"
    assert enum_name(EventCause, 4242) == "UNKNOWN(4242)"
    assert enum_name(StatusCode, 3) == "E_CTI_INVALID_FIELD"


@pytest.mark.parametrize(("value", "name"), [
    (0xFFFF, "CEC_NONE"), (2, "CEC_ALTERNATE"), (3, "CEC_BUSY"), (10, "CEC_CALL_NOT_ANSWERED"),
    (22, "CEC_NEW_CALL"), (23, "CEC_NO_AVAILABLE_AGENTS"), (28, "CEC_REDIRECTED"), (32, "CEC_TRANSFER"),
    (35, "CEC_TIME_OUT"), (43, "CEC_SUPERVISOR_ASSIST"), (1014, "CECX_DROP_HANDLED_OTHER"),
])
def test_event_cause_spot_values(value, name):
    assert EventCause(value).name == name


def test_local_connection_states():
    assert [LocalConnectionState(v).name for v in range(7)] == [
        "LCS_NULL", "LCS_INITIATE", "LCS_ALERTING", "LCS_CONNECT", "LCS_HOLD", "LCS_QUEUED", "LCS_FAIL"]


# -- §4 message type table ------------------------------------------------------------------------


def _message_rows(reference: str) -> list[list[str]]:
    sec = _section(reference, "## 4. Message type table", "Numbers of ICM messages that UCCX does **not**")
    return [r for r in _rows(sec) if r[0] != "ID"]


def _message_name(cell: str) -> str:
    return re.match(r"[A-Z][A-Z0-9_]*", cell).group()


def test_section4_has_every_uccx_message_it_announces(reference):
    rows = _message_rows(reference)
    total = int(re.search(r"Total: (\d+) UCCX message types", reference).group(1))
    assert len(rows) == total
    assert len({_message_name(r[2]) for r in rows}) == total


def test_section4_rows_equal_message_type(reference):
    rows = _message_rows(reference)
    assert rows, "no rows parsed from §4"
    for row in rows:
        ident, hexa, name = row[0], row[1], _message_name(row[2])
        assert name in MessageType.__members__, f"§4 {name} is not a MessageType"
        member = MessageType[name]
        if ident == "unknown":
            assert member in PROVISIONAL_MESSAGE_TYPES, f"{name} has no published number, must be provisional"
            continue
        assert int(ident) == int(hexa, 16), f"§4 row {row}: ID and Hex disagree"
        assert member == int(ident), f"MessageType.{name} = {int(member)}, §4 says {ident}"
        assert UCCX.message_type(int(ident)) is member, f"the UCCX profile does not map {ident} to {name}"
        # the ICM alias in parentheses names the same number
        alias = re.search(r"\(ICM: ([A-Z_]+)\)", row[2])
        if alias and alias.group(1) in MessageType.__members__:
            assert MessageType[alias.group(1)] is member


def test_icm_only_message_numbers_are_not_uccx_messages(reference):
    sec = _section(reference, "Numbers of ICM messages that UCCX does **not**", "Notes on numbering conflicts")
    numbers = []
    for row in _rows(sec):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", row[0])
        if m:
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            numbers.extend(range(lo, hi + 1))
    assert len(numbers) > 50
    d = Dialect.uccx(14)
    for n in numbers:
        assert UCCX.message_type(n) is None, f"{n} is ICM-only but the UCCX profile knows it"
        with pytest.raises(DecodeError) as exc:
            decode(Frame(n, (1234).to_bytes(4, "big")), d)
        assert exc.value.status is StatusCode.E_CTI_INVALID_MESSAGE_TYPE and exc.value.invoke_id == 1234
    for mt in ICM_ONLY_MESSAGE_TYPES:
        assert int(mt) in numbers, f"{mt.name} is marked ICM-only but §4 does not list {int(mt)}"


# -- Appendix A tag tables --------------------------------------------------------------------------


def test_appendix_a1_tags_equal_tag(reference):
    rows = [r for r in _rows(_section(reference, "### A.1", "### A.2")) if re.match(r"\d", r[0])]
    assert len(rows) == int(re.search(r"(\d+) table rows covering", reference).group(1))
    seen: set[int] = set()
    for row in rows:
        rng = re.fullmatch(r"(\d+)\.\.(\d+)", row[0])
        if rng:  # 13..22 CALL_VAR_1 .. CALL_VAR_10
            lo, hi = int(rng.group(1)), int(rng.group(2))
            first, last = re.findall(r"[A-Z][A-Z0-9_]*", row[4])
            assert (Tag[first], Tag[last]) == (lo, hi)
            names = [Tag(t).name for t in range(lo, hi + 1)]
            assert names == [f"CALL_VAR_{i}" for i in range(1, hi - lo + 2)]
            seen.update(range(lo, hi + 1))
            continue
        tag = int(re.match(r"\d+", row[0]).group())
        seen.add(tag)
        assert tag in Tag._value2member_map_, f"A.1 tag {tag} is not a Tag"
        assert tag in UCCX_TAGS, f"A.1 tag {tag} is missing from UCCX_TAGS"
        icm = re.match(r"[A-Z][A-Z0-9_]*", row[4])
        if icm is None:
            continue  # the row gives no ICM name (a second row of the same tag does)
        name = icm.group()
        # a name the ICM table uses twice gets its number as suffix (AGENT_SKILL_TARGET_ID_185)
        assert Tag.__members__.get(name) == tag or Tag.__members__.get(f"{name}_{tag}") == tag, \
            f"A.1 tag {tag} is {name}; Tag says {Tag(tag).name}"
    assert seen == set(UCCX_TAGS)


def test_appendix_a2_tags_equal_tag(reference):
    rows = [r for r in _rows(_section(reference, "### A.2", "\n## ")) if re.fullmatch(r"\d+", r[0])]
    assert rows
    for row in rows:
        tag, name = int(row[0]), re.match(r"[A-Z][A-Z0-9_]*", row[1]).group()
        assert Tag.__members__.get(name) == tag, f"A.2 tag {tag} is {name}"
        assert tag in ICM_ONLY_TAGS and tag not in UCCX_TAGS
