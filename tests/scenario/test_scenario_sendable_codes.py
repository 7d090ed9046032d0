"""Scenario loader: only codes a server of the scenario's profile sends may be named.

Client-side sentinels (catalog ``sent_by_server = false``) are refused wherever a scenario names
them; an ``icm_only`` E_CTI status (UCCX lists the value as reserved, protocol.md §6.1: "A UCCX
mock should only ever send the codes with a UCCX name") is refused as the status of a fail or a
failure_event under the default ``uccx`` profile and accepted under ``ucce``. CF codes marked
``icm_only`` (UCCX use unconfirmed, §6.2) stay allowed.
"""

from __future__ import annotations

import pytest

from mockcti.catalog import default
from mockcti.scenario import Emit, Fail, ScenarioError, load_scenario_text

_FAIL = "name: x\n{dialect}rules:\n  - when: {{message: HOLD_CALL_REQ}}\n    then:\n      - fail: {{{body}}}\n"
_EVENT = "name: x\n{dialect}timeline:\n  - at: 1\n    do: {{failure_event: {{status: {status}}}}}\n"
_EMIT = "name: x\ntimeline:\n  - at: 1\n    do: {emit: {message: CONTROL_FAILURE_CONF, fields: {%s}}}\n"
_WHEN = ("name: x\nrules:\n  - when:\n      message: SEND_DTMF_SIGNAL_REQ\n      fields: {invoke_id: %s}\n"
         "    then: [default]\n")


def load(text: str):
    return load_scenario_text(text, filename="scenarios/x.yaml")


def errors_of(text: str) -> list[ScenarioError]:
    with pytest.raises(ScenarioError) as ei:
        load(text)
    return ei.value.errors


def located(text: str, key_path: str, *needles: str, line: int | None = None) -> ScenarioError:
    errs = errors_of(text)
    match = [e for e in errs if e.key_path == key_path and all(n in e.message for n in needles)]
    assert match, [str(e) for e in errs]
    e = match[0]
    assert e.file == "scenarios/x.yaml" and e.line == (line or text.count("\n")), str(e)
    assert str(e).startswith(f"scenarios/x.yaml:{e.line}: {key_path}: ")
    return e


# -- client-side sentinels ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, value, number", [
    ("CTIERR_PROVIDER_CLOSED", "0xDEADBEEF", 0xDEADBEEF),
    ("PROVIDER_CLOSED", "0xDEADBEEF", 0xDEADBEEF),  # by alias
    ("CTIERR_PROTOCOL_TIMEOUT", "0xBEEFBEEF", 0xBEEFBEEF),
])
def test_a_client_side_sentinel_as_peripheral_error_code_is_a_located_error(name, value, number):
    text = _FAIL.format(dialect="", body=f"failure_code: CF_GENERIC_OPERATION, peripheral_error_code: {name}")
    e = located(text, "rules[0].then[0].fail.peripheral_error_code", value, "client-side", "no server sends it",
                f"give the number {number}")
    assert "internal error" not in str(e)


def test_the_sentinel_bits_can_still_be_given_as_a_number():
    text = _FAIL.format(dialect="", body="failure_code: CF_GENERIC_OPERATION, peripheral_error_code: 3735928559")
    act = load(text).rules[0].then[0]
    assert isinstance(act, Fail) and act.peripheral_error_value == 0xDEADBEEF and act.peripheral_error_code is None


@pytest.mark.parametrize("text, key_path, line", [
    (_EMIT % "ccx_error_code: CTIERR_PROVIDER_CLOSED", "timeline[0].do.emit.fields.ccx_error_code", 4),
    (_WHEN % "CTIERR_PROTOCOL_TIMEOUT", "rules[0].when.fields.invoke_id", 5),
])
def test_a_client_side_sentinel_in_an_integer_field_is_a_located_error(text, key_path, line):
    located(text, key_path, "client-side", "no server sends it", "give the number", line=line)


def test_every_sentinel_of_the_catalog_is_refused():
    sentinels = [e for e in default() if not e.sent_by_server]
    assert {e.name for e in sentinels} >= {"CTIERR_PROVIDER_CLOSED", "CTIERR_PROTOCOL_TIMEOUT"}
    for e in sentinels:
        located(_EMIT % f"ccx_error_code: {e.name}", "timeline[0].do.emit.fields.ccx_error_code", e.name,
                "client-side")


def test_a_sendable_ctierr_code_is_still_accepted():
    act = load(_EMIT % "ccx_error_code: CTIERR_HOLDFAILED").timeline[0].actions[0]
    assert isinstance(act, Emit) and act.fields == {"ccx_error_code": 0x8CCC000F}


# -- icm_only E_CTI statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize("status, code, closest", [
    ("E_CTI_FUNCTION_NOT_AVAILABLE", 12, "E_CTI_UNSPECIFIED_FAILURE"),
    ("E_CTI_INVALID_DEVICE", 87, "E_CTI_UNSPECIFIED_FAILURE"),
    ("E_CTI_TIMEOUT", 16, "E_CTI_INVALID_TIMEOUT"),
    ("E_INVALID_CONFIG_MSG_MASK", 95, "E_CTI_UNSPECIFIED_FAILURE"),  # the ICM spelling, an alias
])
@pytest.mark.parametrize("dialect", ["", "dialect: {profile: uccx}\n"])
def test_an_icm_only_status_is_refused_under_the_uccx_profile(status, code, closest, dialect):
    for kind in ("", "kind: FAILURE_EVENT, "):
        text = _FAIL.format(dialect=dialect, body=f"{kind}status: {status}")
        e = located(text, "rules[0].then[0].fail.status", f"({code})", "UCCX lists as reserved", closest,
                    "profile: ucce")
        assert "a UCCX server never sends it" in e.message
    located(_EVENT.format(dialect=dialect, status=status), "timeline[0].do.failure_event.status",
            "UCCX lists as reserved", closest)


@pytest.mark.parametrize("status, code", [("E_CTI_FUNCTION_NOT_AVAILABLE", 12), ("E_CTI_INVALID_DEVICE", 87)])
def test_an_icm_only_status_is_accepted_under_the_ucce_profile(status, code):
    sc = load(_FAIL.format(dialect="dialect: {profile: ucce}\n", body=f"status: {status}"))
    act = sc.rules[0].then[0]
    assert isinstance(act, Fail) and act.kind == "FAILURE_CONF" and act.status_code == code
    sc = load(_EVENT.format(dialect="dialect: {profile: ucce}\n", status=status))
    assert sc.timeline[0].actions[0].status_code == code


def test_every_status_with_a_uccx_name_is_accepted_and_every_reserved_one_refused():
    statuses = default().entries("uccx_status")
    reserved = [e for e in statuses if e.status == "icm_only"]
    assert len(reserved) > 70 and {e.code for e in reserved} >= {12, 87}
    for e in statuses:
        text = _FAIL.format(dialect="", body=f"status: {e.name}")
        if e.status == "icm_only":
            located(text, "rules[0].then[0].fail.status", "UCCX lists as reserved")
        else:
            assert load(text).rules[0].then[0].status_code == e.code


def test_an_unknown_status_under_uccx_is_answered_with_uccx_names_only():
    e = located(_FAIL.format(dialect="", body="status: E_CTI_INVALID_DEVIC"), "rules[0].then[0].fail.status",
                "unknown E_CTI status")
    suggested = e.message.split("closest: ")[1].split(" (")[0].split(", ")
    assert suggested and all(default().get(n).status != "icm_only" for n in suggested), e.message


def test_icm_only_cf_codes_stay_allowed():
    """For CF codes icm_only means "UCCX use unconfirmed" (protocol.md §6.2), not "reserved"."""
    cf = [e for e in default().entries("uccx_cf") if e.status == "icm_only"]
    assert cf
    for e in cf[:5] + cf[-2:]:
        act = load(_FAIL.format(dialect="", body=f"failure_code: {e.name}")).rules[0].then[0]
        assert act.failure_code_value == e.code


def test_a_raw_field_value_is_not_a_status_choice():
    """emit/reply fields are raw message values: a catalog name there is only its number."""
    text = "name: x\ntimeline:\n  - at: 1\n    do: {emit: {message: FAILURE_EVENT, fields: {status: E_CTI_TIMEOUT}}}\n"
    act = load(text).timeline[0].actions[0]
    assert act.fields == {"status": 16}


# -- names of the wrong kind in enumerated raw fields ---------------------------------------------------------

_RAW = "name: x\ntimeline:\n  - at: 1\n    do: {emit: {message: %s, fields: {%s}}}\n"


@pytest.mark.parametrize("message, field, name, kind, takes", [
    # a CF code as a status was sent as status 1 (E_CTI_INVALID_VERSION), a CTIERR code as 2362179599,
    # an agent state as 3 (E_CTI_INVALID_FIELD): a number of another table, silently
    ("FAILURE_CONF", "status", "CF_GENERIC_OPERATION", "uccx_cf code", "an E_CTI status"),
    ("FAILURE_EVENT", "status", "CTIERR_HOLDFAILED", "cisco_ctierr code", "an E_CTI status"),
    ("FAILURE_CONF", "status", "AGENT_STATE_READY", "name of AgentState", "an E_CTI status"),
    ("CONTROL_FAILURE_CONF", "failure_code", "E_CTI_INVALID_FIELD", "uccx_status code", "a CF failure code"),
    ("CONTROL_FAILURE_CONF", "failure_code", "CCX_AGENT_INVALID", "uccx_ccx code", "a CF failure code"),
    ("CONTROL_FAILURE_CONF", "ccx_error_code", "ACD_HOLD_BAD_STATE", "cn_ngcc code", "a UCCX error code"),
    ("CONTROL_FAILURE_CONF", "ccx_error_code", "CF_GENERIC_OPERATION", "uccx_cf code", "a UCCX error code"),
])
def test_a_code_of_the_wrong_kind_in_a_raw_field_is_a_located_error(message, field, name, kind, takes):
    located(_RAW % (message, f"{field}: {name}"), f"timeline[0].do.emit.fields.{field}",
            f"{name} is a {kind}", f"{message}.{field} takes {takes}")


def test_a_code_of_the_wrong_kind_in_a_condition_is_a_located_error():
    text = "name: x\nrules:\n  - when:\n      message: CLOSE_REQ\n      fields: {status: CF_GENERIC_OPERATION}\n" \
           "    then: [default]\n"
    located(text, "rules[0].when.fields.status", "CF_GENERIC_OPERATION is a uccx_cf code",
            "CLOSE_REQ.status takes an E_CTI status", line=5)


def test_an_unknown_name_in_a_raw_status_names_the_closest_statuses():
    e = located(_RAW % ("FAILURE_CONF", "status: E_CTI_INVALID_FEILD"), "timeline[0].do.emit.fields.status",
                "unknown name 'E_CTI_INVALID_FEILD'", "FAILURE_CONF.status takes an E_CTI status")
    assert "E_CTI_INVALID_FIELD" in e.message


def test_an_unconfirmed_code_in_a_raw_field_says_it_has_no_value():
    located(_RAW % ("CONTROL_FAILURE_CONF", "ccx_error_code: CFWDALL_ALREADY_OFF"),
            "timeline[0].do.emit.fields.ccx_error_code", "CFWDALL_ALREADY_OFF has no known value")


def test_codes_of_the_right_kind_in_raw_fields_are_their_numbers():
    act = load(_RAW % ("CONTROL_FAILURE_CONF", "failure_code: CF_GENERIC_OPERATION, ccx_error_code: CTIERR_HOLDFAILED"
                       )).timeline[0].actions[0]
    assert act.fields == {"failure_code": 1, "ccx_error_code": 0x8CCC000F}
    act = load(_RAW % ("CONTROL_FAILURE_CONF", "failure_code: 21, ccx_error_code: CCX_AGENT_INVALID")).timeline[0].actions[0]
    assert act.fields == {"failure_code": 21, "ccx_error_code": 88009}
    act = load(_RAW % ("FAILURE_EVENT", "status: E_CTI_INVALID_FIELD_TAG")).timeline[0].actions[0]  # the ICM alias
    assert act.fields == {"status": 3}


@pytest.mark.parametrize("message, field, name, needles", [
    # enumerations that are not codes: another enumeration's name was its number here, silently
    # (SYS_TEXT_FYI is 1: AGENT_STATE_LOGOUT), and a short name had no suggestion
    ("AGENT_STATE_EVENT", "agent_state", "SYS_TEXT_FYI",
     ("SYS_TEXT_FYI is a name of IcmSystemEventID/SystemEventID", "AGENT_STATE_EVENT.agent_state takes an AgentState name")),
    ("AGENT_STATE_EVENT", "agent_state", "E_CTI_INVALID_FIELD", ("E_CTI_INVALID_FIELD is a uccx_status code",)),
    # a name without its enumeration's prefix (READY, as mockcti.client and the pytest handle take it) names
    # the member in full first: difflib's order put AGENT_STATE_NOT_READY there, taken for the one meant
    ("AGENT_STATE_EVENT", "agent_state", "READY",
     ("unknown name 'READY'", "closest: AGENT_STATE_READY ('READY' in full), AGENT_STATE_NOT_READY")),
    ("AGENT_STATE_EVENT", "agent_state", "not_ready",
     ("unknown name 'not_ready'", "closest: AGENT_STATE_NOT_READY ('not_ready' in full), AGENT_STATE_WORK_NOT_READY")),
    ("FAILURE_CONF", "status", "INVALID_CALLID", ("closest: E_CTI_INVALID_CALLID ('INVALID_CALLID' in full)",)),
    ("CALL_HELD_EVENT", "event_cause", "AGENT_STATE_HOLD",
     ("AGENT_STATE_HOLD is a name of AgentState", "CALL_HELD_EVENT.event_cause takes an EventCause name")),
])
def test_a_name_of_another_enumeration_is_a_located_error(message, field, name, needles):
    located(_RAW % (message, f"{field}: {name}"), f"timeline[0].do.emit.fields.{field}", *needles)


def test_a_short_state_name_in_an_expect_steps_fields_names_the_full_name_first():
    """What a new user writes after `cti.set_agent_state("READY")`: the error's first suggestion is the one meant."""
    located("name: x\nsteps:\n  - expect: {message: SET_AGENT_STATE_REQ, fields: {agent_state: READY}}\n",
            "steps[0].expect.fields.agent_state", "SET_AGENT_STATE_REQ.agent_state takes an AgentState name",
            "closest: AGENT_STATE_READY ('READY' in full), ")


def test_a_name_of_the_fields_own_enumeration_is_its_number():
    assert load(_RAW % ("AGENT_STATE_EVENT", "agent_state: AGENT_STATE_READY")).timeline[0].actions[0].fields == {
        "agent_state": 3}


# -- messages the profile does not have ------------------------------------------------------------------

_STATS = ("name: x\n{dialect}rules:\n  - when: {{message: QUERY_SUMMARY_STATISTICS_REQ}}\n    then:\n"
          "      - reply: {{message: QUERY_SUMMARY_STATISTICS_CONF}}\nexpect:\n  - message: QUERY_QUEUE_STATISTICS_REQ\n")


def test_a_uccx_statistics_message_is_a_located_error_under_the_ucce_profile():
    """ICM has no QUERY_*_STATISTICS: a ucce session's is refused E_CTI_INVALID_MESSAGE_TYPE before any rule
    sees it, and the server cannot send the confirmation. The scenario validated, its rule never matched
    and its expectation could never be met."""
    text = _STATS.format(dialect="dialect: {profile: ucce}\n")
    for key_path, name, line in (("rules[0].when.message", "QUERY_SUMMARY_STATISTICS_REQ", 4),
                                 ("rules[0].then[0].reply.message", "QUERY_SUMMARY_STATISTICS_CONF", 6),
                                 ("expect[0].message", "QUERY_QUEUE_STATISTICS_REQ", 8)):
        located(text, key_path, f"{name} is a UCCX message the ucce profile does not have",
                "E_CTI_INVALID_MESSAGE_TYPE", "profile: uccx", line=line)


@pytest.mark.parametrize("dialect", ["", "dialect: {profile: uccx}\n"])
def test_the_uccx_statistics_messages_stay_usable_under_the_uccx_profile(dialect):
    sc = load(_STATS.format(dialect=dialect))
    assert sc.rules[0].when.message.name == "QUERY_SUMMARY_STATISTICS_REQ"


# -- a SYSTEM_EVENT's status as the profile's clients read it ---------------------------------------------

_SYSTEM = "name: x\n{dialect}timeline:\n  - at: 1\n    do: {{system_event: {{id: SYS_CENTRAL_CONTROLLER_OFFLINE, ccx_status: {status}}}}}\n"


def test_a_ucce_scenario_names_icms_pg_status_and_not_uccxs_ccx_status():
    """Under ucce a SYSTEM_EVENT opens with ICM's PGStatus: a scenario could name only UCCX's CCXStatus values
    (PGS_CC_DOWN was 'unknown CCXStatus'), and CCX_IN_SERVICE, 0x400, went to ICM clients as failure bits."""
    sc = load(_SYSTEM.format(dialect="dialect: {profile: ucce}\n", status="PGS_CC_DOWN"))
    assert sc.timeline[0].actions[0].ccx_status == 0x2
    e = located(_SYSTEM.format(dialect="dialect: {profile: ucce}\n", status="CCX_IN_SERVICE"),
                "timeline[0].do.system_event.ccx_status", "CCX_IN_SERVICE is a CCXStatus value",
                "under the ucce profile the first field of SYSTEM_EVENT is PGStatus", "PGS_NORMAL")
    assert "unknown" not in e.message


@pytest.mark.parametrize("dialect", ["", "dialect: {profile: uccx}\n"])
def test_a_uccx_scenario_names_ccx_status_and_not_icms_pg_status(dialect):
    assert load(_SYSTEM.format(dialect=dialect, status="CCX_OUT_OF_SERVICE")).timeline[0].actions[0].ccx_status == 0x600
    located(_SYSTEM.format(dialect=dialect, status="PGS_CC_DOWN"), "timeline[0].do.system_event.ccx_status",
            "PGS_CC_DOWN is a PGStatus value", "the first field of SYSTEM_EVENT is CCXStatus", "CCX_IN_SERVICE")


# -- every catalogued code a scenario can name ----------------------------------------------------------

#: the fail key that names a code of each source, and the Fail attributes its name and number land in
_FAIL_SLOTS = {
    "uccx_status": ("status: {}", "status", "status_code"),
    "uccx_cf": ("failure_code: {}", "failure_code", "failure_code_value"),
    "uccx_ccx": ("failure_code: CF_GENERIC_OPERATION, peripheral_error_code: {}",
                 "peripheral_error_code", "peripheral_error_value"),
    "cisco_ctierr": ("failure_code: CF_GENERIC_OPERATION, peripheral_error_code: {}",
                     "peripheral_error_code", "peripheral_error_value"),
    "cn_ngcc": ("status: E_CTI_UNSPECIFIED_FAILURE, text_code: {}", "text_code", "text_code_value"),
}


@pytest.mark.parametrize("source", sorted(_FAIL_SLOTS))
def test_every_code_of_the_catalog_can_be_named_by_its_name_or_any_alias(source):
    """A fail names every sendable code of its sources by name, by each alias and in any case, and
    sends the catalog's number; a code without a value or a client-side sentinel is refused."""
    body, name_attr, value_attr = _FAIL_SLOTS[source]
    ucce = "dialect: {profile: ucce}\n"  # also the icm_only statuses (refused under uccx: tested above)
    entries = default().entries(source)
    assert entries
    for e in entries:
        for name in (e.name, *e.aliases, e.name.lower()):
            text = _FAIL.format(dialect=ucce, body=body.format(name))
            if e.sendable:
                act = load(text).rules[0].then[0]
                assert (getattr(act, name_attr), getattr(act, value_attr)) == (e.name, e.code), name
            else:
                errs = errors_of(text)
                assert any(e.name in err.message for err in errs), (name, [str(x) for x in errs])


@pytest.mark.parametrize("source", ["uccx_ccx", "cisco_ctierr"])
def test_every_sendable_error_code_is_a_raw_ccx_error_code(source):
    for e in default().entries(source):
        for name in (e.name, *e.aliases):
            text = _RAW % ("CONTROL_FAILURE_CONF", f"ccx_error_code: {name}")
            if e.sendable:
                assert load(text).timeline[0].actions[0].fields == {"ccx_error_code": e.code}, name
            else:
                errors_of(text)
