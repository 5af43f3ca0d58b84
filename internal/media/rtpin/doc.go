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
// References: RFC 3550 (RTP/RTCP), RFC 5761 (RTP and RTCP on one port).
package rtpin
