// Package conversation is the pure conversation ("couples") engine: it turns
// T-Library call events of monitored DNs into calls (one per CallUUID), their
// couples (recorded DN, other party, time span, ConnID) with the external
// data seed 000 names (GEN_TEV_*, GEN_USR_*, GEN_EXT_*, GEN_CFG_*, GEN_REC_*,
// GEN_CONFERENCE_MEMBERS, GEN_TEV_CSUP_*), decides recording control
// (RequestPrivateService GSIP_RECORD_*) and Notification of Recording
// (RequestUpdateUserData), and detects failed recordings.
//
// It does no I/O and starts no goroutines: events and observations go in
// with their time, state and Actions come out; time passes only through the
// `at` arguments and Tick. The state table of the notification is in
// docs/notification.md. An Engine is safe for concurrent use.
package conversation
