package tlib

import "fmt"

// AttrID is a T-Library attribute id (enum TAttribute).
type AttrID uint16

// Attribute ids. Unless marked "openrec", the number is the public
// T-Library one (enum TAttribute of the C T-Library header, 7.x); see
// docs/cti-link.md for the table and its source. Ids openrec chose itself
// lie in the private range from PrivateAttrBase up, which public numbering
// never reaches; a bridge maps them by name.
const (
	AttrProtocolVersion     AttrID = 0
	AttrErrorMessage        AttrID = 1
	AttrReferenceID         AttrID = 2
	AttrCallID              AttrID = 3
	AttrNodeID              AttrID = 4
	AttrNetworkCallID       AttrID = 5
	AttrNetworkNodeID       AttrID = 6
	AttrConnID              AttrID = 9
	AttrPreviousConnID      AttrID = 10
	AttrTransferConnID      AttrID = 11
	AttrConferenceConnID    AttrID = 12
	AttrCallState           AttrID = 13
	AttrAgentID             AttrID = 14
	AttrAgentWorkMode       AttrID = 16
	AttrReason              AttrID = 17
	AttrDNIS                AttrID = 18
	AttrANI                 AttrID = 19
	AttrThisDN              AttrID = 20
	AttrThisQueue           AttrID = 21
	AttrThisTrunk           AttrID = 22
	AttrThisDNRole          AttrID = 23
	AttrOtherDN             AttrID = 24
	AttrOtherQueue          AttrID = 25
	AttrOtherTrunk          AttrID = 26
	AttrOtherDNRole         AttrID = 27
	AttrThirdPartyDN        AttrID = 28
	AttrThirdPartyQueue     AttrID = 29
	AttrThirdPartyDNRole    AttrID = 31
	AttrPassword            AttrID = 36
	AttrCollectedDigits     AttrID = 43
	AttrErrorCode           AttrID = 46
	AttrAddressType         AttrID = 47
	AttrRegisterMode        AttrID = 49
	AttrControlMode         AttrID = 50
	AttrUserData            AttrID = 51
	AttrExtensions          AttrID = 53
	AttrCallType            AttrID = 54
	AttrAddressInfoType     AttrID = 56
	AttrAddressInfoStatus   AttrID = 57
	AttrUserEvent           AttrID = 58
	AttrServerVersion       AttrID = 61
	AttrServerRole          AttrID = 62
	AttrApplicationName     AttrID = 64
	AttrApplicationPassword AttrID = 65
	AttrLocation            AttrID = 69
	AttrCustomerID          AttrID = 76
	AttrTimeInSecs          AttrID = 86 // event time, seconds since the epoch
	AttrTimeInUSecs         AttrID = 87 // event time, microseconds part
	AttrPlace               AttrID = 92
	AttrMediaType           AttrID = 97
	AttrOriginalConnID      AttrID = 99
	AttrMonitorNextCallType AttrID = 101
	AttrClientID            AttrID = 102
	AttrPrivateMsgID        AttrID = 105
	AttrFirstTransferConnID AttrID = 106
	AttrLastTransferConnID  AttrID = 107
	AttrDN                  AttrID = 115
	AttrTimeStamp           AttrID = 120 // call-monitoring time stamp, seconds since the epoch
	AttrCallUUID            AttrID = 141
	AttrNewCallUUID         AttrID = 142
	AttrOrigCallUUID        AttrID = 143
	AttrRefCallUUID         AttrID = 144
	AttrPartyUUID           AttrID = 145
	AttrServerStartTime     AttrID = 147
	AttrEventSequenceNumber AttrID = 148

	// AttrTimeStampUSec is the microseconds part of the event time.
	//
	// Deprecated: it was 121 (openrec), which publicly is
	// AttributeSwitchTime; it is now AttrTimeInUSecs (public 87).
	AttrTimeStampUSec = AttrTimeInUSecs

	// AttrReasons is the Reasons key-value list of requests and events
	// (TEvent.Reasons). openrec: the 7.x header names no attribute id for it.
	AttrReasons AttrID = PrivateAttrBase + 0
)

// PrivateAttrBase is the first attribute id of the range openrec reserves
// for ids of its own choosing (0xF000–0xFFFF).
const PrivateAttrBase AttrID = 0xF000

// Kind is the value type of an attribute.
type Kind uint8

// Value kinds (wire byte of an attribute, docs/cti-link.md).
const (
	KindInt    Kind = 1 // int64
	KindString Kind = 2 // bytes, normally UTF-8
	KindConnID Kind = 3 // 64-bit ConnID
	KindList   Kind = 4 // key-value list
)

func (k Kind) String() string {
	switch k {
	case KindInt:
		return "int"
	case KindString:
		return "string"
	case KindConnID:
		return "connid"
	case KindList:
		return "list"
	}
	return fmt.Sprintf("kind%d", uint8(k))
}

type attrInfo struct {
	name string
	kind Kind
}

var attrs = map[AttrID]attrInfo{
	AttrProtocolVersion: {"AttributeProtocolVersion", KindString}, AttrErrorMessage: {"AttributeErrorMessage", KindString},
	AttrReferenceID: {"AttributeReferenceID", KindInt}, AttrCallID: {"AttributeCallID", KindInt},
	AttrNodeID: {"AttributeNodeID", KindInt}, AttrNetworkCallID: {"AttributeNetworkCallID", KindInt},
	AttrNetworkNodeID: {"AttributeNetworkNodeID", KindInt}, AttrConnID: {"AttributeConnID", KindConnID},
	AttrPreviousConnID: {"AttributePreviousConnID", KindConnID}, AttrTransferConnID: {"AttributeTransferConnID", KindConnID},
	AttrConferenceConnID: {"AttributeConferenceConnID", KindConnID}, AttrCallState: {"AttributeCallState", KindInt},
	AttrAgentID: {"AttributeAgentID", KindString}, AttrAgentWorkMode: {"AttributeAgentWorkMode", KindInt},
	AttrReason: {"AttributeReason", KindString}, AttrDNIS: {"AttributeDNIS", KindString},
	AttrANI: {"AttributeANI", KindString}, AttrThisDN: {"AttributeThisDN", KindString},
	AttrThisQueue: {"AttributeThisQueue", KindString}, AttrThisTrunk: {"AttributeThisTrunk", KindInt},
	AttrThisDNRole: {"AttributeThisDNRole", KindInt}, AttrOtherDN: {"AttributeOtherDN", KindString},
	AttrOtherQueue: {"AttributeOtherQueue", KindString}, AttrOtherTrunk: {"AttributeOtherTrunk", KindInt},
	AttrOtherDNRole: {"AttributeOtherDNRole", KindInt}, AttrThirdPartyDN: {"AttributeThirdPartyDN", KindString},
	AttrThirdPartyQueue: {"AttributeThirdPartyQueue", KindString}, AttrThirdPartyDNRole: {"AttributeThirdPartyDNRole", KindInt},
	AttrPassword: {"AttributePassword", KindString}, AttrCollectedDigits: {"AttributeCollectedDigits", KindString},
	AttrErrorCode: {"AttributeErrorCode", KindInt}, AttrAddressType: {"AttributeAddressType", KindInt},
	AttrRegisterMode: {"AttributeRegisterMode", KindInt}, AttrControlMode: {"AttributeControlMode", KindInt},
	AttrUserData: {"AttributeUserData", KindList}, AttrExtensions: {"AttributeExtensions", KindList},
	AttrCallType: {"AttributeCallType", KindInt}, AttrAddressInfoType: {"AttributeAddressInfoType", KindInt},
	AttrAddressInfoStatus: {"AttributeAddressInfoStatus", KindInt}, AttrUserEvent: {"AttributeUserEvent", KindInt},
	AttrServerVersion: {"AttributeServerVersion", KindString}, AttrServerRole: {"AttributeServerRole", KindInt},
	AttrApplicationName: {"AttributeApplicationName", KindString}, AttrApplicationPassword: {"AttributeApplicationPassword", KindString},
	AttrLocation: {"AttributeLocation", KindString}, AttrCustomerID: {"AttributeCustomerID", KindString},
	AttrTimeInSecs: {"AttributeTimeinSecs", KindInt}, AttrTimeInUSecs: {"AttributeTimeinuSecs", KindInt},
	AttrPlace: {"AttributePlace", KindString}, AttrMediaType: {"AttributeMediaType", KindInt},
	AttrOriginalConnID: {"AttributeOriginalConnID", KindConnID}, AttrMonitorNextCallType: {"AttributeMonitorNextCallType", KindInt},
	AttrClientID: {"AttributeClientID", KindInt}, AttrPrivateMsgID: {"AttributePrivateMsgID", KindInt},
	AttrFirstTransferConnID: {"AttributeFirstTransferConnID", KindConnID}, AttrLastTransferConnID: {"AttributeLastTransferConnID", KindConnID},
	AttrDN: {"AttributeDN", KindString}, AttrTimeStamp: {"AttributeTimeStamp", KindInt},
	AttrCallUUID: {"AttributeCallUUID", KindString}, AttrNewCallUUID: {"AttributeNewCallUUID", KindString},
	AttrOrigCallUUID: {"AttributeOrigCallUUID", KindString}, AttrRefCallUUID: {"AttributeRefCallUUID", KindString},
	AttrPartyUUID: {"AttributePartyUUID", KindString}, AttrServerStartTime: {"AttributeServerStartTime", KindInt},
	AttrEventSequenceNumber: {"AttributeEventSequenceNumber", KindInt}, AttrReasons: {"AttributeReasons", KindList},
}

var attrByName = func() map[string]AttrID {
	m := make(map[string]AttrID, len(attrs))
	for id, i := range attrs {
		m[i.name] = id
	}
	return m
}()

func (a AttrID) String() string {
	if i, ok := attrs[a]; ok {
		return i.name
	}
	return "Attribute" + itoa(int64(a))
}

// Kind is the value type an attribute id carries (0 if unknown).
func (a AttrID) Kind() Kind { return attrs[a].kind }

// Private reports whether a is in openrec's private id range.
func (a AttrID) Private() bool { return a >= PrivateAttrBase }

// ParseAttrID returns the attribute named s ("AttributeThisDN" or "Attribute20").
func ParseAttrID(s string) (AttrID, bool) {
	if id, ok := attrByName[s]; ok {
		return id, true
	}
	v, ok := parseNumberedName(s, "Attribute")
	return AttrID(v), ok
}

// parseNumberedName parses prefix followed by 1-5 decimal digits (≤ 65535).
func parseNumberedName(s, prefix string) (uint16, bool) {
	if len(s) <= len(prefix) || len(s) > len(prefix)+5 || s[:len(prefix)] != prefix {
		return 0, false
	}
	var v uint32
	for _, c := range []byte(s[len(prefix):]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint32(c-'0')
	}
	if v > 0xFFFF {
		return 0, false
	}
	return uint16(v), true
}

// CallType values (AttributeCallType, public TCallType).
const (
	CallTypeUnknown  = 0
	CallTypeInternal = 1
	CallTypeInbound  = 2
	CallTypeOutbound = 3
	CallTypeConsult  = 4
)

// CallState values used in EventReleased/EventPartyChanged (AttributeCallState, public TCallState).
const (
	CallStateOk          = 0
	CallStateTransferred = 1
	CallStateConferenced = 2
)

// DN role values (AttributeThisDNRole/OtherDNRole, public TDNRole).
const (
	RoleUnknown          = 0
	RoleOrigination      = 1
	RoleDestination      = 2
	RoleConferenceMember = 3
	RoleNewParty         = 4
	RoleAddedBy          = 5
	RoleDeletedBy        = 6
	RoleTransferredBy    = 7
	RoleDeletedParty     = 8
	RoleConferencedBy    = 9
	RoleObserver         = 10
)

// Register modes (AttributeRegisterMode, public TRegisterMode).
const (
	ModeShare   = 0
	ModePrivate = 1
	ModeMonitor = 2
)

// Address types (AttributeAddressType, public TAddressType).
const (
	AddressTypeUnknown  = 0
	AddressTypeDN       = 1
	AddressTypePosition = 2
	AddressTypeQueue    = 3
	AddressTypeRouteDN  = 4
	AddressTypeTrunk    = 5
)

// Address info types (AttributeAddressInfoType in RequestQueryAddress /
// EventAddressInfo, public TAddressInfoType).
const (
	AddressInfoAddressStatus = 0
	AddressInfoCallsQuery    = 9
	AddressInfoDNStatus      = 17
)

// ConnID is a 64-bit T-Server connection id, shown as 16 hex digits.
type ConnID uint64

func (c ConnID) String() string {
	const hexdigits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexdigits[c&0xF]
		c >>= 4
	}
	return string(b[:])
}

// ParseConnID parses 16 (or fewer) hex digits.
func ParseConnID(s string) (ConnID, error) {
	var v uint64
	if len(s) == 0 || len(s) > 16 {
		return 0, fmt.Errorf("tlib: connid %q: want 1-16 hex digits", s)
	}
	for _, r := range s {
		var d uint64
		switch {
		case r >= '0' && r <= '9':
			d = uint64(r - '0')
		case r >= 'a' && r <= 'f':
			d = uint64(r-'a') + 10
		case r >= 'A' && r <= 'F':
			d = uint64(r-'A') + 10
		default:
			return 0, fmt.Errorf("tlib: connid %q: not hex", s)
		}
		v = v<<4 | d
	}
	return ConnID(v), nil
}
