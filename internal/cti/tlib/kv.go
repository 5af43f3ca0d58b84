package tlib

// KVType is the value type of one key-value pair (public numbering).
type KVType uint8

// Key-value types.
const (
	KVString  KVType = 0
	KVInt     KVType = 1
	KVBinary  KVType = 2
	KVNested  KVType = 3
	KVUnicode KVType = 4
)

// KV is one key-value pair of a KVList. Exactly the field of its Type is set.
type KV struct {
	Key  string
	Type KVType
	Str  string // KVString, KVUnicode (UTF-8)
	Int  int32  // KVInt
	Bin  []byte // KVBinary
	List KVList // KVNested
}

// KVList is an ordered list of pairs; keys may repeat (as in T-Library).
type KVList []KV

// Get returns the first pair with key.
func (l KVList) Get(key string) (KV, bool) {
	for _, kv := range l {
		if kv.Key == key {
			return kv, true
		}
	}
	return KV{}, false
}

// String returns the value of key as text (String, Unicode, or Int
// formatted in decimal); "" if absent or another type.
func (l KVList) String(key string) string {
	kv, ok := l.Get(key)
	if !ok {
		return ""
	}
	return kv.Text()
}

// Text is the value as text for String, Unicode and Int pairs.
func (kv KV) Text() string {
	switch kv.Type {
	case KVString, KVUnicode:
		return kv.Str
	case KVInt:
		return itoa(int64(kv.Int))
	}
	return ""
}

// Set replaces the first pair with key (or appends): string value.
func (l KVList) Set(key, value string) KVList {
	return l.put(KV{Key: key, Type: KVString, Str: value})
}

// SetInt replaces the first pair with key (or appends): int value.
func (l KVList) SetInt(key string, v int32) KVList {
	return l.put(KV{Key: key, Type: KVInt, Int: v})
}

func (l KVList) put(kv KV) KVList {
	for i := range l {
		if l[i].Key == kv.Key {
			out := append(KVList(nil), l...)
			out[i] = kv
			return out
		}
	}
	return append(append(KVList(nil), l...), kv)
}

// Delete removes every pair with key.
func (l KVList) Delete(key string) KVList {
	out := make(KVList, 0, len(l))
	for _, kv := range l {
		if kv.Key != key {
			out = append(out, kv)
		}
	}
	return out
}

// Merge returns l updated with u the way RequestUpdateUserData does: each
// key of u replaces the same key of l, new keys are appended.
func (l KVList) Merge(u KVList) KVList {
	out := append(KVList(nil), l...)
	for _, kv := range u {
		out = out.put(kv)
	}
	return out
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Equal reports whether l and o hold the same pairs in the same order
// (comparing only the value field of each pair's type).
func (l KVList) Equal(o KVList) bool {
	if len(l) != len(o) {
		return false
	}
	for i := range l {
		if !l[i].Equal(o[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether kv and o have the same key, type and value.
func (kv KV) Equal(o KV) bool {
	if kv.Key != o.Key || kv.Type != o.Type {
		return false
	}
	switch kv.Type {
	case KVString, KVUnicode:
		return kv.Str == o.Str
	case KVInt:
		return kv.Int == o.Int
	case KVBinary:
		return string(kv.Bin) == string(o.Bin)
	case KVNested:
		return kv.List.Equal(o.List)
	}
	return true
}

func (t KVType) String() string {
	switch t {
	case KVString:
		return "String"
	case KVInt:
		return "Int"
	case KVBinary:
		return "Binary"
	case KVNested:
		return "List"
	case KVUnicode:
		return "Unicode"
	}
	return "KVType" + itoa(int64(t))
}
