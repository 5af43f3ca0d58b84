package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned by OpenFile for a file that is neither pcap
// nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrLinkType is returned by OpenFile for a file whose frames are of a
// link type the decoder does not know (nothing in it could be recorded).
var ErrLinkType = errors.New("link type not supported")

// checkLinkType refuses a link type gopacket has no decoder for.
func checkLinkType(path string, lt layers.LinkType) error {
	if lt.String() == "UnknownLinkType" {
		return fmt.Errorf("%s: %w: %d (Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback are)", path, ErrLinkType, uint16(lt))
	}
	return nil
}

// File is a capture file being read.
type File struct {
	f  *os.File
	rd interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
}

// OpenFile opens a pcap (any timestamp resolution, either byte order) or
// pcapng file.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, ErrNotCapture, len(magic))
	}
	out := &File{f: f}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("%s: %w: %v", path, ErrNotCapture, err)
		}
		if err := checkLinkType(path, r.LinkType()); err != nil {
			_ = f.Close()
			return nil, err
		}
		out.rd = r
		return out, nil
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotCapture, err)
	}
	if err := checkLinkType(path, r.LinkType()); err != nil {
		_ = f.Close()
		return nil, err
	}
	out.rd = r
	return out, nil
}

// ReadPacketData implements Source. A file cut short mid-record ends like
// EOF (a capture stopped abruptly): what came before is used.
func (f *File) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := f.rd.ReadPacketData()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, ci, io.EOF
	}
	return data, ci, err
}

// LinkType implements Source.
func (f *File) LinkType() layers.LinkType { return f.rd.LinkType() }

// OtherLinkTypes names the interfaces of a pcapng file (read so far) whose
// link type is not the first interface's: their packets were skipped (one
// decoder per file), which the caller should say.
func (f *File) OtherLinkTypes() []string {
	ng, ok := f.rd.(*pcapgo.NgReader)
	if !ok {
		return nil
	}
	var out []string
	for i := range ng.NInterfaces() {
		intf, err := ng.Interface(i)
		if err == nil && intf.LinkType != ng.LinkType() {
			name := intf.Name
			if name == "" {
				name = fmt.Sprintf("#%d", i)
			}
			out = append(out, fmt.Sprintf("%s (%s)", name, intf.LinkType))
		}
	}
	return out
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
