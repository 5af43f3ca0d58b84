package link

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// item is one entry of the event queue: an event, or the LinkState(true)
// marker queued behind the resynchronisation answers.
type item struct {
	msg *tlib.Message
	up  bool
}

// conn is one TCP connection to a SIP Server.
type conn struct {
	l    *link
	nc   net.Conn
	addr string

	wmu sync.Mutex // serialises writes (WriteMessage is one Write call)

	pmu     sync.Mutex
	pending map[int64]chan *tlib.Message

	qmu     sync.Mutex
	qclosed bool
	queue   chan item

	once sync.Once
	dead chan struct{}
	err  error // set before dead is closed
}

func newConn(l *link, nc net.Conn, addr string) *conn {
	return &conn{
		l: l, nc: nc, addr: addr,
		pending: make(map[int64]chan *tlib.Message),
		queue:   make(chan item, l.c.cfg.QueueSize),
		dead:    make(chan struct{}),
	}
}

// kill breaks the connection once; cause is what pending requests and the
// logs report.
func (cn *conn) kill(cause error) {
	cn.once.Do(func() {
		cn.err = cause
		close(cn.dead)
		_ = cn.nc.Close()
	})
}

func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

func (cn *conn) cause() error {
	<-cn.dead
	return cn.err
}

// overflow resets the link because the queue is full (m is the message
// that did not fit, nil for the LinkState marker).
func (cn *conn) overflow(m *tlib.Message) {
	args := []any{"addr", cn.addr, "queue", cap(cn.queue)}
	if m != nil {
		args = append(args, "event", m.Type.String(), "dn", m.ThisDN(), "connid", m.ConnID())
	}
	cn.l.log.Error("cti event queue full: resetting the link, state is resynchronised after reconnect", args...)
	cn.kill(fmt.Errorf("%w (%d events)", ErrQueueOverflow, cap(cn.queue)))
	cn.l.overflows.Add(1)
}

// enqueue adds it to the event queue without blocking; false if full.
func (cn *conn) enqueue(it item) bool {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	if cn.qclosed {
		return true
	}
	select {
	case cn.queue <- it:
		return true
	default:
		return false
	}
}

func (cn *conn) closeQueue() {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	if !cn.qclosed {
		cn.qclosed = true
		close(cn.queue)
	}
}

// readLoop reads frames until the connection breaks: answers go to their
// waiting request, events (and answers that are also events) to the queue.
func (cn *conn) readLoop() {
	defer cn.closeQueue()
	br := bufio.NewReader(cn.nc)
	for {
		m, err := tlib.ReadMessage(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errEOF
			}
			cn.kill(fmt.Errorf("%w: %s: %w", ErrLinkDown, cn.addr, err))
			return
		}
		cn.l.events.Add(1)
		ref := m.ReferenceID()
		pure := ref != 0 && isPureAnswer(m.Type)
		answer := m
		if !pure {
			// Queue before answering, so that the requester (the resync
			// in particular) sees its answer only after the Handler's copy
			// is queued: LinkState(true) then follows the resync answers.
			if ref != 0 {
				answer = m.Clone() // the Handler gets its own copy
			}
			if !cn.enqueue(item{msg: m}) {
				cn.overflow(m)
				return
			}
		}
		if ref != 0 && !cn.answer(ref, answer) && pure {
			cn.l.log.Debug("cti answer without a waiting request", "event", m.Type.String(), "ref", ref)
		}
	}
}

// dispatch hands queued items to the Handler in order, then reports the
// link down if it had reported it up.
func (cn *conn) dispatch() {
	l := cn.l
	h := l.c.h
	wasUp := false
	for it := range cn.queue {
		if it.up {
			wasUp = true
			l.setUp(true)
			h.LinkState(l.srv.Name, true)
			continue
		}
		h.HandleEvent(l.srv.Name, it.msg)
	}
	if wasUp {
		l.setUp(false)
		h.LinkState(l.srv.Name, false)
	}
}

func (cn *conn) answer(ref int64, m *tlib.Message) bool {
	cn.pmu.Lock()
	ch, ok := cn.pending[ref]
	delete(cn.pending, ref)
	cn.pmu.Unlock()
	if ok {
		ch <- m // buffered 1, one answer per ref
	}
	return ok
}

func (cn *conn) forget(ref int64) {
	cn.pmu.Lock()
	delete(cn.pending, ref)
	cn.pmu.Unlock()
}

func (cn *conn) write(m *tlib.Message) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	if cn.isDead() {
		return fmt.Errorf("%w: %s", ErrLinkDown, cn.addr)
	}
	_ = cn.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := tlib.WriteMessage(cn.nc, m); err != nil {
		// A frame may be half written: the connection is unusable.
		cn.kill(fmt.Errorf("%w: %s: write: %w", ErrLinkDown, cn.addr, err))
		return fmt.Errorf("%w: %s: write %s: %w", ErrLinkDown, cn.addr, m.Type, err)
	}
	return nil
}

// send assigns a ReferenceID to m (which the caller owns), registers the
// waiter and writes m.
func (cn *conn) send(m *tlib.Message) (int64, chan *tlib.Message, error) {
	ref := cn.l.c.nextRef()
	m.SetInt(tlib.AttrReferenceID, ref)
	ch := make(chan *tlib.Message, 1)
	cn.pmu.Lock()
	cn.pending[ref] = ch
	cn.pmu.Unlock()
	if err := cn.write(m); err != nil {
		cn.forget(ref)
		return 0, nil, err
	}
	return ref, ch, nil
}

// wait waits for the answer to ref.
func (cn *conn) wait(ctx context.Context, t tlib.MessageType, ref int64, ch chan *tlib.Message) (*tlib.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cn.l.c.cfg.RequestTimeout)
		defer cancel()
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		cn.forget(ref)
		return nil, fmt.Errorf("cti: %s %s (ref %d): %w", cn.l.srv.Name, t, ref, ctx.Err())
	case <-cn.dead:
		cn.forget(ref)
		select {
		case r := <-ch: // answered just before the link broke
			return r, nil
		default:
		}
		return nil, fmt.Errorf("cti: %s %s (ref %d): %w", cn.l.srv.Name, t, ref, cn.err)
	}
}

func (cn *conn) request(ctx context.Context, m *tlib.Message) (*tlib.Message, error) {
	ref, ch, err := cn.send(m)
	if err != nil {
		return nil, err
	}
	return cn.wait(ctx, m.Type, ref, ch)
}

// requestAll sends msgs with at most Window in flight and calls fn with
// each answer in the order of msgs. A transport error, a timeout or an
// error from fn stops it; the link is then reset by the caller.
func (cn *conn) requestAll(ctx context.Context, msgs []*tlib.Message, fn func(i int, r *tlib.Message) error) error {
	type flight struct {
		i   int
		ref int64
		ch  chan *tlib.Message
	}
	var q []flight
	drain := func() error {
		f := q[0]
		q = q[1:]
		r, err := cn.wait(ctx, msgs[f.i].Type, f.ref, f.ch)
		if err != nil {
			return err
		}
		return fn(f.i, r)
	}
	fail := func(err error) error {
		for _, f := range q {
			cn.forget(f.ref)
		}
		return err
	}
	for i, m := range msgs {
		if len(q) == Window {
			if err := drain(); err != nil {
				return fail(err)
			}
		}
		ref, ch, err := cn.send(m)
		if err != nil {
			return fail(err)
		}
		q = append(q, flight{i, ref, ch})
	}
	for len(q) > 0 {
		if err := drain(); err != nil {
			return fail(err)
		}
	}
	return nil
}
