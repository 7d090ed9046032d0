"""Every enumeration of the CTI protocol (reference §1, §4, §6, Appendix A).

Owns: MessageType, Tag and the enumerations of reference §6 as ``IntEnum``/``IntFlag`` classes,
the §1 special values, and :func:`enum_name`, which names a value without ever raising (a
decoder must not fail on a value it does not know).

Each class's docstring names the guide table it comes from and the reference section; values
the reference marks I (ICM guide only) or U (unconfirmed) are said to be so. Must import
nothing but the standard library.
"""

from __future__ import annotations

from enum import Enum, IntEnum, IntFlag
from typing import TYPE_CHECKING, Any

__all__ = [
    "MessageType",
    "Tag",
    "StatusCode",
    "ControlFailureCode",
    "CCXErrorCode",
    "ServiceMask",
    "CallEventMask",
    "AgentStateMask",
    "IcmAgentStateMask",
    "AgentState",
    "ConfigMsgMask",
    "ConfigurationMask",
    "PeripheralType",
    "LineType",
    "EventCause",
    "SystemEventID",
    "CCXStatus",
    "PGStatus",
    "IcmSystemEventID",
    "LocalConnectionState",
    "DeviceType",
    "ConnectionDeviceType",
    "CallType",
    "CalledPartyDisposition",
    "ReasonCode",
    "ForcedFlag",
    "ConsultType",
    "RTPDirection",
    "RTPType",
    "AudioCodec",
    "SupervisoryAction",
    "ConfigKeyStatus",
    "ConfigEndStatus",
    "ConfigType",
    "RecordType",
    "ConfigAgentType",
    "ConfigDeviceType",
    "MRDomainID",
    "TeamConfigParam",
    "TeamOperation",
    "TeamAgentFlags",
    "TeamMemberType",
    "TeamConfigStatus",
    "ICM_ONLY_MESSAGE_TYPES",
    "PROVISIONAL_MESSAGE_TYPES",
    "UCCX_ONLY_MESSAGE_TYPES",
    "SERVICES_NEEDED",
    "services_text",
    "SERVICE_SINCE_VERSION",
    "services_of_version",
    "CONFIG_MASK_SINCE_VERSION",
    "config_masks_of_version",
    "UCCX_TAGS",
    "ICM_ONLY_TAGS",
    "UCCX_STATUS_CODES",
    "NULL_CALL_ID",
    "NULL_APPLICATION",
    "NULL_CSQ",
    "NULL_LINEHANDLE",
    "MAX_NUM_DEVICES",
    "MAX_CSQ_COUNT",
    "MAX_AGENTS",
    "NULL_PERIPHERAL_ID",
    "NULL_SERVICE",
    "NULL_SKILL_GROUP",
    "MAX_NUM_CTI_CLIENTS",
    "UCCX_PERIPHERAL_TYPE",
    "enum_name",
]


class MessageType(IntEnum):
    """MessageTypeID of the message header (UCCX CTI Protocol Developer Guide, "All Message Types
    Organized by ID Number"; reference §4).

    Numbers 1-57, 230 and 231 are confirmed on UCCX pages (C); the others carry the ICM number
    (I), which UCCX very likely keeps. TEAM_CONFIG_REQ/EVENT/CONF use the ICM v24 numbers
    242-244; an older ICM numbering (236-238) collides with CONFIG_CSQ/AGENT/DEVICE_EVENT (U).
    The seven UCCX messages whose number was never published (CONFIG_TERMINAL_EVENT and the
    QUERY_*_STATISTICS pairs) carry PROVISIONAL values 0xFF01-0xFF07 (U): the dialect maps them
    to real wire numbers (``Profile.with_type_ids``). ICM-only numbers that UCCX does not
    implement are members too (see ``ICM_ONLY_MESSAGE_TYPES``) so they can be named; a UCCX
    server answers them with E_CTI_INVALID_MESSAGE_TYPE. The UCCX guide calls 50/51
    CONSULT_CALL_REQ/CONF (ICM: CONSULTATION_CALL_REQ/CONF, kept as aliases).
    """

    FAILURE_CONF = 1  # ID source C
    FAILURE_EVENT = 2  # ID source C
    OPEN_REQ = 3  # ID source C
    OPEN_CONF = 4  # ID source C
    HEARTBEAT_REQ = 5  # ID source C
    HEARTBEAT_CONF = 6  # ID source C
    CLOSE_REQ = 7  # ID source C
    CLOSE_CONF = 8  # ID source C
    CALL_DELIVERED_EVENT = 9  # ID source C
    CALL_ESTABLISHED_EVENT = 10  # ID source C
    CALL_HELD_EVENT = 11  # ID source C
    CALL_RETRIEVED_EVENT = 12  # ID source C
    CALL_CLEARED_EVENT = 13  # ID source C
    CALL_CONNECTION_CLEARED_EVENT = 14  # ID source C
    CALL_ORIGINATED_EVENT = 15  # ID source C
    CALL_FAILED_EVENT = 16  # ID source C
    CALL_CONFERENCED_EVENT = 17  # ID source C
    CALL_TRANSFERRED_EVENT = 18  # ID source C
    CALL_DIVERTED_EVENT = 19  # ID source C
    CALL_SERVICE_INITIATED_EVENT = 20  # ID source C
    CALL_QUEUED_EVENT = 21  # ID source C
    BEGIN_CALL_EVENT = 23  # ID source C
    END_CALL_EVENT = 24  # ID source C
    CALL_DATA_UPDATE_EVENT = 25  # ID source C
    SET_CALL_DATA_REQ = 26  # ID source C
    SET_CALL_DATA_CONF = 27  # ID source C
    AGENT_STATE_EVENT = 30  # ID source C
    SYSTEM_EVENT = 31  # ID source C
    CONTROL_FAILURE_CONF = 35  # ID source C
    QUERY_AGENT_STATE_REQ = 36  # ID source C
    QUERY_AGENT_STATE_CONF = 37  # ID source C
    SET_AGENT_STATE_REQ = 38  # ID source C
    SET_AGENT_STATE_CONF = 39  # ID source C
    ALTERNATE_CALL_REQ = 40  # ID source C
    ALTERNATE_CALL_CONF = 41  # ID source C
    ANSWER_CALL_REQ = 42  # ID source C
    ANSWER_CALL_CONF = 43  # ID source C
    CLEAR_CALL_REQ = 44  # ID source C
    CLEAR_CALL_CONF = 45  # ID source C
    CLEAR_CONNECTION_REQ = 46  # ID source C
    CLEAR_CONNECTION_CONF = 47  # ID source C
    CONFERENCE_CALL_REQ = 48  # ID source C
    CONFERENCE_CALL_CONF = 49  # ID source C
    CONSULT_CALL_REQ = 50  # ID source C
    CONSULT_CALL_CONF = 51  # ID source C
    HOLD_CALL_REQ = 54  # ID source C
    HOLD_CALL_CONF = 55  # ID source C
    MAKE_CALL_REQ = 56  # ID source C
    MAKE_CALL_CONF = 57  # ID source C
    RECONNECT_CALL_REQ = 60  # ID source I
    RECONNECT_CALL_CONF = 61  # ID source I
    RETRIEVE_CALL_REQ = 62  # ID source I
    RETRIEVE_CALL_CONF = 63  # ID source I
    TRANSFER_CALL_REQ = 64  # ID source I
    TRANSFER_CALL_CONF = 65  # ID source I
    QUERY_DEVICE_INFO_REQ = 78  # ID source I
    QUERY_DEVICE_INFO_CONF = 79  # ID source I
    SNAPSHOT_CALL_REQ = 82  # ID source I
    SNAPSHOT_CALL_CONF = 83  # ID source I
    SNAPSHOT_DEVICE_REQ = 84  # ID source I
    SNAPSHOT_DEVICE_CONF = 85  # ID source I
    SEND_DTMF_SIGNAL_REQ = 91  # ID source I
    SEND_DTMF_SIGNAL_CONF = 92  # ID source I
    RTP_STARTED_EVENT = 116  # ID source I
    RTP_STOPPED_EVENT = 117  # ID source I
    SUPERVISOR_ASSIST_REQ = 118  # ID source I
    SUPERVISOR_ASSIST_CONF = 119  # ID source I
    SUPERVISOR_ASSIST_EVENT = 120  # ID source I
    EMERGENCY_CALL_REQ = 121  # ID source I
    EMERGENCY_CALL_CONF = 122  # ID source I
    EMERGENCY_CALL_EVENT = 123  # ID source I
    SUPERVISE_CALL_REQ = 124  # ID source I
    SUPERVISE_CALL_CONF = 125  # ID source I
    BAD_CALL_REQ = 139  # ID source I
    BAD_CALL_CONF = 140  # ID source I
    CONFIG_REQUEST_KEY_EVENT = 230  # ID source C
    CONFIG_KEY_EVENT = 231  # ID source C
    CONFIG_REQUEST_EVENT = 232  # ID source I
    CONFIG_BEGIN_EVENT = 233  # ID source I
    CONFIG_END_EVENT = 234  # ID source I
    CONFIG_APPLICATION_EVENT = 235  # ID source I
    CONFIG_CSQ_EVENT = 236  # ID source I
    CONFIG_AGENT_EVENT = 237  # ID source I
    CONFIG_DEVICE_EVENT = 238  # ID source I
    TEAM_CONFIG_REQ = 242  # ID source I
    TEAM_CONFIG_EVENT = 243  # ID source I
    TEAM_CONFIG_CONF = 244  # ID source I
    CONFIG_TERMINAL_EVENT = 0xff01  # U: number unknown, provisional
    QUERY_AGENT_QUEUE_STATISTICS_REQ = 0xff02  # U: number unknown, provisional
    QUERY_AGENT_QUEUE_STATISTICS_CONF = 0xff03  # U: number unknown, provisional
    QUERY_QUEUE_STATISTICS_REQ = 0xff04  # U: number unknown, provisional
    QUERY_QUEUE_STATISTICS_CONF = 0xff05  # U: number unknown, provisional
    QUERY_SUMMARY_STATISTICS_REQ = 0xff06  # U: number unknown, provisional
    QUERY_SUMMARY_STATISTICS_CONF = 0xff07  # U: number unknown, provisional
    # ICM-only messages (not implemented by UCCX)
    CALL_TRANSLATION_ROUTE_EVENT = 22
    RELEASE_CALL_REQ = 28
    RELEASE_CALL_CONF = 29
    CLIENT_EVENT_REPORT_REQ = 32
    CLIENT_EVENT_REPORT_CONF = 33
    CALL_REACHED_NETWORK_EVENT = 34
    DEFLECT_CALL_REQ = 52
    DEFLECT_CALL_CONF = 53
    MAKE_PREDICTIVE_CALL_REQ = 58
    MAKE_PREDICTIVE_CALL_CONF = 59
    CALL_DEQUEUED_EVENT = 86
    MONITOR_START_REQ = 93
    MONITOR_START_CONF = 94
    MONITOR_STOP_REQ = 95
    MONITOR_STOP_CONF = 96
    CHANGE_MONITOR_MASK_REQ = 97
    CHANGE_MONITOR_MASK_CONF = 98
    CLIENT_SESSION_OPENED_EVENT = 99
    CLIENT_SESSION_CLOSED_EVENT = 100
    SESSION_MONITOR_START_REQ = 101
    SESSION_MONITOR_START_CONF = 102
    SESSION_MONITOR_STOP_REQ = 103
    SESSION_MONITOR_STOP_CONF = 104
    AGENT_PRE_CALL_EVENT = 105
    AGENT_PRE_CALL_ABORT_EVENT = 106
    USER_MESSAGE_REQ = 107
    USER_MESSAGE_CONF = 108
    USER_MESSAGE_EVENT = 109
    REGISTER_VARIABLES_REQ = 110
    REGISTER_VARIABLES_CONF = 111
    QUERY_AGENT_STATISTICS_REQ = 112
    QUERY_AGENT_STATISTICS_CONF = 113
    QUERY_SKILL_GROUP_STATISTICS_REQ = 114
    QUERY_SKILL_GROUP_STATISTICS_CONF = 115
    AGENT_TEAM_CONFIG_REQ = 126
    AGENT_TEAM_CONFIG_CONF = 127
    AGENT_TEAM_CONFIG_EVENT = 128
    SET_APP_DATA_REQ = 129
    SET_APP_DATA_CONF = 130
    AGENT_DESK_SETTINGS_REQ = 131
    AGENT_DESK_SETTINGS_CONF = 132
    LIST_AGENT_TEAM_REQ = 133
    LIST_AGENT_TEAM_CONF = 134
    MONITOR_AGENT_TEAM_START_REQ = 135
    MONITOR_AGENT_TEAM_START_CONF = 136
    MONITOR_AGENT_TEAM_STOP_REQ = 137
    MONITOR_AGENT_TEAM_STOP_CONF = 138
    SET_DEVICE_ATTRIBUTES_REQ = 141
    SET_DEVICE_ATTRIBUTES_CONF = 142
    REGISTER_SERVICE_REQ = 143
    REGISTER_SERVICE_CONF = 144
    UNREGISTER_SERVICE_REQ = 145
    UNREGISTER_SERVICE_CONF = 146
    START_RECORDING_REQ = 147
    START_RECORDING_CONF = 148
    STOP_RECORDING_REQ = 149
    STOP_RECORDING_CONF = 150
    CONFIG_CALL_TYPE_EVENT = 245
    CALL_TERMINATION_EVENT = 247
    CALL_AGENT_GREETING_EVENT = 248
    AGENT_GREETING_CONTROL_REQ = 249
    AGENT_GREETING_CONTROL_CONF = 250
    CONFIG_MRD_EVENT = 254
    # ICM names of UCCX messages
    CONSULTATION_CALL_REQ = 50
    CONSULTATION_CALL_CONF = 51
    CONFIG_SERVICE_EVENT = 235
    CONFIG_SKILL_GROUP_EVENT = 236

ICM_ONLY_MESSAGE_TYPES: frozenset[MessageType] = frozenset({
    MessageType.CALL_TRANSLATION_ROUTE_EVENT,
    MessageType.RELEASE_CALL_REQ,
    MessageType.RELEASE_CALL_CONF,
    MessageType.CLIENT_EVENT_REPORT_REQ,
    MessageType.CLIENT_EVENT_REPORT_CONF,
    MessageType.CALL_REACHED_NETWORK_EVENT,
    MessageType.DEFLECT_CALL_REQ,
    MessageType.DEFLECT_CALL_CONF,
    MessageType.MAKE_PREDICTIVE_CALL_REQ,
    MessageType.MAKE_PREDICTIVE_CALL_CONF,
    MessageType.CALL_DEQUEUED_EVENT,
    MessageType.MONITOR_START_REQ,
    MessageType.MONITOR_START_CONF,
    MessageType.MONITOR_STOP_REQ,
    MessageType.MONITOR_STOP_CONF,
    MessageType.CHANGE_MONITOR_MASK_REQ,
    MessageType.CHANGE_MONITOR_MASK_CONF,
    MessageType.CLIENT_SESSION_OPENED_EVENT,
    MessageType.CLIENT_SESSION_CLOSED_EVENT,
    MessageType.SESSION_MONITOR_START_REQ,
    MessageType.SESSION_MONITOR_START_CONF,
    MessageType.SESSION_MONITOR_STOP_REQ,
    MessageType.SESSION_MONITOR_STOP_CONF,
    MessageType.AGENT_PRE_CALL_EVENT,
    MessageType.AGENT_PRE_CALL_ABORT_EVENT,
    MessageType.USER_MESSAGE_REQ,
    MessageType.USER_MESSAGE_CONF,
    MessageType.USER_MESSAGE_EVENT,
    MessageType.REGISTER_VARIABLES_REQ,
    MessageType.REGISTER_VARIABLES_CONF,
    MessageType.QUERY_AGENT_STATISTICS_REQ,
    MessageType.QUERY_AGENT_STATISTICS_CONF,
    MessageType.QUERY_SKILL_GROUP_STATISTICS_REQ,
    MessageType.QUERY_SKILL_GROUP_STATISTICS_CONF,
    MessageType.AGENT_TEAM_CONFIG_REQ,
    MessageType.AGENT_TEAM_CONFIG_CONF,
    MessageType.AGENT_TEAM_CONFIG_EVENT,
    MessageType.SET_APP_DATA_REQ,
    MessageType.SET_APP_DATA_CONF,
    MessageType.AGENT_DESK_SETTINGS_REQ,
    MessageType.AGENT_DESK_SETTINGS_CONF,
    MessageType.LIST_AGENT_TEAM_REQ,
    MessageType.LIST_AGENT_TEAM_CONF,
    MessageType.MONITOR_AGENT_TEAM_START_REQ,
    MessageType.MONITOR_AGENT_TEAM_START_CONF,
    MessageType.MONITOR_AGENT_TEAM_STOP_REQ,
    MessageType.MONITOR_AGENT_TEAM_STOP_CONF,
    MessageType.SET_DEVICE_ATTRIBUTES_REQ,
    MessageType.SET_DEVICE_ATTRIBUTES_CONF,
    MessageType.REGISTER_SERVICE_REQ,
    MessageType.REGISTER_SERVICE_CONF,
    MessageType.UNREGISTER_SERVICE_REQ,
    MessageType.UNREGISTER_SERVICE_CONF,
    MessageType.START_RECORDING_REQ,
    MessageType.START_RECORDING_CONF,
    MessageType.STOP_RECORDING_REQ,
    MessageType.STOP_RECORDING_CONF,
    MessageType.CONFIG_CALL_TYPE_EVENT,
    MessageType.CALL_TERMINATION_EVENT,
    MessageType.CALL_AGENT_GREETING_EVENT,
    MessageType.AGENT_GREETING_CONTROL_REQ,
    MessageType.AGENT_GREETING_CONTROL_CONF,
    MessageType.CONFIG_MRD_EVENT,
})

#: UCCX messages that ICM's CTI Server does not have (reference §4: "UCCX-only messages whose number is
#: unknown"; the ICM guides' message tables, v9-v24, have no queue/summary statistics of this kind -- ICM's are
#: QUERY_AGENT_STATISTICS / QUERY_SKILL_GROUP_STATISTICS, 112-115 -- and no terminal configuration: UCCX's v18
#: CONFIG_TERMINAL_EVENT, whose fields 302-305 are UCCX's, has no number in any ICM table). The ucce profile
#: leaves them out of its message table (``Profile.by_wire_id``): a ucce session sending one is refused
#: E_CTI_INVALID_MESSAGE_TYPE, a ucce server never sends one.
UCCX_ONLY_MESSAGE_TYPES: frozenset[MessageType] = frozenset({
    MessageType.CONFIG_TERMINAL_EVENT,
    MessageType.QUERY_AGENT_QUEUE_STATISTICS_REQ,
    MessageType.QUERY_AGENT_QUEUE_STATISTICS_CONF,
    MessageType.QUERY_QUEUE_STATISTICS_REQ,
    MessageType.QUERY_QUEUE_STATISTICS_CONF,
    MessageType.QUERY_SUMMARY_STATISTICS_REQ,
    MessageType.QUERY_SUMMARY_STATISTICS_CONF,
})

#: messages whose wire number no source gives (placeholders, configurable): the UCCX-only messages, the
#: statistics and CONFIG_TERMINAL_EVENT
PROVISIONAL_MESSAGE_TYPES: frozenset[MessageType] = UCCX_ONLY_MESSAGE_TYPES


class Tag(IntEnum):
    """Floating field tags, FieldDataID (UCCX "Floating FieldDataID Values"; ICM tag table;
    reference Appendix A). Member names are the ICM tag names; the UCCX field names are in the
    message declarations (``mockcti.wire.spec``). ``UCCX_TAGS`` are the tags UCCX messages use
    (A.1); ``ICM_ONLY_TAGS`` the rest of the ICM table (A.2), named so a decoder can say what an
    unexpected tag is. UCCX reuses 248 (ICM TASK_LIFE) for OPEN_CONF ConfigMsgMaskGranted (v18).
    Tags 302-305 need the 2-byte FieldDataID of protocol version 18.
    """

    CLIENT_ID = 1
    CLIENT_PASSWORD = 2
    CLIENT_SIGNATURE = 3
    AGENT_EXTENSION = 4
    AGENT_ID = 5
    AGENT_INSTRUMENT = 6
    TEXT = 7
    ANI = 8
    UUI = 9
    DNIS = 10
    DIALED_NUMBER = 11
    CED = 12
    CALL_VAR_1 = 13
    CALL_VAR_2 = 14
    CALL_VAR_3 = 15
    CALL_VAR_4 = 16
    CALL_VAR_5 = 17
    CALL_VAR_6 = 18
    CALL_VAR_7 = 19
    CALL_VAR_8 = 20
    CALL_VAR_9 = 21
    CALL_VAR_10 = 22
    CTI_CLIENT_SIGNATURE = 23
    CTI_CLIENT_TIMESTAMP = 24
    CONNECTION_DEVID = 25
    ALERTING_DEVID = 26
    CALLING_DEVID = 27
    CALLED_DEVID = 28
    LAST_REDIRECT_DEVID = 29
    ANSWERING_DEVID = 30
    HOLDING_DEVID = 31
    RETRIEVING_DEVID = 32
    RELEASING_DEVID = 33
    FAILING_DEVID = 34
    PRIMARY_DEVID = 35
    SECONDARY_DEVID = 36
    CONTROLLER_DEVID = 37
    ADDED_PARTY_DEVID = 38
    PARTY_CALLID = 39
    PARTY_DEVID_TYPE = 40
    PARTY_DEVID = 41
    TRANSFERRING_DEVID = 42
    TRANSFERRED_DEVID = 43
    DIVERTING_DEVID = 44
    QUEUE_DEVID = 45
    CALL_WRAPUP_DATA = 46
    NEW_CONNECTION_DEVID = 47
    TRUNK_USED_DEVID = 48  # ICM only
    AGENT_PASSWORD = 49
    ACTIVE_CONN_DEVID = 50
    FACILITY_CODE = 51  # ICM only
    OTHER_CONN_DEVID = 52
    HELD_CONN_DEVID = 53
    CALL_CONN_CALLID = 56
    CALL_CONN_DEVID_TYPE = 57
    CALL_CONN_DEVID = 58
    CALL_DEVID_TYPE = 59
    CALL_DEVID = 60
    CALL_DEV_CONN_STATE = 61
    SKILL_GROUP_NUMBER = 62
    SKILL_GROUP_ID = 63
    SKILL_GROUP_PRIORITY = 64
    SKILL_GROUP_STATE = 65
    OBJECT_NAME = 66  # ICM only
    DTMF_STRING = 67
    POSITION_ID = 68  # ICM only
    SUPERVISOR_ID = 69  # ICM only
    LINE_HANDLE = 70
    LINE_TYPE = 71
    ROUTER_CALL_KEY_DAY = 72
    ROUTER_CALL_KEY_CALLID = 73
    CALL_STATE = 75
    MONITORED_DEVID = 76  # ICM only
    AUTHORIZATION_CODE = 77  # ICM only
    ACCOUNT_CODE = 78  # ICM only
    ORIGINATING_DEVID = 79  # ICM only
    ORIGINATING_LINE_ID = 80  # ICM only
    CLIENT_ADDRESS = 81
    NAMED_VARIABLE = 82
    NAMED_ARRAY = 83
    CALL_CONTROL_TABLE = 84  # ICM only
    SUPERVISOR_INSTRUMENT = 85
    ATC_AGENT_ID = 86  # ICM only
    AGENT_FLAGS = 87
    ATC_AGENT_STATE = 88  # ICM only
    ATC_STATE_DURATION = 89  # ICM only
    AGENT_CONNECTION_DEVID = 90
    SUPERVISOR_CONNECTION_DEVID = 91
    LIST_TEAM_ID = 92  # ICM only
    DEFAULT_DEVICE_PORT_ADDRESS = 93  # ICM only
    SERVICE_NAME = 94  # ICM only
    CUSTOMER_PHONE_NUMBER = 95
    CUSTOMER_ACCOUNT_NUMBER = 96
    APP_PATH_ID = 97
    ROUTER_CALL_KEY_SEQUENCE_NUM = 110
    TRUNK_NUMBER = 121
    TRUNK_GROUP_NUMBER = 122
    NEXT_AGENT_STATE = 123
    DEQUEUE_TYPE = 124  # ICM only
    SENDING_ADDRESS = 125
    SENDING_PORT = 126
    MAX_QUEUED = 129
    QUEUE_ID = 130  # ICM only
    CUSTOMER_ID = 131
    SERVICE_SKILL_TARGET_ID = 132
    PERIPHERAL_NAME = 133
    DESCRIPTION = 134
    SERVICE_MEMBER_ID = 135  # ICM only
    SERVICE_MEMBER_PRIORITY = 136  # ICM only
    FIRST_NAME = 137
    LAST_NAME = 138
    SKILL_GROUP = 139  # ICM only
    AGENT_SKILL_TARGET_ID = 141
    SERVICE = 142  # ICM only
    DURATION = 150  # ICM only
    EXTENSION = 173
    SERVICE_LEVEL_THRESHOLD = 174
    SERVICE_LEVEL_TYPE = 175
    CONFIG_PARAM = 176
    SERVICE_CONFIG_KEY = 177
    SKILL_GROUP_CONFIG_KEY = 178
    AGENT_CONFIG_KEY = 179
    DEVICE_CONFIG_KEY = 180
    RECORD_TYPE = 183
    PERIPHERAL_NUMBER = 184
    AGENT_SKILL_TARGET_ID_185 = 185
    NUM_SERVICE_MEMBERS = 186  # ICM only
    SERVICE_MEMBER = 187  # ICM only
    SERVICE_PRIORITY = 188  # ICM only
    AGENT_TYPE = 189
    LOGIN_ID = 190
    NUM_SKILLS = 191
    SKILL_GROUP_SKILL_TARGET_ID = 192
    SERVICE_ID = 193
    AGENT_ID_LONG = 194
    DEVICE_TYPE = 195
    ENABLE = 198  # ICM only
    DEVICEID = 199  # ICM only
    TIMEOUT = 200  # ICM only
    CURRENT_ROUTE = 201  # ICM only
    SECONDARY_CONNECTION_CALL_ID = 202
    PRIORITY_QUEUE_NUMBER = 203  # ICM only
    TEAM_NAME = 204
    MEMBER_TYPE = 205
    EVENT_DEVICE_ID = 206
    LOGIN_NAME = 207
    PERIPHERAL_ID = 208
    CALL_TYPE_KEY_CONFIG = 209  # ICM only
    CALL_TYPE_ID = 210  # ICM only
    CUSTOMER_DEFINITION_ID = 211  # ICM only
    ENTERPRISE_NAME = 212  # ICM only
    CUR_PERIPHERAL_NUMBER = 213
    CUR_LOGIN_ID = 214
    ANI_II = 215
    MR_DOMAIN_ID = 216
    CTIOS_CIL_CLIENT_ID = 217  # ICM only
    SILENT_MONITOR_STATUS = 218  # ICM only
    REQUESTING_DEVICE_ID = 219
    REQUESTING_DEVICE_ID_TYPE = 220
    PRE_CALL_INVOKE_ID = 221  # ICM only
    ENTERPRISE_QUEUE_TIME = 222  # ICM only
    CALL_REFERENCE_ID = 223
    MULTI_LINE_AGENT_CONTROL = 224
    NETWORK_CONTROLLED = 225  # ICM only
    CLIENT_ADDRESS_IPV6 = 226  # ICM only
    SENDING_ADDRESS_IPV6 = 227  # ICM only
    NUM_PERIPHERALS = 228
    COC_CONNECTION_CALL_ID = 229
    COC_CONNECTION_DEVICE_ID_TYPE = 230
    COC_CONNECTION_DEVICE_ID = 231
    CALL_ORIGINATED_FROM = 232  # ICM only
    SET_APPDATA_CALLID = 233  # ICM only
    CLIENT_SHARE_KEY = 234  # ICM only
    AGENT_TEAM_NAME = 243  # ICM only
    DIRECTION = 244  # ICM only
    OPTIONS = 245  # ICM only
    FLT_MRD_ID = 246  # ICM only
    MEDIA_CLASS_ID = 247  # ICM only
    TASK_LIFE = 248
    TASK_START_TIMEOUT = 249  # ICM only
    MAX_TASK_DURATION = 250  # ICM only
    INTERRUPTIBLE = 251  # ICM only
    MAX_CALLS_IN_QUEUE = 252  # ICM only
    MAX_CALLS_IN_QUEUE_PER_CALL_TYPE = 253  # ICM only
    MAX_TIME_IN_QUEUE = 254  # ICM only
    INTERNAL_AGENT_STATE = 255
    SSO_ENABLED = 257  # ICM only
    FLT_TASK_ID = 258  # ICM only
    FLT_ICM_DISP = 259  # ICM only
    FLT_APP_DISP = 260  # ICM only
    NUM_MRDS = 261  # ICM only
    FLT_AGENT_MRD_ID = 262  # ICM only
    FLT_AGENT_MRD_STATE = 263  # ICM only
    FLT_PRECISION_QUEUE_ID = 264  # ICM only
    FLT_PRECISION_QUEUE_NAME = 265  # ICM only
    MAX_BEYOND_TASK_LIMIT = 266  # ICM only
    AGENT_DESK_SETTINGS_ID = 267  # ICM only
    XFER_IN_WHILE_LOGGED_OUT = 268  # ICM only
    PERIPHERAL_CONFIG_KEY = 269  # ICM only
    AGENT_DESK_SETTINGS_CONFIG_KEY = 270  # ICM only
    CONFIG_PERIPHERAL_ID = 271  # ICM only
    DEFAULT_AGENT_DESK_SETTINGS_ID = 272  # ICM only
    FLT_DESK_SETTINGS_MASK = 273  # ICM only
    DESKTOP_CONNECTED_FLAG = 288  # ICM only
    PLAY_TONE_DIRECTION = 289  # ICM only
    INVOCATION_TYPE = 290  # ICM only
    FLT_TERM_TYPE = 302
    FLT_TERM_DEVICE_NAME = 303
    FLT_TERM_TYPE_NAME = 304
    FLT_NUM_INSTRUMENTS = 305
    ACD_SHARED_LINE_USAGE = 306  # ICM only
    PLAY_ZIP_TONE = 307  # ICM only
    FLT_ENABLED_SERVICES = 309  # ICM only
    NUM_OF_ENABLED_SERVICES = 310  # ICM only
    CCAI_CONFIG_ID = 311  # ICM only
    MEDIA_TYPE = 312  # ICM only
    MEDIA_PROVIDER = 313  # ICM only

UCCX_TAGS: frozenset[int] = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 49, 50, 52, 53, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 71, 72, 73, 75, 81, 82, 83, 85, 87, 90, 91, 95, 96, 97, 110, 121, 122, 123, 125, 126, 129, 131, 132, 133, 134, 137, 138, 141, 173, 174, 175, 176, 177, 178, 179, 180, 183, 184, 185, 189, 190, 191, 192, 193, 194, 195, 202, 204, 205, 206, 207, 208, 213, 214, 215, 216, 219, 220, 223, 224, 228, 229, 230, 231, 248, 255, 302, 303, 304, 305})
ICM_ONLY_TAGS: frozenset[int] = frozenset({48, 51, 66, 68, 69, 76, 77, 78, 79, 80, 84, 86, 88, 89, 92, 93, 94, 124, 130, 135, 136, 139, 142, 150, 186, 187, 188, 198, 199, 200, 201, 203, 209, 210, 211, 212, 217, 218, 221, 222, 225, 226, 227, 232, 233, 234, 243, 244, 245, 246, 247, 249, 250, 251, 252, 253, 254, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 288, 289, 290, 306, 307, 309, 310, 311, 312, 313})

class StatusCode(IntEnum):
    """Status codes of FAILURE_CONF / FAILURE_EVENT / CLOSE_REQ (UCCX "Error (E) Status Codes";
    reference §6.1).

    Where UCCX defines a code, the member name is the UCCX name (E_CTI_INVALID_FIELD for 3,
    E_CTI_INVALID_CSQ for 93) and the ICM name is an alias. Codes UCCX lists as reserved carry
    their ICM names (I); a UCCX-faithful mock only sends codes in ``UCCX_STATUS_CODES``. 32
    (E_CTI_INCONSISTENT_AGENT_DATA) is reserved in the UCCX table but named on the UCCX session
    page (U). 97 and 98 are ICM only.
    """
    E_CTI_NO_ERROR = 0
    E_CTI_INVALID_VERSION = 1
    E_CTI_INVALID_MESSAGE_TYPE = 2
    E_CTI_INVALID_FIELD = 3
    E_CTI_SESSION_NOT_OPEN = 4
    E_CTI_SESSION_ALREADY_OPEN = 5
    E_CTI_REQUIRED_DATA_MISSING = 6
    E_CTI_INVALID_PERIPHERAL_ID = 7
    E_CTI_INVALID_AGENT_DATA = 8
    E_CTI_AGENT_NOT_LOGGED_ON = 9
    E_CTI_DEVICE_IN_USE = 10
    E_CTI_NEW_SESSION_OPENED = 11
    E_CTI_FUNCTION_NOT_AVAILABLE = 12  # I: reserved in UCCX
    E_CTI_INVALID_CALLID = 13
    E_CTI_PROTECTED_VARIABLE = 14  # I: reserved in UCCX
    E_CTI_CTI_SERVER_OFFLINE = 15  # I: reserved in UCCX
    E_CTI_TIMEOUT = 16  # I: reserved in UCCX
    E_CTI_UNSPECIFIED_FAILURE = 17
    E_CTI_INVALID_TIMEOUT = 18
    E_CTI_INVALID_SERVICE_MASK = 19  # I: reserved in UCCX
    E_CTI_INVALID_CALL_MSG_MASK = 20  # I: reserved in UCCX
    E_CTI_INVALID_AGENT_STATE_MASK = 21  # I: reserved in UCCX
    E_CTI_INVALID_RESERVED_FIELD = 22  # I: reserved in UCCX
    E_CTI_INVALID_FIELD_LENGTH = 23
    E_CTI_INVALID_DIGITS = 24  # I: reserved in UCCX
    E_CTI_BAD_MESSAGE_FORMAT = 25  # I: reserved in UCCX
    E_CTI_INVALID_TAG_FOR_MSG_TYPE = 26  # I: reserved in UCCX
    E_CTI_INVALID_DEVICE_ID_TYPE = 27  # I: reserved in UCCX
    E_CTI_INVALID_LCL_CONN_STATE = 28  # I: reserved in UCCX
    E_CTI_INVALID_EVENT_CAUSE = 29  # I: reserved in UCCX
    E_CTI_INVALID_NUM_PARTIES = 30  # I: reserved in UCCX
    E_CTI_INVALID_SYS_EVENT_ID = 31  # I: reserved in UCCX
    E_CTI_INCONSISTENT_AGENT_DATA = 32  # I: reserved in UCCX
    E_CTI_INVALID_CONNECTION_ID_TYPE = 33  # I: reserved in UCCX
    E_CTI_INVALID_CALL_TYPE = 34  # I: reserved in UCCX
    E_CTI_NOT_CALL_PARTY = 35  # I: reserved in UCCX
    E_CTI_INVALID_PASSWORD = 36  # I: reserved in UCCX
    E_CTI_CLIENT_DISCONNECTED = 37  # I: reserved in UCCX
    E_CTI_INVALID_OBJECT_STATE = 38  # I: reserved in UCCX
    E_CTI_INVALID_NUM_SKILL_GROUPS = 39  # I: reserved in UCCX
    E_CTI_INVALID_NUM_LINES = 40  # I: reserved in UCCX
    E_CTI_INVALID_LINE_TYPE = 41  # I: reserved in UCCX
    E_CTI_INVALID_ALLOCATION_STATE = 42  # I: reserved in UCCX
    E_CTI_INVALID_ANSWERING_MACHINE = 43  # I: reserved in UCCX
    E_CTI_INVALID_CALL_MANNER_TYPE = 44  # I: reserved in UCCX
    E_CTI_INVALID_CALL_PLACEMENT_TYPE = 45  # I: reserved in UCCX
    E_CTI_INVALID_CONSULT_TYPE = 46  # I: reserved in UCCX
    E_CTI_INVALID_FACILITY_TYPE = 47  # I: reserved in UCCX
    E_CTI_INVALID_MSG_TYPE_FOR_VERSION = 48  # I: reserved in UCCX
    E_CTI_INVALID_TAG_FOR_VERSION = 49  # I: reserved in UCCX
    E_CTI_INVALID_AGENT_WORK_MODE = 50  # I: reserved in UCCX
    E_CTI_INVALID_CALL_OPTION = 51  # I: reserved in UCCX
    E_CTI_INVALID_DESTINATION_COUNTRY = 52  # I: reserved in UCCX
    E_CTI_INVALID_ANSWER_DETECT_MODE = 53  # I: reserved in UCCX
    E_CTI_MUTUALLY_EXCLUS_DEVICEID_TYPES = 54  # I: reserved in UCCX
    E_CTI_INVALID_MONITORID = 55  # I: reserved in UCCX
    E_CTI_SESSION_MONITOR_ALREADY_EXISTS = 56  # I: reserved in UCCX
    E_CTI_SESSION_MONITOR_IS_CLIENTS = 57  # I: reserved in UCCX
    E_CTI_INVALID_CALL_CONTROL_MASK = 58  # I: reserved in UCCX
    E_CTI_INVALID_FEATURE_MASK = 59  # I: reserved in UCCX
    E_CTI_INVALID_TRANSFER_CONFERENCE_SETUP_MASK = 60  # I: reserved in UCCX
    E_CTI_INVALID_ARRAY_INDEX = 61  # I: reserved in UCCX
    E_CTI_INVALID_CHARACTER = 62  # I: reserved in UCCX
    E_CTI_CLIENT_NOT_FOUND = 63  # I: reserved in UCCX
    E_CTI_SUPERVISOR_NOT_FOUND = 64  # I: reserved in UCCX
    E_CTI_TEAM_NOT_FOUND = 65  # I: reserved in UCCX
    E_CTI_NO_CALL_ACTIVE = 66  # I: reserved in UCCX
    E_CTI_NAMED_VARIABLE_NOT_CONFIGURED = 67  # I: reserved in UCCX
    E_CTI_NAMED_ARRAY_NOT_CONFIGURED = 68  # I: reserved in UCCX
    E_CTI_INVALID_CALL_VARIABLE_MASK = 69  # I: reserved in UCCX
    E_CTI_ELEMENT_NOT_FOUND = 70  # I: reserved in UCCX
    E_CTI_INVALID_DISTRIBUTION_TYPE = 71  # I: reserved in UCCX
    E_CTI_INVALID_SKILL_GROUP = 72  # I: reserved in UCCX
    E_CTI_TOO_MUCH_DATA = 73  # I: reserved in UCCX
    E_CTI_VALUE_TOO_LONG = 74  # I: reserved in UCCX
    E_CTI_SCALAR_FUNCTION_ON_ARRAY = 75  # I: reserved in UCCX
    E_CTI_ARRAY_FUNCTION_ON_SCALAR = 76  # I: reserved in UCCX
    E_CTI_INVALID_NUM_NAMED_VARIABLES = 77  # I: reserved in UCCX
    E_CTI_INVALID_NUM_NAMED_ARRAYS = 78  # I: reserved in UCCX
    E_CTI_INVALID_RTP_DIRECTION = 79  # I: reserved in UCCX
    E_CTI_INVALID_RTP_TYPE = 80  # I: reserved in UCCX
    E_CTI_CALLED_PARTY_DISPOSITION = 81  # I: reserved in UCCX
    E_CTI_INVALID_SUPERVISORY_ACTION = 82  # I: reserved in UCCX
    E_CTI_AGENT_TEAM_MONITOR_ALREADY_EXISTS = 83  # I: reserved in UCCX
    E_CTI_INVALID_SERVICE = 84  # I: reserved in UCCX
    E_CTI_SERVICE_CONFLICT = 85  # I: reserved in UCCX
    E_CTI_SKILL_GROUP_CONFLICT = 86  # I: reserved in UCCX
    E_CTI_INVALID_DEVICE = 87  # I: reserved in UCCX
    E_CTI_INVALID_MR_DOMAIN = 88  # I: reserved in UCCX
    E_CTI_MONITOR_ALREADY_EXISTS = 89  # I: reserved in UCCX
    E_CTI_MONITOR_TERMINATED = 90  # I: reserved in UCCX
    E_CTI_INVALID_TASK_MSG_MASK = 91  # I: reserved in UCCX
    E_CTI_SERVER_NOT_MASTER = 92
    E_CTI_INVALID_CSQ = 93
    E_CTI_JTAPI_CCM_PROBLEM = 94
    E_CTI_INVALID_CONFIG_MSG_MASK = 95  # I: reserved in UCCX
    E_CTI_AUTO_CONFIG_RESET = 96
    E_CTI_INVALID_MONITOR_STATUS = 97  # I: not listed by UCCX
    E_CTI_INVALID_REQUEST_TYPE = 98  # I: not listed by UCCX
    # ICM names of codes UCCX renamed
    E_CTI_INVALID_FIELD_TAG = 3
    E_CTI_INVALID_CSD = 93
    E_INVALID_CONFIG_MSG_MASK = 95  # the ICM spelling of 95

UCCX_STATUS_CODES: frozenset[StatusCode] = frozenset({StatusCode.E_CTI_NO_ERROR, StatusCode.E_CTI_INVALID_VERSION, StatusCode.E_CTI_INVALID_MESSAGE_TYPE, StatusCode.E_CTI_INVALID_FIELD, StatusCode.E_CTI_SESSION_NOT_OPEN, StatusCode.E_CTI_SESSION_ALREADY_OPEN, StatusCode.E_CTI_REQUIRED_DATA_MISSING, StatusCode.E_CTI_INVALID_PERIPHERAL_ID, StatusCode.E_CTI_INVALID_AGENT_DATA, StatusCode.E_CTI_AGENT_NOT_LOGGED_ON, StatusCode.E_CTI_DEVICE_IN_USE, StatusCode.E_CTI_NEW_SESSION_OPENED, StatusCode.E_CTI_INVALID_CALLID, StatusCode.E_CTI_UNSPECIFIED_FAILURE, StatusCode.E_CTI_INVALID_TIMEOUT, StatusCode.E_CTI_INVALID_FIELD_LENGTH, StatusCode.E_CTI_SERVER_NOT_MASTER, StatusCode.E_CTI_INVALID_CSQ, StatusCode.E_CTI_JTAPI_CCM_PROBLEM, StatusCode.E_CTI_AUTO_CONFIG_RESET})


class ControlFailureCode(IntEnum):
    """CONTROL_FAILURE_CONF FailureCode, USHORT (UCCX "Control Failure (CF) Values"; reference §6.2).

    The UCCX page was seen for 0-19, 21 and 22 (C; UCCX spells 11-13 CF_INVALID_CSTA_CALL_ID /
    _DEVICE_ID / _CONNECTION_ID, the ICM spellings are aliases). Values from 23 on are ICM (I/O)
    and may or may not be emitted by UCCX. 20, 30, 39-40, 45-50, 53-60 and 65-69 are reserved.
    """
    CF_GENERIC_UNSPECIFIED = 0
    CF_GENERIC_OPERATION = 1
    CF_REQUEST_INCOMPATIBLE_WITH_OBJECT = 2
    CF_VALUE_OUT_OF_RANGE = 3
    CF_OBJECT_NOT_KNOWN = 4
    CF_INVALID_CALLING_DEVICE = 5
    CF_INVALID_CALLED_DEVICE = 6
    CF_INVALID_FORWARDING_DESTINATION = 7
    CF_PRIVILEGE_VIOLATION_ON_SPECIFIED_DEVICE = 8
    CF_PRIVILEGE_VIOLATION_ON_CALLED_DEVICE = 9
    CF_PRIVILEGE_VIOLATION_ON_CALLING_DEVICE = 10
    CF_INVALID_CSTA_CALL_ID = 11
    CF_INVALID_CSTA_DEVICE_ID = 12
    CF_INVALID_CSTA_CONNECTION_ID = 13
    CF_INVALID_DESTINATION = 14
    CF_INVALID_FEATURE = 15
    CF_INVALID_ALLOCATION_STATE = 16
    CF_INVALID_CROSS_REF_ID = 17
    CF_INVALID_OBJECT_TYPE = 18
    CF_SECURITY_VIOLATION = 19
    CF_GENERIC_STATE_INCOMPATIBILITY = 21
    CF_INVALID_OBJECT_STATE = 22
    CF_INVALID_CONNECTION_ID_FOR_ACTIVE_CALL = 23  # I/O
    CF_NO_ACTIVE_CALL = 24  # I/O
    CF_NO_HELD_CALL = 25  # I/O
    CF_NO_CALL_TO_CLEAR = 26  # I/O
    CF_NO_CONNECTION_TO_CLEAR = 27  # I/O
    CF_NO_CALL_TO_ANSWER = 28  # I/O
    CF_NO_CALL_TO_COMPLETE = 29  # I/O
    CF_GENERIC_SYSTEM_RESOURCE_AVAILABILITY = 31  # I/O
    CF_SERVICE_BUSY = 32  # I/O
    CF_RESOURCE_BUSY = 33  # I/O
    CF_RESOURCE_OUT_OF_SERVICE = 34  # I/O
    CF_NETWORK_BUSY = 35  # I/O
    CF_NETWORK_OUT_OF_SERVICE = 36  # I/O
    CF_OVERALL_MONITOR_LIMIT_EXCEEDED = 37  # I/O
    CF_CONFERENCE_MEMBER_LIMIT_EXCEEDED = 38  # I/O
    CF_GENERIC_SUBSCRIBED_RESOURCE_AVAILABILITY = 41  # I/O
    CF_OBJECT_MONITOR_LIMIT_EXCEEDED = 42  # I/O
    CF_EXTERNAL_TRUNK_LIMIT_EXCEEDED = 43  # I/O
    CF_OUTSTANDING_REQUEST_LIMIT_EXCEEDED = 44  # I/O
    CF_GENERIC_PERFORMANCE_MANAGEMENT = 51  # I/O
    CF_PERFORMANCE_LIMIT_EXCEEDED = 52  # I/O
    CF_SEQUENCE_NUMBER_VIOLATED = 61  # I/O
    CF_TIME_STAMP_VIOLATED = 62  # I/O
    CF_PAC_VIOLATED = 63  # I/O
    CF_SEAL_VIOLATED = 64  # I/O
    CF_GENERIC_UNSPECIFIED_REJECTION = 70  # I/O
    CF_GENERIC_OPERATION_REJECTION = 71  # I/O
    CF_DUPLICATE_INVOCATION_REJECTION = 72  # I/O
    CF_UNRECOGNIZED_OPERATION_REJECTION = 73  # I/O
    CF_MISTYPED_ARGUMENT_REJECTION = 74  # I/O
    CF_RESOURCE_LIMITATION_REJECTION = 75  # I/O
    CF_ACS_HANDLE_TERMINATION_REJECTION = 76  # I/O
    CF_SERVICE_TERMINATION_REJECTION = 77  # I/O
    CF_REQUEST_TIMEOUT_REJECTION = 78  # I/O
    CF_REQUESTS_ON_DEVICE_EXCEEDED_REJECTION = 79  # I/O
    CF_INVALID_AGENT_ID_SPECIFIED = 256  # I/O
    CF_INVALID_PASSWORD_SPECIFIED = 257  # I/O
    CF_INVALID_AGENT_ID_OR_PASSWORD_SPECIFIED = 258  # I/O
    CF_SPECIFIED_AGENT_ALREADY_SIGNED_ON = 259  # I/O
    CF_INVALID_LOGON_DEVICE_SPECIFIED = 260  # I/O
    CF_INVALID_ANSWERING_DEVICE_SPECIFIED = 261  # I/O
    CF_INVALID_SKILL_GROUP_SPECIFIED = 262  # I/O
    CF_INVALID_CLASS_OF_SERVICE_SPECIFIED = 263  # I/O
    CF_INVALID_TEAM_SPECIFIED = 264  # I/O
    CF_INVALID_AGENT_WORKMODE = 265  # I/O
    CF_INVALID_AGENT_REASON_CODE = 266  # I/O
    CF_ADJUNCT_SWITCH_COMM_ERROR = 267  # I/O
    CF_AGENT_NOT_PARTY_ON_CALL = 268  # I/O
    CF_INTERNAL_PROCESSING_ERROR = 269  # I/O
    CF_TAKE_CALL_CONTROL_REJECTION = 270  # I/O
    CF_TAKE_DOMAIN_CONTROL_REJECTION = 271  # I/O
    CF_REQUESTED_SERVICE_NOT_REGISTERED = 272  # I/O
    CF_INVALID_CONSULT_TYPE = 273  # I/O
    CF_ANSMAP_OR_ADPARAM_FIELD_NOT_VALID = 274  # I/O
    CF_INVALID_CALL_CONTROL_TABLE_SPECIFIED = 275  # I/O
    CF_INVALID_DIGITS_RNATIMEOUT_AMSDELAY_OR_COUNTRY = 276  # I/O
    CF_ANSWER_DETECT_PORT_UNAVAILABLE = 277  # I/O
    CF_VIRTUAL_AGENT_UNAVAILABLE = 278  # I/O
    CF_TAKEBACK_N_XFER_ROUTE_END = 279  # I/O
    CF_WRAPUP_DATA_REQUIRED = 280  # I/O
    CF_REASON_CODE_REQUIRED = 281  # I/O
    CF_INVALID_TRUNK_ID_SPECIFIED = 282  # I/O
    CF_SPECIFIED_EXTENSION_ALREADY_IN_USE = 283  # I/O
    CF_ARBITRARY_CONF_OR_XFER_NOT_SUPPORTED = 284  # I/O
    CF_NETWORK_TRANSFER_OR_CONSULT = 285  # I/O
    CF_NETWORK_TRANSFER_OR_CONSULT_FAILED = 286  # I/O
    CF_DEVICE_RESTRICTED = 287  # I/O
    CF_LINE_RESTRICTED = 288  # I/O
    CF_AGENT_ACCOUNT_LOCKED_OUT = 289  # I/O
    CF_DROP_ANY_PARTY_NOT_ENABLED_CTI = 290  # I/O
    CF_MAXIMUM_LINE_LIMIT_EXCEEDED = 291  # I/O
    CF_SHARED_LINES_NOT_SUPPORTED = 292  # I/O
    CF_EXTENSION_NOT_UNIQUE = 293  # I/O
    CF_UNKNOWN_INTERFACE_CTRLR_ID = 1001  # I/O
    CF_INVALID_INTERFACE_CTRLR_TYPE = 1002  # I/O
    CF_SOFTWARE_REV_NOT_SUPPORTED = 1003  # I/O
    CF_UNKNOWN_PID = 1004  # I/O
    CF_INVALID_TABLE_SPECIFIED = 1005  # I/O
    CF_PD_SERVICE_INACTIVE = 1006  # I/O
    CF_UNKNOWN_ROUTING_CLIENT_ID = 1007  # I/O
    CF_RC_SERVICE_INACTIVE = 1008  # I/O
    CF_INVALID_DIALED_NUMBER = 1009  # I/O
    CF_INVALID_PARAMETER = 1010  # I/O
    CF_UNKNOWN_ROUTING_PROBLEM = 1011  # I/O
    CF_UNSUPPORTED_PD_MESSAGE_REVISION = 1012  # I/O
    CF_UNSUPPORTED_RC_MESSAGE_REVISION = 1013  # I/O
    CF_UNSUPPORTED_IC_MESSAGE_REVISION = 1014  # I/O
    CF_RC_SERVICE_INACTIVE_PIM = 1015  # I/O
    CF_AGENT_GREETING_CONTROL_OPERATION_FAILURE = 1016  # I/O
    # ICM spellings
    CF_INVALID_CSTA_CALL_IDENTIFIER = 11
    CF_INVALID_CSTA_DEVICE_IDENTIFIER = 12
    CF_INVALID_CSTA_CONNECTION_IDENTIFIER = 13


class CCXErrorCode(IntEnum):
    """CONTROL_FAILURE_CONF CCXErrorCode, UINT (UCCX "Unified CCX Error Code Values"; reference §6.3).

    88018 CCX_CALL_CONTROL_MASK_NOT_ON is U: the name was seen, the value is the next in
    sequence. The page is truncated after it in every copy; CCX_ACTIVE_TERMINAL_NOT_SPECIFIED
    (added in v18) has no known value and is therefore not a member.
    """
    CCX_DEFAULT_ERROR_CODE = 0
    CCX_JTAPI_CCM_PROBLEM = 88001
    CCX_LOOKUP_FAILURE = 88002
    CCX_AGENT_DN_NOT_ASSIGNED = 88003
    CCX_AGENT_DEVICE_OFF = 88004
    CCX_AGENT_DEVICE_BUSY = 88005
    CCX_RMCM_CONTACT_NULL = 88006
    CCX_RMCM_CONTACT_INVALID = 88007
    CCX_AGENT_NULL = 88008
    CCX_AGENT_INVALID = 88009
    CCX_INVALID_ARGUMENT = 88010
    CCX_NO_CALLBACK_FROM_AGENT = 88011
    CCX_CALL_ID_NULL = 88012
    CCX_CALL_OBJECT_NULL = 88013
    CCX_JTAPI_PROVIDER_NULL = 88014
    CCX_DIALED_NUMBER_NULL = 88015
    CCX_DEVICE_ID_NULL = 88016
    CCX_TERMINAL_CONNECTION_NULL = 88017
    CCX_CALL_CONTROL_MASK_NOT_ON = 88018  # U


class ServiceMask(IntFlag):
    """CTI service masks, OPEN_REQ ServicesRequested / OPEN_CONF ServicesGranted (UCCX "CTI
    Service Masks"; reference §6.5). Members marked ICM only are not UCCX services. CLIENT_EVENTS
    (agent mode) and ALL_EVENTS (bridge mode) are mutually exclusive."""
    CTI_SERVICE_CLIENT_EVENTS = 0x00000001
    CTI_SERVICE_CALL_DATA_UPDATE = 0x00000002
    CTI_SERVICE_CLIENT_CONTROL = 0x00000004
    CTI_SERVICE_CONNECTION_MONITOR = 0x00000008  # ICM only
    CTI_SERVICE_ALL_EVENTS = 0x00000010
    CTI_SERVICE_PERIPHERAL_MONITOR = 0x00000020  # ICM only
    CTI_SERVICE_CLIENT_MONITOR = 0x00000040  # ICM only
    CTI_SERVICE_SUPERVISOR = 0x00000080
    CTI_SERVICE_SERVER = 0x00000100  # ICM only
    CTI_SERVICE_AGENT_REPORTING = 0x00000400  # ICM only
    CTI_SERVICE_ALL_TASK_EVENTS = 0x00000800  # ICM only
    CTI_SERVICE_TASK_MONITOR = 0x00001000  # ICM only
    CTI_AGENT_STATE_CONTROL_ONLY = 0x00002000
    CTI_DEVICE_STATE_CONTROL = 0x00008000  # ICM only
    CTI_SERVICE_CONFIG_EVENTS = 0x00040000
    CTI_SERVICE_UPDATE_EVENTS = 0x00080000  # ICM only
    CTI_SERVICE_IGNORE_DUPLICATE_AGENT_EVENTS = 0x00100000  # ICM only
    CTI_SERVICE_IGNORE_CONF = 0x00200000  # ICM only
    CTI_SERVICE_ACD_LINE_ONLY = 0x00400000  # ICM only
    CTI_SERVICE_DEBUG = 0x80000000  # ICM only


#: the services a client request needs (reference §6.5): the request is allowed when the session was
#: granted *any* of the bits. CLIENT_CONTROL "may control calls and agent state of its phone",
#: CTI_AGENT_STATE_CONTROL_ONLY (v12) agent state only, CALL_DATA_UPDATE "may modify call context
#: data", SUPERVISOR the supervisor functions and team configuration, CONFIG_EVENTS the configuration
#: requests. The session journals a request outside them (PROTO-SERVICE-NOT-GRANTED) and the contact
#: center refuses it; both read this one table.
SERVICES_NEEDED: dict[MessageType, int] = {
    **{mt: int(ServiceMask.CTI_SERVICE_CLIENT_CONTROL) for mt in (
        MessageType.ALTERNATE_CALL_REQ, MessageType.ANSWER_CALL_REQ, MessageType.CLEAR_CALL_REQ,
        MessageType.CLEAR_CONNECTION_REQ, MessageType.CONFERENCE_CALL_REQ, MessageType.CONSULT_CALL_REQ,
        MessageType.HOLD_CALL_REQ, MessageType.MAKE_CALL_REQ, MessageType.RECONNECT_CALL_REQ,
        MessageType.RETRIEVE_CALL_REQ, MessageType.TRANSFER_CALL_REQ, MessageType.SEND_DTMF_SIGNAL_REQ,
        # an agent's supervisor assist and emergency calls are calls its phone places (not a supervisor
        # function: the agent's desktop is not granted SUPERVISOR); which service UCCX checks is not said (U)
        MessageType.SUPERVISOR_ASSIST_REQ, MessageType.EMERGENCY_CALL_REQ)},
    MessageType.SET_AGENT_STATE_REQ: int(ServiceMask.CTI_SERVICE_CLIENT_CONTROL | ServiceMask.CTI_AGENT_STATE_CONTROL_ONLY),
    MessageType.SET_CALL_DATA_REQ: int(ServiceMask.CTI_SERVICE_CALL_DATA_UPDATE),
    MessageType.TEAM_CONFIG_REQ: int(ServiceMask.CTI_SERVICE_SUPERVISOR),
    MessageType.SUPERVISE_CALL_REQ: int(ServiceMask.CTI_SERVICE_SUPERVISOR),
    MessageType.CONFIG_REQUEST_KEY_EVENT: int(ServiceMask.CTI_SERVICE_CONFIG_EVENTS),
    MessageType.CONFIG_REQUEST_EVENT: int(ServiceMask.CTI_SERVICE_CONFIG_EVENTS),
}


#: services that only exist from a protocol version on (reference §3.2: CTI_AGENT_STATE_CONTROL_ONLY is
#: a v12 addition): a session of an older version is not granted them (unknown bits are ignored, §3.3)
SERVICE_SINCE_VERSION: dict[int, int] = {int(ServiceMask.CTI_AGENT_STATE_CONTROL_ONLY): 12}


#: OPEN_REQ ConfigMsgMask bits that only exist from a protocol version on (reference §6.8: CONFIG_TERMINAL_MASK,
#: 0x10, is a v18 addition): a session of an older version does not get them (unknown bits are ignored, §3.3)
CONFIG_MASK_SINCE_VERSION: dict[int, int] = {0x10: 18}


def _bits_of_version(since_version: dict[int, int], version: int) -> int:
    mask = 0xFFFFFFFF
    for bit, since in since_version.items():
        if version < since:
            mask &= ~bit
    return mask


def services_of_version(version: int) -> int:
    """The service bits a session of protocol ``version`` may be granted (every bit but the later ones)."""
    return _bits_of_version(SERVICE_SINCE_VERSION, version)


def config_masks_of_version(version: int) -> int:
    """The OPEN_REQ ConfigMsgMask bits a session of protocol ``version`` has (every bit but the later ones)."""
    return _bits_of_version(CONFIG_MASK_SINCE_VERSION, version)


def services_text(mask: int) -> str:
    """``mask``'s service names joined by " or " (what a request needing any of them lacks)."""
    return " or ".join(m.name or f"0x{m:08X}" for m in ServiceMask if m & mask) or f"0x{mask:08X}"


class CallEventMask(IntFlag):
    """Unsolicited call event masks, OPEN_REQ CallMsgMask (UCCX "Unsolicited Call Event Masks";
    reference §6.6). BEGIN_CALL_MASK and later values are ICM values (I): the UCCX page lists
    BEGIN_CALL next without its value."""
    CALL_DELIVERED_MASK = 0x00000001
    CALL_QUEUED_MASK = 0x00000002
    CALL_ESTABLISHED_MASK = 0x00000004
    CALL_HELD_MASK = 0x00000008
    CALL_RETRIEVED_MASK = 0x00000010
    CALL_CLEARED_MASK = 0x00000020
    CALL_CONNECTION_CLEARED_MASK = 0x00000040
    CALL_ORIGINATED_MASK = 0x00000080
    CALL_CONFERENCED_MASK = 0x00000100
    CALL_TRANSFERRED_MASK = 0x00000200
    CALL_DIVERTED_MASK = 0x00000400
    CALL_SERVICE_INITIATED_MASK = 0x00000800
    CALL_TRANSLATION_ROUTE_MASK = 0x00001000  # ICM only
    BEGIN_CALL_MASK = 0x00002000
    END_CALL_MASK = 0x00004000
    CALL_DATA_UPDATE_MASK = 0x00008000
    CALL_FAILED_MASK = 0x00010000
    CALL_REACHED_NETWORK_MASK = 0x00020000  # ICM only
    CALL_DEQUEUED_MASK = 0x00040000  # ICM only
    AGENT_PRE_CALL_MASK = 0x00080000  # ICM only
    AGENT_PRE_CALL_ABORT_MASK = 0x00100000  # ICM only
    RTP_STARTED_MASK = 0x00200000
    RTP_STOPPED_MASK = 0x00400000
    AGENT_TEAM_CONFIG_MASK = 0x00800000  # ICM only
    AGENT_LEGACY_PRE_CALL_MASK = 0x01000000  # ICM only
    CALL_ATTRIBUTE_CHANGE_MASK = 0x02000000  # ICM only


class AgentStateMask(IntFlag):
    """Agent state masks, OPEN_REQ AgentStateMask (UCCX "Agent State Masks"; reference §6.7).
    UCCX differs from ICM above 0x10 (ICM names in the comments). The guide's example uses
    0x3FFF, so a server must tolerate bits above 0x100. How WORK_READY, ACTIVE and PAUSED map
    onto these bits is not documented (U)."""
    AGENT_LOGIN_MASK = 0x00000001  # ICM: AGENT_LOGIN_MASK
    AGENT_LOGOUT_MASK = 0x00000002  # ICM: AGENT_LOGOUT_MASK
    AGENT_NOT_READY_MASK = 0x00000004  # ICM: AGENT_NOT_READY_MASK
    AGENT_AVAILABLE_MASK = 0x00000008  # ICM: AGENT_AVAILABLE_MASK
    AGENT_TALKING_MASK = 0x00000010  # ICM: AGENT_TALKING_MASK
    AGENT_WORK_MASK = 0x00000020  # ICM: AGENT_WORK_NOT_READY_MASK
    AGENT_TALKING_PENDING_WORK_MASK = 0x00000040  # ICM: AGENT_WORK_READY_MASK
    AGENT_TALKING_PENDING_NOT_READY_MASK = 0x00000080  # ICM: AGENT_BUSY_OTHER_MASK
    AGENT_RESERVED_MASK = 0x00000100  # ICM: AGENT_RESERVED_MASK


class IcmAgentStateMask(IntFlag):
    """Agent state masks as the ICM CTI Server reads OPEN_REQ AgentStateMask (ICM guide "Agent State
    Masks"; reference §6.7, I): one bit per agent state, the ucce profile's meaning. The bits up to
    0x10 and 0x100 mean what UCCX's do; 0x20-0x80 do not (UCCX: WORK, TALKING_PENDING_WORK,
    TALKING_PENDING_NOT_READY)."""
    AGENT_LOGIN_MASK = 0x00000001
    AGENT_LOGOUT_MASK = 0x00000002
    AGENT_NOT_READY_MASK = 0x00000004
    AGENT_AVAILABLE_MASK = 0x00000008
    AGENT_TALKING_MASK = 0x00000010
    AGENT_WORK_NOT_READY_MASK = 0x00000020
    AGENT_WORK_READY_MASK = 0x00000040
    AGENT_BUSY_OTHER_MASK = 0x00000080
    AGENT_RESERVED_MASK = 0x00000100
    AGENT_HOLD_MASK = 0x00000200
    AGENT_ACTIVE_MASK = 0x00000400
    AGENT_PAUSED_MASK = 0x00000800
    AGENT_INTERRUPTED_MASK = 0x00001000
    AGENT_NOT_ACTIVE_MASK = 0x00002000


class AgentState(IntEnum):
    """Agent states, AgentState / CSQState, USHORT (UCCX "What Is an Agent State"; reference §6.4).

    LOGIN (0) is a request value only. BUSY_OTHER (7) appears only as a CSQState in
    QUERY_AGENT_STATE_CONF. 10, 13 and 14 are ICM states UCCX does not use (I): an agent stays
    TALKING while on hold.
    """

    AGENT_STATE_LOGIN = 0
    AGENT_STATE_LOGOUT = 1
    AGENT_STATE_NOT_READY = 2
    AGENT_STATE_READY = 3
    AGENT_STATE_TALKING = 4
    AGENT_STATE_WORK = 5
    AGENT_STATE_WORK_READY = 6
    BUSY_OTHER = 7
    AGENT_STATE_RESERVED = 8
    AGENT_STATE_UNKNOWN = 9
    AGENT_STATE_HOLD = 10  # I: not used by UCCX
    AGENT_STATE_ACTIVE = 11
    AGENT_STATE_PAUSED = 12
    AGENT_STATE_INTERRUPTED = 13  # I: not UCCX
    AGENT_STATE_NOT_ACTIVE = 14  # I: not UCCX
    # ICM names
    AGENT_STATE_AVAILABLE = 3
    AGENT_STATE_WORK_NOT_READY = 5


class ConfigMsgMask(IntFlag):
    """OPEN_REQ ConfigMsgMask / OPEN_CONF ConfigMsgMaskGranted (UCCX "Configuration-Information
    Masks"; reference §6.8, first column). Not the same bit order as :class:`ConfigurationMask`."""

    CONFIG_AGENT_MASK = 0x01
    CONFIG_CSQ_MASK = 0x02
    CONFIG_APPLICATION_MASK = 0x04
    CONFIG_DEVICE_MASK = 0x08
    CONFIG_TERMINAL_MASK = 0x10  # v18


class ConfigurationMask(IntFlag):
    """CONFIG_REQUEST_EVENT / CONFIG_BEGIN_EVENT ConfigurationMask (UCCX "CONFIG_REQUEST_EVENT";
    reference §6.8, second column). 0 in CONFIG_REQUEST_EVENT means "updates only"."""

    APPLICATION = 0x01
    CSQ = 0x02
    AGENT = 0x04
    DEVICE = 0x08
    TERMINAL = 0x10  # v18


class PeripheralType(IntEnum):
    """PeripheralType (ICM "PeripheralType Values"; reference §6.9). UCCX always sends 21
    (PT_ACMI_CRS) in the reserved PeripheralType of call and agent events (C); the rest is ICM (I/O)."""

    PT_NONE = 0xFFFF
    PT_ASPECT = 1
    PT_MERIDIAN = 2
    PT_G2 = 3
    PT_DEFINITY_ECS_NON_EAS = 4
    PT_DEFINITY_ECS_EAS = 5
    PT_GALAXY = 6
    PT_SPECTRUM = 7
    PT_VRU = 8
    PT_VRU_POLLED = 9
    PT_DMS100 = 10
    PT_SIEMENS_9006 = 11
    PT_SIEMENS_9005 = 12
    PT_ALCATEL = 13
    PT_NEC_NEAX_2x00 = 14
    PT_ACP_1000 = 15
    PT_SYMPOSIUM = 16
    PT_ENTERPRISE_AGENT = 17
    PT_MD110 = 18
    PT_MEDIA_ROUTING = 19
    PT_GENERIC = 20
    PT_ACMI_CRS = 21
    PT_ACMI_IPCC = 22
    PT_SIMPLIFIED_IPCC = 23
    PT_ARS = 24
    PT_ACMI_ERS = 25
    PT_ACMI_EXPERT_ADVISOR = 26


class LineType(IntEnum):
    """lineType / LineType (UCCX v14 "lineType" fields; ICM LineType; reference §6.10).

    UCCX uses 3 for a business (ICD) call and 10 for a non-business call (C). The ICM values
    are members too (I): 3 and 10 are BUSINESS/NON_BUSINESS in UCCX and UNKNOWN/NON_ACD_IN in ICM,
    so those two ICM names are aliases.
    """

    LINETYPE_INBOUND_ACD = 0
    LINETYPE_OUTBOUND_ACD = 1
    LINETYPE_INSIDE = 2
    LINETYPE_BUSINESS = 3
    LINETYPE_SUPERVISOR = 4
    LINETYPE_MESSAGE = 5
    LINETYPE_HELP = 6
    LINETYPE_OUTBOUND = 7
    LINETYPE_DID = 8
    LINETYPE_SILENT_MONITOR = 9
    LINETYPE_NON_BUSINESS = 10
    LINETYPE_NON_ACD_OUT = 11
    LINETYPE_UNKNOWN = 3  # ICM name of 3
    LINETYPE_NON_ACD_IN = 10  # ICM name of 10


class EventCause(IntEnum):
    """Call EventCause, USHORT (UCCX "Call EventCause (CEC) Values"; reference §6.11).

    The UCCX names are confirmed (C). Numbers UCCX lists as reserved carry their ICM names (I),
    for decoding only: a UCCX-faithful mock does not send them.
    """

    CEC_NONE = 0xFFFF
    CEC_ACTIVE_MONITOR = 1  # I
    CEC_ALTERNATE = 2
    CEC_BUSY = 3
    CEC_CALL_BACK = 4  # I
    CEC_CALL_CANCELLED = 5
    CEC_CALL_FORWARD_ALWAYS = 6  # I
    CEC_CALL_FORWARD_BUSY = 7  # I
    CEC_CALL_FORWARD_NO_ANSWER = 8  # I
    CEC_CALL_FORWARD = 9
    CEC_CALL_NOT_ANSWERED = 10
    CEC_CALL_PICKUP = 11  # I
    CEC_CAMP_ON = 12  # I
    CEC_DEST_NOT_OBTAINABLE = 13
    CEC_DO_NOT_DISTURB = 14  # I
    CEC_INCOMPATIBLE_DESTINATION = 15
    CEC_INVALID_ACCOUNT_CODE = 16  # I
    CEC_KEY_CONFERENCE = 17
    CEC_LOCKOUT = 18  # I
    CEC_MAINTENANCE = 19  # I
    CEC_NETWORK_CONGESTION = 20  # I
    CEC_NETWORK_NOT_OBTAINABLE = 21  # I
    CEC_NEW_CALL = 22
    CEC_NO_AVAILABLE_AGENTS = 23
    CEC_OVERRIDE = 24  # I
    CEC_PARK = 25  # I
    CEC_OVERFLOW = 26  # I
    CEC_RECALL = 27  # I
    CEC_REDIRECTED = 28
    CEC_REORDER_TONE = 29  # I
    CEC_RESOURCES_NOT_AVAILABLE = 30  # I
    CEC_SILENT_MONITOR = 31  # I
    CEC_TRANSFER = 32
    CEC_TRUNKS_BUSY = 33  # I
    CEC_VOICE_UNIT_INITIATOR = 34  # I
    CEC_TIME_OUT = 35
    CEC_NEW_CALL_INTERFLOW = 36  # I
    CEC_SIMULATION_INIT_REQUEST = 37  # I
    CEC_SIMULATION_RESET_REQUEST = 38  # I
    CEC_CTI_LINK_DOWN = 39  # I
    CEC_PERIPHERAL_RESET_REQUEST = 40  # I
    CEC_MD110_CONFERENCE_TRANSFER = 41  # I
    CEC_REMAINS_IN_Q = 42  # I
    CEC_SUPERVISOR_ASSIST = 43
    CEC_EMERGENCY_CALL = 44
    CEC_SUPERVISOR_CLEAR = 45
    CEC_SUPERVISOR_MONITOR = 46
    CEC_SUPERVISOR_WHISPER = 47
    CEC_SUPERVISOR_BARGE_IN = 48
    CEC_SUPERVISOR_INTERCEPT = 49
    CEC_CALL_PARTY_UPDATE_IND = 50
    CEC_CONSULT = 51  # I
    CEC_NIC_CALL_CLEAR = 52  # I
    CECX_ABAND_NETWORK = 1001  # I
    CECX_DROP_HANDLED_PRIMARY_ROUTE = 1013  # I
    CECX_DROP_HANDLED_OTHER = 1014
    CECX_REDIRECTED = 1015  # I
    CECX_CUT_THROUGH = 1016  # I
    CECX_BLIND_TRANSFER = 1028  # I
    CECX_ANNOUNCED_TRANSFER = 1029  # I
    CECX_CONFERENCED = 1030  # I
    CECX_DUPLICATE_TRANSFER = 1031  # I
    CECX_ABAND_NETWORK_CONSULT = 1057  # I


class SystemEventID(IntEnum):
    """SYSTEM_EVENT SystemEventID, UINT (UCCX "SystemEventID Values"; reference §6.12).
    1, 2 and 5-9 are reserved in UCCX and carry their ICM names (I)."""

    SYS_CENTRAL_CONTROLLER_ONLINE = 1  # I
    SYS_CENTRAL_CONTROLLER_OFFLINE = 2  # I
    SYS_CCX_ONLINE = 3
    SYS_CCX_OFFLINE = 4
    SYS_TEXT_FYI = 5  # I
    SYS_PERIPHERAL_GATEWAY_OFFLINE = 6  # I
    SYS_CTI_SERVER_OFFLINE = 7  # I
    SYS_CTI_SERVER_ONLINE = 8  # I
    SYS_HALF_HOUR_CHANGE = 9  # I
    SYS_INSTRUMENT_OUT_OF_SERVICE = 10
    SYS_INSTRUMENT_BACK_IN_SERVICE = 11
    # ICM names of 3 and 4
    SYS_PERIPHERAL_ONLINE = 3
    SYS_PERIPHERAL_OFFLINE = 4


class IcmSystemEventID(IntEnum):
    """SYSTEM_EVENT SystemEventID as the ucce profile names it (ICM "SystemEventID Values"; reference §6.12):
    the same numbers as :class:`SystemEventID`, ICM's names first (3 and 4 are a peripheral's, not UCCX's)."""

    SYS_CENTRAL_CONTROLLER_ONLINE = 1
    SYS_CENTRAL_CONTROLLER_OFFLINE = 2
    SYS_PERIPHERAL_ONLINE = 3
    SYS_PERIPHERAL_OFFLINE = 4
    SYS_TEXT_FYI = 5
    SYS_PERIPHERAL_GATEWAY_OFFLINE = 6
    SYS_CTI_SERVER_OFFLINE = 7
    SYS_CTI_SERVER_ONLINE = 8
    SYS_HALF_HOUR_CHANGE = 9
    SYS_INSTRUMENT_OUT_OF_SERVICE = 10
    SYS_INSTRUMENT_BACK_IN_SERVICE = 11


class CCXStatus(IntEnum):
    """SYSTEM_EVENT CCXStatus, UINT (UCCX "Unified CCX Status Values"; reference §6.13).
    Enumerated values in mask positions. The guide says any non-zero value means a failure,
    which conflicts with IN_SERVICE = 0x400 (U); a SYS_CCX_ONLINE event carries 0x400."""

    CCX_INITIALIZING = 0x100
    CCX_SHUTTING_DOWN = 0x200
    CCX_SHUTDOWN = 0x300
    CCX_IN_SERVICE = 0x400
    CCX_PARTIAL_SERVICE = 0x500
    CCX_OUT_OF_SERVICE = 0x600


class PGStatus(IntFlag):
    """ICM's PGStatus, UINT: what the ucce profile sends where UCCX sends CCXStatus (SYSTEM_EVENT's first field)
    and a reserved 0 (OPEN_CONF offset 12) (ICM "PGStatusCode Values"; reference §6.13, I): a bit per failure,
    "any non-zero indicates a component failure or communication outage"; 0 is normal operation."""

    PGS_NORMAL = 0
    PGS_OPC_DOWN = 0x1  # CTI Server <-> the PG's OPC lost: no call or agent events
    PGS_CC_DOWN = 0x2  # PG <-> Central Controller lost: routing affected, events still sent
    PGS_PERIPHERAL_OFFLINE = 0x4  # one or more of the PG's peripherals offline
    PGS_CTI_SERVER_OFFLINE = 0x8  # CTI Server <-> CTI client lost
    PGS_LIMITED_FUNCTION = 0x10  # (a software layer between CTI Server and client: limited local call control)


class LocalConnectionState(IntEnum):
    """LocalConnectionState, USHORT (UCCX "LocalConnectionState (LCS) Values"; reference §6.14)."""

    LCS_NONE = 0xFFFF
    LCS_NULL = 0
    LCS_INITIATE = 1
    LCS_ALERTING = 2
    LCS_CONNECT = 3
    LCS_HOLD = 4
    LCS_QUEUED = 5
    LCS_FAIL = 6


class DeviceType(IntEnum):
    """DeviceType of AlertingDeviceType, CallingDeviceType, EventDeviceType … (UCCX "DeviceType
    Values"; reference §6.15). 70-72 and 75 are reserved in UCCX (ICM names, I); 79 is ICM only."""

    DEVID_NONE = 0xFFFF
    DEVID_DEVICE_IDENTIFIER = 0
    DEVID_TRUNK_IDENTIFIER = 70  # I
    DEVID_TRUNK_GROUP_IDENTIFIER = 71  # I
    DEVID_IP_PHONE_MAC_IDENTIFIER = 72  # I
    DEVID_CTI_PORT = 73
    DEVID_ROUTE_POINT = 74
    DEVID_EXTERNAL = 75  # I
    DEVID_AGENT_DEVICE = 76
    DEVID_QUEUE = 77
    DEVID_NON_ACD_DEVICE_IDENTIFIER = 78  # v14, Primary.Actual device IDs
    DEVID_SHARED_DEVICE_IDENTIFIER = 79  # I


class ConnectionDeviceType(IntEnum):
    """ConnectionDeviceType and the other *ConnectionDeviceType fields (UCCX
    "ConnectionDeviceIDType Values"; reference §6.16)."""

    CONNECTION_ID_NONE = 0xFFFF
    CONNECTION_ID_STATIC = 0
    CONNECTION_ID_DYNAMIC = 1


class CallType(IntEnum):
    """CallType, USHORT (UCCX "CallType Values"; reference §6.17). Numbers reserved in UCCX carry
    their ICM names (I). 34 is CALLTYPE_AGENT_OUTBOUND in UCCX (ICM numbering differs in meaning)."""

    CALLTYPE_INVALID = 0
    CALLTYPE_CCX_IN = 1
    CALLTYPE_PREROUTE_ACD_IN = 2  # I
    CALLTYPE_PREROUTE_DIRECT_AGENT = 3  # I
    CALLTYPE_TRANSFER_IN = 4
    CALLTYPE_OVERFLOW_IN = 5  # I
    CALLTYPE_OTHER_IN = 6
    CALLTYPE_AUTO_OUT = 7  # I
    CALLTYPE_AGENT_OUT = 8  # I
    CALLTYPE_OUT = 9
    CALLTYPE_AGENT_INSIDE = 10
    CALLTYPE_OFFERED = 11
    CALLTYPE_CONSULT = 12
    CALLTYPE_CONSULT_OFFERED = 13  # I
    CALLTYPE_CONSULT_CONFERENCE = 14  # I
    CALLTYPE_CONFERENCE = 15
    CALLTYPE_UNMONITORED = 16  # I
    CALLTYPE_PREVIEW = 17
    CALLTYPE_RESERVATION = 18
    CALLTYPE_ASSIST = 19
    CALLTYPE_EMERGENCY = 20
    CALLTYPE_SUPERVISOR_MONITOR = 21
    CALLTYPE_SUPERVISOR_WHISPER = 22  # I
    CALLTYPE_SUPERVISOR_BARGE_IN = 23
    CALLTYPE_SUPERVISOR_INTERCEPT = 24
    CALLTYPE_TASK_ROUTED_BY_ICM = 25  # I
    CALLTYPE_TASK_ROUTED_BY_APPLICATION = 26  # I
    CALLTYPE_AGENT_OUTBOUND = 34
    CALLTYPE_ACD_IN = 1  # the guide's text also says ACD_IN


#: the CallType values UCCX names (reference §6.17; the others of :class:`CallType` are ICM's, "reserved" in UCCX)
UCCX_CALL_TYPES = frozenset(int(c) for c in CallType) - {2, 3, 5, 7, 8, 13, 14, 16, 22, 25, 26}


class CalledPartyDisposition(IntEnum):
    """CalledPartyDisposition, USHORT (UCCX "Disposition Values"; reference §6.18). Only the named
    values are members; 1-14, 16-28 and 31-52 are reserved."""

    CD_INVALID = 0
    CD_REDIRECTED = 15
    CD_ANNOUNCED_TRANSFER = 29
    CD_CONFERENCED = 30


class ReasonCode(IntEnum):
    """System-generated EventReasonCode values of AGENT_STATE_EVENT / SET_AGENT_STATE_REQ (UCCX
    "Reason Codes for Agent State Change"; reference §6.19). 1..~32740 are administrator-defined
    Not Ready / Logout codes and 0 means none. 32766, 32748 and 32745 come from the admin and
    historical guides (I/U); 22 and 33 (supervisor changes) are U."""

    NONE = 0
    SUP_AGT_TO_LOGOUT = 22  # U
    SUP_AGT_TO_NOT_READY = 33  # U
    EMAIL_CONTACT_NOT_ACCEPTED = 32743
    AGT_SEC_LINE_OFFHOOK = 32742
    AGT_EXTENSION_CONFLICT = 32741
    OUTBOUND_WORK_REASONCODE = 32745  # I/U
    AGT_RESERVED_OUTBOUND_DIRECT_PREVIEW = 32746
    AGT_RESERVED_OUTBOUND = 32747
    AGENT_DELETED = 32748  # I/U
    AGT_CANCEL_CONSULT = 32749
    AGT_ICD_EXTENSION_CHANGED = 32750
    AGT_SKIPS = 32751
    AGT_CANCEL_RESERVATION = 32752
    AGT_LINE_RESTRICTED = 32753
    AGT_DEVICE_RESTRICTED = 32754
    AGT_CALL_ENDED = 32755
    AGT_PHONE_UP = 32756
    CM_FAILOVER = 32757
    AGT_WORK_TIMER_EXP = 32758
    AGT_PHONE_DOWN = 32759
    AGT_LOGON = 32760
    AGT_NON_ICD = 32761
    AGT_OFFHOOK = 32762
    AGT_RNA = 32763
    CCX_FAILURE = 32764
    AGT_CONN_DOWN = 32765
    CLOSE_CAD = 32766  # I/U
    AGT_RELOGON = 32767


# -- small enumerations (reference §6.20) -------------------------------------------------------


class ForcedFlag(IntEnum):
    """SET_AGENT_STATE_REQ ForcedFlag, UCHAR (UCCX "SET_AGENT_STATE_REQ"; reference §6.20)."""

    FALSE = 0
    TRUE = 1
    AUTHENTICATE_ONLY = 2  # v12, with LOGIN; AgentInstrument "unknown"


class ConsultType(IntEnum):
    """CONSULT_CALL_REQ ConsultType (UCCX "CONSULT_CALL_REQ"; reference §6.20)."""

    CT_UNSPECIFIED = 0
    CT_TRANSFER = 1
    CT_CONFERENCE = 2


class RTPDirection(IntEnum):
    """RTP_STARTED/STOPPED_EVENT Direction (UCCX "RTP_STARTED_EVENT"; reference §6.20)."""

    INPUT = 0
    OUTPUT = 1
    BIDIRECTIONAL = 2


class RTPType(IntEnum):
    """RTP_STARTED_EVENT RTPType (UCCX "RTP_STARTED_EVENT"; reference §6.20)."""

    AUDIO = 0
    VIDEO = 1
    DATA = 2


class AudioCodec(IntEnum):
    """RTP_STARTED_EVENT PayloadType (UCCX "Audio Codec Type Values"; reference §6.20; the list may
    continue past 18, U)."""

    NONSTANDARD = 0
    G711ALAW64K = 1
    G711ALAW56K = 2
    G711ULAW64K = 3
    G711ULAW56K = 4
    G722_64K = 5
    G722_56K = 6
    G722_48K = 7
    G7231 = 8
    G728 = 9
    G729 = 10
    G729ANNEXA = 11
    IS11172AUDIOCAP = 12
    IS13818AUDIOCAP = 13
    ACY_G729AASSN = 14
    DATA64 = 15
    DATA56 = 16
    GSM = 17
    ACTIVEVOICE = 18


class SupervisoryAction(IntEnum):
    """SUPERVISE_CALL_REQ SupervisoryAction (UCCX "SUPERVISE_CALL_REQ"; reference §6.20). UCCX
    documents barge-in, intercept and clear; monitor and whisper are ICM values (I)."""

    SUPERVISOR_CLEAR = 0
    SUPERVISOR_MONITOR = 1  # I
    SUPERVISOR_WHISPER = 2  # I
    SUPERVISOR_BARGE_IN = 3
    SUPERVISOR_INTERCEPT = 4


class ConfigKeyStatus(IntEnum):
    """CONFIG_KEY_EVENT Status (UCCX "CONFIG_KEY_EVENT"; reference §6.20)."""

    SUCCESS = 0
    SERVICE_PROVIDER = 1
    NO_KEY_SUPPORT = 2
    ERROR = 3
    EMPTY = 4
    PARTIAL = 5


class ConfigEndStatus(IntEnum):
    """CONFIG_END_EVENT Status (UCCX "CONFIG_END_EVENT"; reference §6.20)."""

    SUCCESS = 0
    SERVICE_PROVIDER = 1
    UNKNOWN_DATA = 2
    ERROR = 3
    EMPTY = 4
    PARTIAL = 5


class ConfigType(IntEnum):
    """CONFIG_BEGIN_EVENT ConfigType (UCCX "CONFIG_BEGIN_EVENT"; reference §6.20)."""

    INITIAL = 1
    UPDATE = 2


class RecordType(IntEnum):
    """RecordType [183] of configuration and team records (UCCX config event pages; reference §6.20).
    Terminal and team records use only ADD and DELETE."""

    ADD = 0
    CHANGE = 1
    DELETE = 2


class ConfigAgentType(IntEnum):
    """CONFIG_AGENT_EVENT AgentType [189] (UCCX "CONFIG_AGENT_EVENT"; reference §6.20)."""

    AGENT = 1
    SUPERVISOR = 2


class ConfigDeviceType(IntEnum):
    """CONFIG_DEVICE_EVENT DeviceType [195] (UCCX "CONFIG_DEVICE_EVENT"; reference §6.20)."""

    AGENT = 3
    ROUTE_POINT = 5
    CTI_PORT = 6
    CALL_CONTROL_GROUP = 7


class MRDomainID(IntEnum):
    """CONFIG_CSQ_EVENT MRDomainID [216] (UCCX "CONFIG_CSQ_EVENT", 7.0(1)+; reference §6.20)."""

    VOICE = 0
    EMAIL = 1


class TeamConfigParam(IntEnum):
    """TEAM_CONFIG_REQ ConfigParam (UCCX "TEAM_CONFIG_REQ"; reference §6.20)."""

    INITIAL = 0x1
    UPDATES_ONLY = 0x2


class TeamOperation(IntEnum):
    """TEAM_CONFIG_EVENT Operation (UCCX "TEAM_CONFIG_EVENT"; reference §6.20)."""

    ADD_TEAM = 1
    REMOVE_TEAM = 2
    CHANGE_TEAM = 3


class TeamAgentFlags(IntFlag):
    """TEAM_CONFIG_EVENT AgentFlags [87] (UCCX "TEAM_CONFIG_EVENT"; reference §6.20); 0 = agent."""

    PRIMARY_SUPERVISOR = 0x1
    TEMPORARY_AGENT = 0x2
    SUPERVISOR = 0x4


class TeamMemberType(IntEnum):
    """TEAM_CONFIG_EVENT MemberType [205] (UCCX "TEAM_CONFIG_EVENT"; reference §6.20)."""

    AGENT = 1
    CSQ = 2


class TeamConfigStatus(IntEnum):
    """TEAM_CONFIG_CONF Status (UCCX "TEAM_CONFIG_CONF"; reference §6.20)."""

    SUCCESS = 0
    INTERNAL_ERROR = 1


# -- special values (reference §1, UCCX "Special Values") ------------------------------------------

NULL_CALL_ID = 0xFFFFFFFF
NULL_APPLICATION = 0xFFFFFFFF
NULL_CSQ = 0xFFFFFFFF
NULL_LINEHANDLE = 0xFFFF
MAX_NUM_DEVICES = 16
MAX_CSQ_COUNT = 99
MAX_AGENTS = 64
NULL_PERIPHERAL_ID = 0xFFFFFFFF  # I
NULL_SERVICE = 0xFFFFFFFF  # I
NULL_SKILL_GROUP = 0xFFFFFFFF  # I
MAX_NUM_CTI_CLIENTS = 16  # I
UCCX_PERIPHERAL_TYPE = 21  # PT_ACMI_CRS, in the reserved PeripheralType of every call/agent event


def named_code(enum_cls: type[Any], value: Any) -> str:
    """``NAME (number)`` of a status or failure code, as a violation's ``answer`` names what the client got
    (``number (0xHEX)`` when ``enum_cls`` has no member of that value)."""
    number = int(value or 0)
    try:
        return f"{enum_cls(number).name} ({number})"
    except ValueError:
        return f"{number} (0x{number:08X})"


def enum_name(enum_cls: type[Any], value: int) -> str:
    """The member name of ``value`` in ``enum_cls`` — never raises.

    An unknown value gives ``"UNKNOWN(123)"``; an IntFlag gives ``"A|B|0x400"`` (known bits by
    name, the rest in hex) and ``"0"`` for no bits.
    """
    if issubclass(enum_cls, IntFlag):
        if value == 0:
            return "0"
        names: list[str] = []
        rest = value
        for member in enum_cls:
            bit = int(member)
            if bit and bit & (bit - 1) == 0 and value & bit:
                names.append(member.name or f"0x{bit:X}")  # (a single-bit member always has its name)
                rest &= ~bit
        if rest:
            names.append(f"0x{rest:X}")
        return "|".join(names)
    try:
        return enum_cls(value).name
    except ValueError:
        return f"UNKNOWN({value})"


class Members:
    """An enum's members as plain attributes, for hot code: ``AS = Members(AgentState)``, then
    ``AS.AGENT_STATE_READY`` is the very member (``is`` holds) for the price of an instance attribute
    (~20 ns) instead of a class attribute of an enum (~120 ns on Python 3.11, whose
    ``EnumType.__getattr__`` puts every attribute read of an enum class on the slow path).
    Calling it converts a value (``AS(3)``); iterating it gives the members in definition order."""

    _enum_cls: type[Enum]

    if TYPE_CHECKING:  # the members are instance attributes, one per member name
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, enum_cls: type[Enum]) -> None:
        self.__dict__.update(enum_cls.__members__)
        self.__dict__["_enum_cls"] = enum_cls

    def __call__(self, value: Any) -> Any:
        return self._enum_cls(value)

    def __iter__(self) -> Any:
        return iter(self._enum_cls)

    def __repr__(self) -> str:
        return f"Members({self._enum_cls.__name__})"
