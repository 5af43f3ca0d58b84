package tlib

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// Framing (docs/cti-link.md has the byte-by-byte description):
//
//	frame     = length:u32 type:u16 count:u16 attr*count     length = bytes after itself
//	attr      = id:u16 kind:u8 value
//	  int     = i64                                           (kind 1)
//	  string  = len:u32 bytes                                 (kind 2)
//	  connid  = u64                                           (kind 3)
//	  list    = kvlist                                        (kind 4)
//	kvlist    = count:u32 pair*count
//	pair      = type:u8 keylen:u32 key value
//	  String/Unicode/Binary = len:u32 bytes;  Int = i32;  List = kvlist
//
// All integers are big-endian.

const (
	// MaxFrame is the largest value of a frame's length field: the bytes
	// of a frame after its 4-byte length.
	MaxFrame = 1 << 20
	// MaxDepth is how deep key-value lists may nest: an attribute's list
	// is depth 1, a list inside it depth 2.
	MaxDepth = 16

	frameHeader = 4 + 2 + 2 // length, type, count
	minAttr     = 2 + 1 + 4 // id, kind, smallest value (empty string)
	minPair     = 1 + 4 + 4 // type, key length, smallest value (int, empty string/binary, empty list)
)

// AppendFrame appends the frame of m to dst. On error dst is returned
// unchanged and the error wraps ErrFrame.
func AppendFrame(dst []byte, m *Message) ([]byte, error) {
	if m == nil {
		return dst, fmt.Errorf("%w: nil message", ErrFrame)
	}
	if len(m.Attrs) > 0xFFFF {
		return dst, fmt.Errorf("%w: %s: %d attributes, max 65535", ErrFrame, m.Type, len(m.Attrs))
	}
	n := 4 // type + count
	for i := range m.Attrs {
		s, err := attrSize(&m.Attrs[i])
		if err != nil {
			return dst, fmt.Errorf("%w: %s: %v", ErrFrame, m.Type, err)
		}
		n += s
		if n > MaxFrame {
			return dst, fmt.Errorf("%w: %s: longer than MaxFrame (%d bytes)", ErrFrame, m.Type, MaxFrame)
		}
	}
	if free := cap(dst) - len(dst); free < 4+n {
		grown := make([]byte, len(dst), len(dst)+4+n)
		copy(grown, dst)
		dst = grown
	}
	b := binary.BigEndian.AppendUint32(dst, uint32(n))
	b = binary.BigEndian.AppendUint16(b, uint16(m.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Attrs)))
	for i := range m.Attrs {
		b = appendAttr(b, &m.Attrs[i])
	}
	return b, nil
}

func attrSize(a *Attr) (int, error) {
	switch a.Kind {
	case KindInt, KindConnID:
		return 3 + 8, nil
	case KindString:
		if len(a.Str) > MaxFrame {
			return 0, fmt.Errorf("%s: string too long", a.ID)
		}
		return 3 + 4 + len(a.Str), nil
	case KindList:
		s, err := listSize(a.List, 1)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", a.ID, err)
		}
		return 3 + s, nil
	}
	return 0, fmt.Errorf("%s: unknown value kind %d", a.ID, a.Kind)
}

// listSize is the encoded size of l at nesting depth d, or an error if l
// cannot be encoded. It stops as soon as the size exceeds MaxFrame.
func listSize(l KVList, d int) (int, error) {
	if d > MaxDepth {
		return 0, fmt.Errorf("key-value lists nested deeper than %d", MaxDepth)
	}
	n := 4
	for i := range l {
		kv := &l[i]
		n += 1 + 4 + len(kv.Key)
		switch kv.Type {
		case KVString:
			n += 4 + len(kv.Str)
		case KVUnicode:
			if !utf8.ValidString(kv.Str) {
				return 0, fmt.Errorf("key %q: Unicode value is not UTF-8", kv.Key)
			}
			n += 4 + len(kv.Str)
		case KVInt:
			n += 4
		case KVBinary:
			n += 4 + len(kv.Bin)
		case KVNested:
			s, err := listSize(kv.List, d+1)
			if err != nil {
				return 0, err
			}
			n += s
		default:
			return 0, fmt.Errorf("key %q: unknown key-value type %d", kv.Key, kv.Type)
		}
		if n > MaxFrame {
			return 0, fmt.Errorf("longer than MaxFrame (%d bytes)", MaxFrame)
		}
	}
	return n, nil
}

func appendAttr(b []byte, a *Attr) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(a.ID))
	b = append(b, byte(a.Kind))
	switch a.Kind {
	case KindInt:
		b = binary.BigEndian.AppendUint64(b, uint64(a.Int))
	case KindConnID:
		b = binary.BigEndian.AppendUint64(b, uint64(a.Conn))
	case KindString:
		b = appendBytes(b, a.Str)
	case KindList:
		b = appendList(b, a.List)
	}
	return b
}

func appendBytes[S string | []byte](b []byte, s S) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendList(b []byte, l KVList) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
	for i := range l {
		kv := &l[i]
		b = append(b, byte(kv.Type))
		b = appendBytes(b, kv.Key)
		switch kv.Type {
		case KVString, KVUnicode:
			b = appendBytes(b, kv.Str)
		case KVInt:
			b = binary.BigEndian.AppendUint32(b, uint32(kv.Int))
		case KVBinary:
			b = appendBytes(b, kv.Bin)
		case KVNested:
			b = appendList(b, kv.List)
		}
	}
	return b
}

// DecodeFrame decodes b, which must hold exactly one frame (length field
// included). Errors wrap ErrFrame.
func DecodeFrame(b []byte) (*Message, error) {
	if len(b) < frameHeader {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a frame header", ErrFrame, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: length %d exceeds MaxFrame", ErrFrame, n)
	}
	if uint64(n) != uint64(len(b)-4) {
		return nil, fmt.Errorf("%w: length field %d, but %d bytes follow", ErrFrame, n, len(b)-4)
	}
	return decodeBody(b[4:])
}

// decodeBody decodes what follows the length field.
func decodeBody(b []byte) (*Message, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: length %d, shorter than type and count", ErrFrame, len(b))
	}
	d := decoder{b: b, off: 4}
	m := &Message{Type: MessageType(binary.BigEndian.Uint16(b))}
	count := int(binary.BigEndian.Uint16(b[2:]))
	if count*minAttr > len(b)-4 {
		return nil, fmt.Errorf("%w: %s: %d attributes cannot fit in %d bytes", ErrFrame, m.Type, count, len(b)-4)
	}
	if count > 0 {
		m.Attrs = make([]Attr, count)
	}
	for i := range m.Attrs {
		if err := d.attr(&m.Attrs[i]); err != nil {
			return nil, fmt.Errorf("%w: %s: attribute %d at byte %d: %v", ErrFrame, m.Type, i, d.off+4, err)
		}
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("%w: %s: %d bytes after the last attribute", ErrFrame, m.Type, len(b)-d.off)
	}
	return m, nil
}

type decoder struct {
	b   []byte
	off int
}

func (d *decoder) need(n int) error {
	if n < 0 || len(d.b)-d.off < n {
		return fmt.Errorf("need %d bytes, %d left", n, len(d.b)-d.off)
	}
	return nil
}

func (d *decoder) u8() (byte, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	v := d.b[d.off]
	d.off++
	return v, nil
}

func (d *decoder) u16() (uint16, error) {
	if err := d.need(2); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v, nil
}

func (d *decoder) u32() (uint32, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v, nil
}

func (d *decoder) u64() (uint64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v, nil
}

// bytes returns the next length-prefixed byte string, aliasing d.b.
func (d *decoder) bytes() ([]byte, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("length %d, %d bytes left", n, len(d.b)-d.off)
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v, nil
}

func (d *decoder) attr(a *Attr) error {
	id, err := d.u16()
	if err != nil {
		return err
	}
	k, err := d.u8()
	if err != nil {
		return err
	}
	a.ID, a.Kind = AttrID(id), Kind(k)
	switch a.Kind {
	case KindInt:
		v, err := d.u64()
		a.Int = int64(v)
		return err
	case KindConnID:
		v, err := d.u64()
		a.Conn = ConnID(v)
		return err
	case KindString:
		v, err := d.bytes()
		a.Str = string(v)
		return err
	case KindList:
		a.List, err = d.list(1)
		if err != nil {
			return fmt.Errorf("%s: %v", a.ID, err)
		}
		return nil
	}
	return fmt.Errorf("%s: unknown value kind %d", a.ID, k)
}

func (d *decoder) list(depth int) (KVList, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("key-value lists nested deeper than %d", MaxDepth)
	}
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	if uint64(n)*minPair > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("%d pairs cannot fit in %d bytes", n, len(d.b)-d.off)
	}
	if n == 0 {
		return nil, nil
	}
	l := make(KVList, n)
	for i := range l {
		kv := &l[i]
		t, err := d.u8()
		if err != nil {
			return nil, err
		}
		kv.Type = KVType(t)
		key, err := d.bytes()
		if err != nil {
			return nil, fmt.Errorf("pair %d key: %v", i, err)
		}
		kv.Key = string(key)
		switch kv.Type {
		case KVString, KVUnicode:
			v, err := d.bytes()
			if err != nil {
				return nil, fmt.Errorf("key %q: %v", kv.Key, err)
			}
			if kv.Type == KVUnicode && !utf8.Valid(v) {
				return nil, fmt.Errorf("key %q: Unicode value is not UTF-8", kv.Key)
			}
			kv.Str = string(v)
		case KVInt:
			v, err := d.u32()
			if err != nil {
				return nil, fmt.Errorf("key %q: %v", kv.Key, err)
			}
			kv.Int = int32(v)
		case KVBinary:
			v, err := d.bytes()
			if err != nil {
				return nil, fmt.Errorf("key %q: %v", kv.Key, err)
			}
			if len(v) > 0 {
				kv.Bin = append([]byte(nil), v...)
			}
		case KVNested:
			kv.List, err = d.list(depth + 1)
			if err != nil {
				return nil, fmt.Errorf("key %q: %v", kv.Key, err)
			}
		default:
			return nil, fmt.Errorf("key %q: unknown key-value type %d", kv.Key, t)
		}
	}
	return l, nil
}

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// WriteMessage writes the frame of m to w in one Write call. Callers that
// share w between goroutines must serialise the calls.
func WriteMessage(w io.Writer, m *Message) error {
	bp := framePool.Get().(*[]byte)
	b, err := AppendFrame((*bp)[:0], m)
	if err == nil {
		_, err = w.Write(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		framePool.Put(bp)
	}
	return err
}

// ReadMessage reads one frame from r. It returns io.EOF if r ends before
// the first byte of a frame, an error wrapping ErrFrame (and
// io.ErrUnexpectedEOF) if it ends inside one, an error wrapping ErrFrame
// for invalid bytes, and r's other errors as they are.
func ReadMessage(r *bufio.Reader) (*Message, error) {
	hdr, err := r.Peek(4)
	if err != nil {
		if err == io.EOF && len(hdr) == 0 {
			return nil, io.EOF
		}
		return nil, truncated(err)
	}
	n := binary.BigEndian.Uint32(hdr)
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: length %d exceeds MaxFrame", ErrFrame, n)
	}
	if _, err := r.Discard(4); err != nil {
		return nil, truncated(err)
	}
	if int(n) <= r.Size() {
		// Decode in place from the reader's buffer: no frame-sized allocation.
		body, err := r.Peek(int(n))
		if err != nil {
			return nil, truncated(err)
		}
		m, err := decodeBody(body)
		if _, derr := r.Discard(int(n)); err == nil && derr != nil {
			return nil, truncated(derr)
		}
		return m, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, truncated(err)
	}
	return decodeBody(body)
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: truncated frame: %w", ErrFrame, io.ErrUnexpectedEOF)
	}
	return err
}
