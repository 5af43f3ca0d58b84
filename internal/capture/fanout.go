package capture

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/capture/decode"
)

// A fanout capture decodes on one goroutine per socket and follows SIP and
// records on one: decoding (gopacket, reassembly, duplicate check) is about
// half the work per packet. Readers hand over batches of copied
// datagrams; a batch goes as soon as it holds a non-RTP datagram (SIP must
// not wait behind another socket's RTP), 32 datagrams, or 5 ms of them,
// and when the socket is idle (its poll timeout).

const (
	batchLen = 32
	batchAge = 5 * time.Millisecond
)

type batch struct {
	dgs   []decode.Datagram
	buf   []byte
	first time.Time
}

func (b *batch) add(d *decode.Datagram) {
	if len(b.dgs) == 0 {
		b.first = time.Now()
	}
	// Payloads are appended to buf; slices into it are fixed up at send
	// (buf may grow).
	c := *d
	off := len(b.buf)
	b.buf = append(b.buf, d.Payload...)
	c.Payload = b.buf[off:len(b.buf):len(b.buf)]
	b.dgs = append(b.dgs, c)
}

func (b *batch) fix() {
	off := 0
	for i := range b.dgs {
		n := len(b.dgs[i].Payload)
		b.dgs[i].Payload = b.buf[off : off+n : off+n]
		off += n
	}
}

// RunFanout is Run over several sockets of one fanout group.
func (e *Engine) RunFanout(ctx context.Context, srcs []Source) (Stats, error) {
	if len(srcs) == 1 {
		return e.Run(ctx, srcs[0])
	}
	pool := sync.Pool{New: func() any { return &batch{dgs: make([]decode.Datagram, 0, batchLen), buf: make([]byte, 0, 16<<10)} }}
	ch := make(chan *batch, 256)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	e.readers = make([]atomic.Pointer[decode.Stats], len(srcs))
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.reader(rctx, src, &e.readers[i], ch, &pool); err != nil {
				firstErr.CompareAndSwap(nil, &err)
				stop()
			}
		}()
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	reason := "capture stopped"
loop:
	for {
		select {
		case b, ok := <-ch:
			if !ok {
				break loop
			}
			for i := range b.dgs {
				e.datagram(&b.dgs[i])
			}
			b.dgs, b.buf = b.dgs[:0], b.buf[:0]
			pool.Put(b)
			e.idle(e.now(time.Time{}))
		case <-tick.C:
			e.idle(e.now(time.Time{}))
		}
	}
	var err error
	if p := firstErr.Load(); p != nil {
		err, reason = *p, "capture read error"
	}
	return e.Close(reason), err
}

// reader decodes one socket until ctx ends.
func (e *Engine) reader(ctx context.Context, src Source, stats *atomic.Pointer[decode.Stats], ch chan<- *batch, pool *sync.Pool) error {
	b := pool.Get().(*batch)
	send := func() {
		if len(b.dgs) == 0 {
			return
		}
		b.fix()
		ch <- b
		b = pool.Get().(*batch)
	}
	dec := decode.New(decode.Config{LinkType: src.LinkType(), DedupWindow: e.cfg.DedupWindow}, func(d *decode.Datagram) {
		if e.cfg.Filter != nil && !e.cfg.Filter(d) {
			e.filteredFanout.Add(1)
			return
		}
		b.add(d)
		rtp := d.Proto == decode.UDP && len(d.Payload) > 0 && d.Payload[0]&0xC0 == 0x80
		if !rtp || len(b.dgs) >= batchLen || time.Since(b.first) >= batchAge {
			send()
		}
	})
	lastTick := time.Now()
	defer func() {
		dec.Close() // the rest of the TCP streams
		send()
		s := dec.Stats()
		stats.Store(&s)
	}()
	for ctx.Err() == nil {
		data, ci, err := src.ReadPacketData()
		switch {
		case errors.Is(err, ErrTimeout):
			send()
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		default:
			ts := ci.Timestamp
			if ts.IsZero() {
				ts = time.Now()
			}
			dec.Frame(ts, data)
		}
		if now := time.Now(); now.Sub(lastTick) >= time.Second {
			lastTick = now
			dec.Tick(now)
			s := dec.Stats()
			stats.Store(&s)
		}
	}
	return nil
}
