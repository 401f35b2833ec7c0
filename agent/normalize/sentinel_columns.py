"""Column lists of the Microsoft Sentinel tables the agent writes to, packaged with the code.

A copy of the table facts in the project reference `sentinel-tables.json` (Microsoft's table
reference, 2024 versions), so the installed package needs no file beside it. The ASIM renderer keeps
to these columns and the Sentinel templates (DCR stream declarations) are generated from them:
Azure accepts a row with undeclared columns (204) and silently drops that data, so nothing may be
sent outside these lists. A test compares this copy with the reference file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, cast

__all__ = [
    "ASIM_TABLES",
    "AZURE_MANAGED_COLUMNS",
    "COMMON_SECURITY_LOG",
    "SENTINEL_TABLES",
    "AsimSchema",
    "ColumnType",
    "SentinelTable",
]

ColumnType = Literal["string", "int", "long", "real", "bool", "datetime", "dynamic"]
AsimSchema = Literal["AuditEvent", "Authentication", "UserManagement"]

# Azure fills these on ingestion; a client never sends them. Columns starting with "_" too.
AZURE_MANAGED_COLUMNS = frozenset({"TenantId", "Type", "SourceSystem"})


@dataclass(frozen=True, slots=True)
class SentinelTable:
    """One table: every column with its type, including those Azure manages itself."""

    name: str
    columns: Mapping[str, ColumnType]

    @property
    def sendable_columns(self) -> Mapping[str, ColumnType]:
        """The columns a client may send: everything but Azure-managed and `_` columns."""
        return {
            name: kind
            for name, kind in self.columns.items()
            if not name.startswith("_") and name not in AZURE_MANAGED_COLUMNS
        }


# Names per type, space separated: compact enough to review against the reference in one screen.
_COLUMNS_BY_TYPE: dict[str, dict[str, str]] = {
    "ASimAuditEventLogs": {
        "bool": "ThreatIsActive",
        "datetime": (
            "EventEndTime EventStartTime ThreatFirstReportedTime ThreatLastReportedTime "
            "TimeGenerated"
        ),
        "dynamic": "AdditionalFields",
        "int": (
            "EventCount RuleNumber SrcPortNumber SrcRiskLevel TargetPortNumber TargetRiskLevel "
            "ThreatConfidence ThreatRiskLevel"
        ),
        "real": "_BilledSize SrcGeoLatitude SrcGeoLongitude TargetGeoLatitude TargetGeoLongitude",
        "string": (
            "_IsBillable _ResourceId _SubscriptionId ActingAppId ActingAppName ActingAppType "
            "ActingOriginalAppType ActorOriginalUserType ActorScope ActorScopeId ActorSessionId "
            "ActorUserAadId ActorUserId ActorUserIdType ActorUsername ActorUsernameType "
            "ActorUserSid ActorUserType DvcAction DvcDescription DvcDomain DvcDomainType DvcFQDN "
            "DvcHostname DvcId DvcIdType DvcInterface DvcIpAddr DvcMacAddr DvcOriginalAction "
            "DvcOs DvcOsVersion DvcScope DvcScopeId DvcZone EventMessage "
            "EventOriginalResultDetails EventOriginalSeverity EventOriginalSubType "
            "EventOriginalType EventOriginalUid EventOwner EventProduct EventProductVersion "
            "EventReportUrl EventResult EventResultDetails EventSchemaVersion EventSeverity "
            "EventSubType EventType EventVendor HttpUserAgent NewValue Object ObjectId ObjectType "
            "OldValue Operation OriginalObjectType RuleName SourceSystem SrcDescription "
            "SrcDeviceType SrcDomain SrcDomainType SrcDvcId SrcDvcIdType SrcDvcScope "
            "SrcDvcScopeId SrcFQDN SrcGeoCity SrcGeoCountry SrcGeoRegion SrcHostname SrcIpAddr "
            "SrcOriginalRiskLevel TargetAppId TargetAppName TargetAppType TargetDescription "
            "TargetDeviceType TargetDomain TargetDomainType TargetDvcId TargetDvcIdType "
            "TargetDvcOs TargetDvcScope TargetDvcScopeId TargetFQDN TargetGeoCity "
            "TargetGeoCountry TargetGeoRegion TargetHostname TargetIpAddr TargetOriginalAppType "
            "TargetOriginalRiskLevel TargetUrl TenantId ThreatCategory ThreatField ThreatId "
            "ThreatIpAddr ThreatName ThreatOriginalConfidence ThreatOriginalRiskLevel Type "
            "ValueType"
        ),
    },
    "ASimAuthenticationEventLogs": {
        "bool": "ThreatIsActive",
        "datetime": (
            "EventEndTime EventStartTime ThreatFirstReportedTime ThreatLastReportedTime "
            "TimeGenerated"
        ),
        "dynamic": "AdditionalFields",
        "int": (
            "EventCount RuleNumber SrcPortNumber SrcRiskLevel TargetPortNumber TargetRiskLevel "
            "ThreatConfidence ThreatRiskLevel"
        ),
        "real": "_BilledSize SrcGeoLatitude SrcGeoLongitude TargetGeoLatitude TargetGeoLongitude",
        "string": (
            "_IsBillable _ResourceId _SubscriptionId ActingAppId ActingAppName ActingAppType "
            "ActingOriginalAppType ActorOriginalUserType ActorScope ActorScopeId ActorSessionId "
            "ActorUserId ActorUserIdType ActorUsername ActorUsernameType ActorUserType DvcAction "
            "DvcDescription DvcDomain DvcDomainType DvcFQDN DvcHostname DvcId DvcIdType "
            "DvcInterface DvcIpAddr DvcMacAddr DvcOriginalAction DvcOs DvcOsVersion DvcScope "
            "DvcScopeId DvcZone EventMessage EventOriginalResultDetails EventOriginalSeverity "
            "EventOriginalSubType EventOriginalType EventOriginalUid EventOwner EventProduct "
            "EventProductVersion EventReportUrl EventResult EventResultDetails EventSchemaVersion "
            "EventSeverity EventSubType EventType EventVendor HttpUserAgent LogonMethod "
            "LogonProtocol RuleName SourceSystem SrcDescription SrcDeviceType SrcDomain "
            "SrcDomainType SrcDvcId SrcDvcIdType SrcDvcOs SrcDvcScope SrcDvcScopeId SrcFQDN "
            "SrcGeoCity SrcGeoCountry SrcGeoRegion SrcHostname SrcIpAddr SrcIsp "
            "SrcOriginalRiskLevel TargetAppId TargetAppName TargetAppType TargetDescription "
            "TargetDeviceType TargetDomain TargetDomainType TargetDvcId TargetDvcIdType "
            "TargetDvcOs TargetDvcScope TargetDvcScopeId TargetFQDN TargetGeoCity "
            "TargetGeoCountry TargetGeoRegion TargetHostname TargetIpAddr TargetOriginalAppType "
            "TargetOriginalRiskLevel TargetOriginalUserType TargetSessionId TargetUrl "
            "TargetUserId TargetUserIdType TargetUsername TargetUsernameType TargetUserScope "
            "TargetUserScopeId TargetUserType TenantId ThreatCategory ThreatField ThreatId "
            "ThreatIpAddr ThreatName ThreatOriginalConfidence ThreatOriginalRiskLevel Type"
        ),
    },
    "ASimUserManagementActivityLogs": {
        "bool": "ThreatIsActive",
        "datetime": (
            "EventEndTime EventStartTime ThreatFirstReportedTime ThreatLastReportedTime "
            "TimeGenerated"
        ),
        "dynamic": "AdditionalFields",
        "int": "EventCount RuleNumber SrcPortNumber SrcRiskLevel ThreatConfidence ThreatRiskLevel",
        "real": "_BilledSize SrcGeoLatitude SrcGeoLongitude",
        "string": (
            "_IsBillable _ResourceId _SubscriptionId ActingAppId ActingAppName ActingAppType "
            "ActingOriginalAppType ActorOriginalUserType ActorScope ActorScopeId ActorSessionId "
            "ActorUserAadId ActorUserId ActorUserIdType ActorUsername ActorUsernameType "
            "ActorUserSid ActorUserType DvcAction DvcDescription DvcDomain DvcDomainType DvcFQDN "
            "DvcHostname DvcId DvcIdType DvcInterface DvcIpAddr DvcMacAddr DvcOriginalAction "
            "DvcOs DvcOsVersion DvcScope DvcScopeId DvcZone EventMessage "
            "EventOriginalResultDetails EventOriginalSeverity EventOriginalSubType "
            "EventOriginalType EventOriginalUid EventOwner EventProduct EventProductVersion "
            "EventReportUrl EventResult EventResultDetails EventSchema EventSchemaVersion "
            "EventSeverity EventSubType EventType EventVendor GroupId GroupIdType GroupName "
            "GroupNameType GroupOriginalType GroupType HttpUserAgent NewPropertyValue "
            "PreviousPropertyValue RuleName SourceSystem SrcDescription SrcDeviceType SrcDomain "
            "SrcDomainType SrcDvcId SrcDvcIdType SrcDvcScope SrcDvcScopeId SrcFQDN SrcGeoCity "
            "SrcGeoCountry SrcGeoRegion SrcHostname SrcIpAddr SrcMacAddr SrcOriginalRiskLevel "
            "TargetOriginalUserType TargetUserId TargetUserIdType TargetUsername "
            "TargetUsernameType TargetUserScope TargetUserScopeId TargetUserSessionId "
            "TargetUserType TargetUserUid TenantId ThreatCategory ThreatField ThreatId ThreatName "
            "ThreatOriginalConfidence ThreatOriginalRiskLevel Type"
        ),
    },
    "CommonSecurityLog": {
        "datetime": "EndTime StartTime TimeGenerated",
        "int": (
            "DestinationPort DestinationProcessId DestinationTranslatedPort DeviceCustomNumber1 "
            "DeviceCustomNumber2 DeviceCustomNumber3 EventCount EventType ExternalID FileSize "
            "FlexNumber1 FlexNumber2 OldFileSize ProcessID SourcePort SourceProcessId "
            "SourceTranslatedPort ThreatSeverity"
        ),
        "long": (
            "FieldDeviceCustomNumber1 FieldDeviceCustomNumber2 FieldDeviceCustomNumber3 "
            "ReceivedBytes SentBytes"
        ),
        "real": (
            "_BilledSize DeviceCustomFloatingPoint1 DeviceCustomFloatingPoint2 "
            "DeviceCustomFloatingPoint3 DeviceCustomFloatingPoint4 MaliciousIPLatitude "
            "MaliciousIPLongitude"
        ),
        "string": (
            "_IsBillable _ResourceId _SubscriptionId Activity AdditionalExtensions "
            "ApplicationProtocol CollectorHostName CommunicationDirection Computer "
            "DestinationDnsDomain DestinationHostName DestinationIP DestinationMACAddress "
            "DestinationNTDomain DestinationProcessName DestinationServiceName "
            "DestinationTranslatedAddress DestinationUserID DestinationUserName "
            "DestinationUserPrivileges DeviceAction DeviceAddress DeviceCustomDate1 "
            "DeviceCustomDate1Label DeviceCustomDate2 DeviceCustomDate2Label "
            "DeviceCustomFloatingPoint1Label DeviceCustomFloatingPoint2Label "
            "DeviceCustomFloatingPoint3Label DeviceCustomFloatingPoint4Label "
            "DeviceCustomIPv6Address1 DeviceCustomIPv6Address1Label DeviceCustomIPv6Address2 "
            "DeviceCustomIPv6Address2Label DeviceCustomIPv6Address3 DeviceCustomIPv6Address3Label "
            "DeviceCustomIPv6Address4 DeviceCustomIPv6Address4Label DeviceCustomNumber1Label "
            "DeviceCustomNumber2Label DeviceCustomNumber3Label DeviceCustomString1 "
            "DeviceCustomString1Label DeviceCustomString2 DeviceCustomString2Label "
            "DeviceCustomString3 DeviceCustomString3Label DeviceCustomString4 "
            "DeviceCustomString4Label DeviceCustomString5 DeviceCustomString5Label "
            "DeviceCustomString6 DeviceCustomString6Label DeviceDnsDomain DeviceEventCategory "
            "DeviceEventClassID DeviceExternalID DeviceFacility DeviceInboundInterface "
            "DeviceMacAddress DeviceName DeviceNtDomain DeviceOutboundInterface DevicePayloadId "
            "DeviceProduct DeviceTimeZone DeviceTranslatedAddress DeviceVendor DeviceVersion "
            "EventOutcome ExtID FileCreateTime FileHash FileID FileModificationTime FileName "
            "FilePath FilePermission FileType FlexDate1 FlexDate1Label FlexNumber1Label "
            "FlexNumber2Label FlexString1 FlexString1Label FlexString2 FlexString2Label "
            "IndicatorThreatType LogSeverity MaliciousIP MaliciousIPCountry Message "
            "OldFileCreateTime OldFileHash OldFileID OldFileModificationTime OldFileName "
            "OldFilePath OldFilePermission OldFileType OriginalLogSeverity ProcessName Protocol "
            "Reason ReceiptTime RemoteIP RemotePort ReportReferenceLink RequestClientApplication "
            "RequestContext RequestCookies RequestMethod RequestURL SimplifiedDeviceAction "
            "SourceDnsDomain SourceHostName SourceIP SourceMACAddress SourceNTDomain "
            "SourceProcessName SourceServiceName SourceSystem SourceTranslatedAddress "
            "SourceUserID SourceUserName SourceUserPrivileges TenantId ThreatConfidence "
            "ThreatDescription Type"
        ),
    },
}


def _table(name: str) -> SentinelTable:
    columns = {
        column: cast(ColumnType, kind)
        for kind, names in _COLUMNS_BY_TYPE[name].items()
        for column in names.split()
    }
    return SentinelTable(name=name, columns=MappingProxyType(dict(sorted(columns.items()))))


SENTINEL_TABLES: Mapping[str, SentinelTable] = MappingProxyType(
    {name: _table(name) for name in _COLUMNS_BY_TYPE}
)

# The native table Microsoft provides for each ASIM schema the agent emits.
ASIM_TABLES: Mapping[AsimSchema, SentinelTable] = MappingProxyType(
    {
        "AuditEvent": SENTINEL_TABLES["ASimAuditEventLogs"],
        "Authentication": SENTINEL_TABLES["ASimAuthenticationEventLogs"],
        "UserManagement": SENTINEL_TABLES["ASimUserManagementActivityLogs"],
    }
)

COMMON_SECURITY_LOG = SENTINEL_TABLES["CommonSecurityLog"]
