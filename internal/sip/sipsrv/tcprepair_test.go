package sipsrv

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// The TCP framing wrapper hands sipgo the same bytes it was sent, message
// by message, whatever the write boundaries, except a request repaired
// (repair.go); a stream it cannot frame is passed through unchanged.
func TestRepairConnFraming(t *testing.T) {
	good := "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h:1;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody"
	broken := strings.Replace(good, "Content-Length: 4", "Route: <sip:p:port;lr>\r\nContent-Length: 4", 1)
	noLength := "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h:1;branch=z9hG4bK2\r\n\r\nrest of the stream"
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"two messages and keep-alives, split anywhere", []string{good[:10], good[10:50], good[50:] + "\r\n\r\n" + good[:30], good[30:]}, good + "\r\n\r\n" + good},
		{"repaired request", []string{broken}, good},
		{"no Content-Length: passed through", []string{noLength}, noLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			l := &repairListener{parser: sip.NewParser(), max: 1 << 16, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			rc := &repairConn{Conn: server, r: newReader(server), l: l}
			go func() {
				for _, c := range tt.chunks {
					_, _ = client.Write([]byte(c))
				}
				client.Close()
			}()
			got, _ := io.ReadAll(rc)
			if string(got) != tt.want {
				t.Errorf("read %q\nwant %q", got, tt.want)
			}
		})
	}
}
