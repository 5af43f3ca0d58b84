// Package tlib is openrec's implementation of the Genesys T-Library message
// model: message types and attribute ids as the public T-Library header
// numbers them, typed attribute values (int, string, 64-bit ConnID,
// key-value lists with String/Int/Binary/List/Unicode values, nested), a
// binary framing of openrec's own (docs/cti-link.md) and a human-readable
// trace in the style of Genesys logs, which also serves as the input format
// of contract tests.
//
// The wire format of real T-Library is not public; a site bridge built on a
// licensed Genesys SDK translates 1:1 between it and this model.
package tlib

// MessageType is a T-Library message id (TMessageType).
type MessageType uint16

// Message types (public T-Library numbering).
const (
	RequestRegisterClient      MessageType = 0
	RequestQueryServer         MessageType = 1
	RequestQueryAddress        MessageType = 2
	RequestRegisterAddress     MessageType = 3
	RequestUnregisterAddress   MessageType = 4
	RequestAgentLogin          MessageType = 8
	RequestAgentLogout         MessageType = 9
	RequestAgentReady          MessageType = 10
	RequestAgentNotReady       MessageType = 11
	RequestMakeCall            MessageType = 14
	RequestAnswerCall          MessageType = 16
	RequestReleaseCall         MessageType = 17
	RequestHoldCall            MessageType = 18
	RequestRetrieveCall        MessageType = 19
	RequestInitiateConf        MessageType = 20
	RequestCompleteConf        MessageType = 21
	RequestDeleteFromConf      MessageType = 22
	RequestInitiateTransfer    MessageType = 23
	RequestSingleStepXfer      MessageType = 25
	RequestCompleteTransfer    MessageType = 26
	RequestAttachUserData      MessageType = 30
	RequestUpdateUserData      MessageType = 31
	RequestDeleteUserData      MessageType = 32
	RequestRouteCall           MessageType = 36
	RequestDistributeUserEvent MessageType = 48
	RequestDistributeEvent     MessageType = 49
	EventServerConnected       MessageType = 50
	EventServerDisconnected    MessageType = 51
	EventError                 MessageType = 52
	EventRegistered            MessageType = 53
	EventUnregistered          MessageType = 54
	EventQueued                MessageType = 57
	EventDiverted              MessageType = 58
	EventAbandoned             MessageType = 59
	EventRinging               MessageType = 60
	EventDialing               MessageType = 61
	EventNetworkReached        MessageType = 62
	EventDestinationBusy       MessageType = 63
	EventEstablished           MessageType = 64
	EventReleased              MessageType = 65
	EventHeld                  MessageType = 66
	EventRetrieved             MessageType = 67
	EventPartyChanged          MessageType = 68
	EventPartyAdded            MessageType = 69
	EventPartyDeleted          MessageType = 70
	EventRouteRequest          MessageType = 71
	EventRouteUsed             MessageType = 72
	EventAgentLogin            MessageType = 73
	EventAgentLogout           MessageType = 74
	EventAgentReady            MessageType = 75
	EventAgentNotReady         MessageType = 76
	EventDigitsCollected       MessageType = 84
	EventAttachedDataChanged   MessageType = 85
	EventAddressInfo           MessageType = 92
	EventServerInfo            MessageType = 93
	EventLinkDisconnected      MessageType = 94
	EventLinkConnected         MessageType = 95
	EventUserEvent             MessageType = 96
	RequestQueryCall           MessageType = 108
	EventPartyInfo             MessageType = 109
	RequestClearCall           MessageType = 110
	EventAgentAfterCallWork    MessageType = 118
	EventACK                   MessageType = 138
	RequestMonitorNextCall     MessageType = 139
	RequestCancelMonitoring    MessageType = 140
	EventMonitoringNextCall    MessageType = 141
	EventMonitoringCancelled   MessageType = 142
	RequestPrivateService      MessageType = 149
	EventPrivateInfo           MessageType = 150
)

var messageNames = map[MessageType]string{
	RequestRegisterClient: "RequestRegisterClient", RequestQueryServer: "RequestQueryServer",
	RequestQueryAddress: "RequestQueryAddress", RequestRegisterAddress: "RequestRegisterAddress",
	RequestUnregisterAddress: "RequestUnregisterAddress", RequestAgentLogin: "RequestAgentLogin",
	RequestAgentLogout: "RequestAgentLogout", RequestAgentReady: "RequestAgentReady",
	RequestAgentNotReady: "RequestAgentNotReady", RequestMakeCall: "RequestMakeCall",
	RequestAnswerCall: "RequestAnswerCall", RequestReleaseCall: "RequestReleaseCall",
	RequestHoldCall: "RequestHoldCall", RequestRetrieveCall: "RequestRetrieveCall",
	RequestInitiateConf: "RequestInitiateConference", RequestCompleteConf: "RequestCompleteConference",
	RequestDeleteFromConf: "RequestDeleteFromConference", RequestInitiateTransfer: "RequestInitiateTransfer",
	RequestSingleStepXfer: "RequestSingleStepTransfer", RequestCompleteTransfer: "RequestCompleteTransfer",
	RequestAttachUserData: "RequestAttachUserData", RequestUpdateUserData: "RequestUpdateUserData",
	RequestDeleteUserData: "RequestDeleteUserData", RequestRouteCall: "RequestRouteCall",
	RequestDistributeUserEvent: "RequestDistributeUserEvent", RequestDistributeEvent: "RequestDistributeEvent", EventServerConnected: "EventServerConnected",
	EventServerDisconnected: "EventServerDisconnected", EventError: "EventError",
	EventRegistered: "EventRegistered", EventUnregistered: "EventUnregistered", EventQueued: "EventQueued",
	EventDiverted: "EventDiverted", EventAbandoned: "EventAbandoned", EventRinging: "EventRinging",
	EventDialing: "EventDialing", EventNetworkReached: "EventNetworkReached",
	EventDestinationBusy: "EventDestinationBusy", EventEstablished: "EventEstablished",
	EventReleased: "EventReleased", EventHeld: "EventHeld", EventRetrieved: "EventRetrieved",
	EventPartyChanged: "EventPartyChanged", EventPartyAdded: "EventPartyAdded",
	EventPartyDeleted: "EventPartyDeleted", EventRouteRequest: "EventRouteRequest",
	EventRouteUsed: "EventRouteUsed", EventAgentLogin: "EventAgentLogin", EventAgentLogout: "EventAgentLogout",
	EventAgentReady: "EventAgentReady", EventAgentNotReady: "EventAgentNotReady",
	EventDigitsCollected: "EventDigitsCollected", EventAttachedDataChanged: "EventAttachedDataChanged", EventAddressInfo: "EventAddressInfo",
	EventServerInfo: "EventServerInfo", EventLinkDisconnected: "EventLinkDisconnected",
	EventLinkConnected: "EventLinkConnected", EventUserEvent: "EventUserEvent",
	RequestQueryCall: "RequestQueryCall", EventPartyInfo: "EventPartyInfo", RequestClearCall: "RequestClearCall",
	EventAgentAfterCallWork: "EventAgentAfterCallWork", EventACK: "EventACK",
	RequestMonitorNextCall: "RequestMonitorNextCall", RequestCancelMonitoring: "RequestCancelMonitoring",
	EventMonitoringNextCall: "EventMonitoringNextCall", EventMonitoringCancelled: "EventMonitoringCancelled",
	RequestPrivateService: "RequestPrivateService", EventPrivateInfo: "EventPrivateInfo",
}

var messageByName = func() map[string]MessageType {
	m := make(map[string]MessageType, len(messageNames))
	for t, n := range messageNames {
		m[n] = t
	}
	return m
}()

func (t MessageType) String() string {
	if s, ok := messageNames[t]; ok {
		return s
	}
	return "Message" + itoa(int64(t))
}

// ParseMessageType returns the type named s ("EventEstablished" or "Message64").
func ParseMessageType(s string) (MessageType, bool) {
	if t, ok := messageByName[s]; ok {
		return t, true
	}
	v, ok := parseNumberedName(s, "Message")
	return MessageType(v), ok
}

// IsRequest reports whether t is a request (client → server). Types
// without a known name are not requests.
func (t MessageType) IsRequest() bool {
	n, ok := messageNames[t]
	return ok && len(n) > 7 && n[:7] == "Request"
}
