// Package sim is a contact center in one process, for tests, demos and
// `openrec sim`: a SIP Server speaking the T-Library message model over
// openrec's CTI framing (internal/cti/tlib), a Media Server placing Genesys MSR
// recording sessions (internal/sip/dial) and a Configuration Server serving the
// configuration data (internal/cti/ccdata) over HTTP.
//
// # SIP Server
//
// A TCP listener; every connection is one T-Library client. Requests are
// answered in the T-Library way, the answer carrying the request's
// AttributeReferenceID:
//
//	RequestRegisterClient        → EventServerConnected (required first; else EventError)
//	RequestRegisterAddress       → EventRegistered (ThisDN must be a DN of the switch in
//	                               the configuration data; with no DN configured for the
//	                               switch every DN is accepted)
//	RequestUnregisterAddress     → EventUnregistered
//	RequestQueryAddress (ThisDN) → EventAddressInfo, see below
//	RequestQueryCall (ConnID)    → EventPartyInfo, see below
//	RequestAttachUserData / RequestUpdateUserData / RequestDeleteUserData (ThisDN, ConnID,
//	    UserData) → EventAttachedDataChanged: the requester's copy carries its ReferenceID
//	    (that is the answer; it gets it even when not registered for the DN), every client
//	    registered for a DN of the call (also a former party of a released call: wrap-up)
//	    gets one copy per DN, each with the full user data after the change.
//	    A GSIP_RECORD key in the update with value ON/OFF/PAUSE/PAUSED/RESUME drives
//	    recording of ThisDN like the private services below.
//	RequestPrivateService (ThisDN, ConnID, PrivateMsgID 3013 start / 3014 stop /
//	    3015 pause / 3016 resume (Config.PrivateIDs), Extensions id, dest, dest2, record
//	    (geo selection source|destination), audiosrc, tonesilenceduration)
//	    → EventACK (ThisDN, ConnID, PrivateMsgID) or EventError
//	RequestRouteCall (ThisDN routing point, ConnID, OtherDN target, Extensions
//	    record=source|destination|disable_source|disable_destination) → the routing
//	    events (EventRouteUsed carries the ReferenceID) or EventError
//
// Anything else, a request with missing or wrong attributes, an unknown DN
// or ConnID is answered with EventError (AttributeErrorCode, AttributeErrorMessage,
// see the Err* codes). A frame that cannot be decoded gets an EventError
// without ReferenceID and the connection is closed (the framing is lost).
//
// EventAddressInfo (openrec convention for resynchronisation): ThisDN,
// AttributeAddressType (DN type, see DNType*), AgentID when an agent is
// logged in, AttributeAddressInfoType echoed from the request,
// AttributeAddressInfoStatus = number of calls, and AttributeExtensions
// with pairs "conn-1", "conn-2", ... = ConnID as 16 hex digits (KVString),
// one per call the DN is in (queued, ringing, dialing, established or held),
// in the order the calls were created (the convention of internal/cti/link,
// cti.CallsOf). The client then sends RequestQueryCall per ConnID.
//
// EventPartyInfo: ConnID, CallUUID, CallType, ANI, DNIS, UserData,
// ThisDN/OtherDN (the ThisDN of the request or the first internal party),
// AttributeCallState (0 = active, 22 = released — openrec), and
// AttributeExtensions with one pair "Party" per party, a nested list
// {DN, Role (int, DNRole*), State (Ringing|Dialing|Established|Held|Queued),
// AgentID, Internal (1|0)}.
//
// Every call event carries ThisDN, OtherDN (when there is one), ConnID
// (64-bit), CallUUID (32 chars [0-9A-V]), CallID, CallType, ANI, DNIS,
// AgentID (the agent logged in on ThisDN), ThisDNRole/OtherDNRole
// (DNRole*), UserData (the whole current user data), ThisQueue for calls
// distributed from a routing point, EventSequenceNumber (one counter per
// Sim) and TimeStamp/TimeStampUSec (Config.Now). An event is delivered to
// every client registered for its ThisDN.
//
// # Call model
//
// Inbound: EventQueued + EventRouteRequest at the routing point, then (from
// the scenario or a client's RequestRouteCall) EventRouteUsed + EventDiverted
// at the routing point, EventRinging at the agent, EventEstablished on
// answer. Outbound: EventDialing, EventEstablished when the far end answers.
// Internal: EventDialing at the caller, EventRinging at the callee,
// EventEstablished at both. Hold/retrieve: EventHeld/EventRetrieved.
// Single-step transfer: EventReleased (CallState Transferred) at the
// transferring DN, EventPartyChanged at the remaining internal party,
// EventRinging/EventEstablished at the target, same ConnID. Consult:
// EventHeld on the original call, a new call (own ConnID and CallUUID,
// CallType Consult, user data copied, TransferConnID = original ConnID) with
// EventDialing/EventRinging/EventEstablished. Complete transfer: the
// initiator gets EventReleased for both calls, the target EventPartyChanged
// on the original ConnID (PreviousConnID = consult ConnID), the remaining
// party EventPartyChanged: the result keeps the original ConnID. Complete
// conference: the initiator gets EventReleased (consult), EventRetrieved and
// EventPartyAdded (original), the new member EventPartyChanged (CallState
// Conferenced), other members EventPartyAdded; a member leaving gets
// EventReleased, the others EventPartyDeleted. Supervisor monitoring: the
// supervisor gets EventRinging + EventEstablished (role Observer), the
// members EventPartyAdded with ThirdPartyDN = supervisor and Extensions
// MonitorMode (mute|coach|connect), MonitorScope (call), SupervisorAgentID.
// Release of a two-party call releases it at every party (EventAbandoned
// for a party still ringing). EventUserEvent (UserData ScreenRecording=start|
// stop, ConnID, CallUUID) asks desktops for screen capture.
//
// # Recording (Media Server side)
//
// A recording is per call and recorded DN. It starts when a DN whose
// option record=true gets EventEstablished (unless the route said
// disable_destination / disable_source), when RequestRouteCall asked
// record=destination (the target) or record=source (the call's origin), or
// on request (private service, GSIP_RECORD in user data). The Sim sets
// GSIP_RECORD = ON / PAUSED / OFF in the call's user data (with
// EventAttachedDataChanged) and calls MediaServer.Start once per
// destination (dest, and dest2 for duplication; without dest, the Resource
// Manager's Logical Resource Group over Config.Recorders, internal/sim/rm:
// round-robin or least-used, port capacity, OPTIONS health) with the record
// id (the request's `id`, else generated). When the group finds the
// recorder of a recording dead, its sessions are torn down and the
// recording stops (GSIP_RECORD OFF, until a restart request) or restarts on
// another recorder (Config.RecorderLoss). The session follows the recorded
// DN: when that DN leaves the call the session stops (BYE); when its other
// party changes (transfer, conference) MediaSession.Retarget is called;
// after a two-step transfer the target's session of the consult call moves
// to the original call. DialMedia implements MediaServer with internal/sip/dial
// (two MSR INVITEs, G.711 tones distinct per party — or, with
// DialMedia.Speech, a synthetic voice per party taking turns (speech.go) —
// pause by withholding RTP) and can misbehave on purpose (Misbehaviour).
//
// # Configuration Server
//
// ConfigHandler serves the configuration data: GET /config returns the
// YAML (the file given, verbatim, or the marshalled Data), with header
// X-Config-Version; GET /config?wait=N long-polls (up to 30 s, or the
// `timeout` parameter) until the version differs from N; GET /config?format=json
// returns JSON. PUT /config replaces the data (as SetConfig does), which
// wakes the long polls.
//
// # Scenarios
//
// See Scenario: YAML files with timed steps (`at: 1.5s`, `action: inbound`,
// ...) played in order by Run, or a traffic section generating random
// calls at a rate.
package sim
