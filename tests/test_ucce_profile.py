"""The UCCE (ICM CTI Server) profile as an ICM-style client sees it: through the hub, bytes on the wire."""

from __future__ import annotations

import pytest

from mockcti.center import ContactCenter
from mockcti.hub import Hub, Write
from mockcti.journal import Journal
from mockcti.testing.fixtures import hub_config_for
from mockcti.wire import Dialect, FrameBuffer, MessageType, decode, encode
from mockcti.wire.enums import ServiceMask
from mockcti.wire.messages import OpenReq

BRIDGE_WITH_CONFIG = int(ServiceMask.CTI_SERVICE_ALL_EVENTS | ServiceMask.CTI_SERVICE_CONFIG_EVENTS)


def open_req(dialect: Dialect, **kw) -> bytes:
    base = dict(invoke_id=1, version_number=dialect.version, idle_timeout=60, services_requested=BRIDGE_WITH_CONFIG,
                call_msg_mask=0xFFFF, agent_state_mask=0x3FFF, config_msg_mask=0x1F, client_id="icm",
                client_password=b"")
    base.update(kw)
    return encode(OpenReq(**base), dialect)


def serve(profile: str) -> tuple[Hub, int]:
    hub = Hub(ContactCenter(), journal=Journal(), config=hub_config_for(profile))
    return hub, hub.connect(0.0)


def frames_out(actions) -> list:
    return FrameBuffer(100_000).feed(b"".join(a.data for a in actions if isinstance(a, Write)))


def floating_tags(body: bytes, fixed: int, dialect: Dialect) -> list[int]:
    tw, lw = dialect.tag_width, dialect.length_width
    tags, pos = [], fixed
    while pos < len(body):
        tags.append(int.from_bytes(body[pos:pos + tw], "big"))
        pos += tw + lw + int.from_bytes(body[pos + tw:pos + tw + lw], "big")
    return tags


@pytest.mark.parametrize("version", [19, 20, 24])
def test_ucce_open_conf_leaves_out_uccx_tag_248_which_icm_reads_as_task_life(version):
    dialect = Dialect.ucce(version)
    hub, sid = serve("ucce")
    (conf,) = frames_out(hub.receive(sid, open_req(dialect), 0.0))
    assert conf.type_id == int(MessageType.OPEN_CONF)
    assert floating_tags(conf.body, 26, dialect) == [228, 208, 224]  # NumPeripherals, FltPeripheralID, MultilineAgentControl
    assert decode(conf, dialect).config_msg_mask_granted is None


def test_uccx_v18_open_conf_still_grants_the_config_mask_in_tag_248():
    dialect = Dialect.uccx(18)
    hub, sid = serve("uccx")
    (conf,) = frames_out(hub.receive(sid, open_req(dialect), 0.0))
    assert 248 in floating_tags(conf.body, 26, dialect)
    assert decode(conf, dialect).config_msg_mask_granted == 0x1F
