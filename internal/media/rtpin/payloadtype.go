package rtpin

// ptSet is a set of RTP payload types (0-127), one bit each.
type ptSet [2]uint64

func newPTSet(pts []uint8) *ptSet {
	if len(pts) == 0 {
		return nil
	}
	var s ptSet
	for _, pt := range pts {
		pt &= 0x7f
		s[pt>>6] |= 1 << (pt & 63)
	}
	return &s
}

func (s *ptSet) has(pt uint8) bool {
	pt &= 0x7f
	return s[pt>>6]&(1<<(pt&63)) != 0
}

// SetPayloadTypes replaces the payload types the SDP offered (a re-INVITE
// or UPDATE): RTP packets of any other type are dropped and counted
// (Stats.UnofferedPT). Empty accepts every payload type.
func (r *Receiver) SetPayloadTypes(pts []uint8) {
	r.pts.Store(newPTSet(pts))
}

// offered reports whether payload type pt may be delivered.
func (r *Receiver) offered(pt uint8) bool {
	s := r.pts.Load()
	return s == nil || s.has(pt)
}
