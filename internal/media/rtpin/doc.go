// Package rtpin is the RTP/RTCP ingest of the recorder: one UDP socket pair
// per recorded leg (RTP on an even port, RTCP on the next odd port), a port
// allocator that quarantines freed pairs, header validation, and locking onto
// one media source.
//
// rtpin does sockets, validation and source locking only. Reordering,
// decoding and writing belong to the consumer, a media.PacketHandler (the
// mixer). Each accepted RTP packet is passed as a reused *media.Packet that
// is valid only during the HandleRTP call; each RTCP sender report is passed
// as a *media.SenderReport.
//
// Stale RTP never enters a new recording: a freed port pair stays out of use
// for the allocator's quarantine, and a Receiver drops packets whose source
// address and SSRC match the port's previous occupant for its whole life.
//
// On Linux the receive loop uses recvmmsg(2) through syscall.RawConn.Read (so
// the goroutine parks in the netpoller) with a preallocated batch and parses
// RTP headers by hand: no allocation per packet. Other systems use
// ReadFromUDPAddrPort, which does not allocate either.
//
// A leg with SRTP keys (Config.SRTP, SetSRTP; SDES from the SDP offer)
// authenticates and decrypts every RTP and RTCP packet (pion/srtp, one
// context per read goroutine) before it is validated or may lock the
// source; packets that fail count as Stats.AuthFailures. This path does not
// allocate either.
//
// Packets of a payload type the SDP did not offer (Config.PayloadTypes)
// are dropped before they may lock the source and counted
// (Stats.UnofferedPT).
//
// References: RFC 3550 (RTP/RTCP), RFC 5761 (RTP and RTCP on one port),
// RFC 3711 (SRTP), RFC 7714 (AES-GCM for SRTP).
package rtpin
