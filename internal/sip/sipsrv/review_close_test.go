package sipsrv

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func reviewOptions(cseq int, port int) string {
	return fmt.Sprintf("OPTIONS sip:rec@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bKopt%d\r\n"+
		"From: <sip:ms@127.0.0.1>;tag=o1\r\nTo: <sip:rec@127.0.0.1>\r\n"+
		"Call-ID: opt-review\r\nCSeq: %d OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", port, cseq, cseq)
}

// After Close the server handles nothing more: also not requests on TCP
// connections accepted before (their sockets and goroutines must go).
func TestReviewCloseEndsTCPConnections(t *testing.T) {
	s, _ := startReviewServer(t)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.TCPAddr).Port
	rd := bufio.NewReader(c)
	status := func() (string, error) {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		line, err := rd.ReadString('\n')
		for err == nil { // skip the rest of the message
			var l string
			if l, err = rd.ReadString('\n'); l == "\r\n" {
				break
			}
		}
		return strings.TrimSpace(line), err
	}
	if _, err := c.Write([]byte(reviewOptions(1, port))); err != nil {
		t.Fatal(err)
	}
	if line, err := status(); err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS before Close: %q, %v", line, err)
	}
	_ = s.Close()
	_, _ = c.Write([]byte(reviewOptions(2, port)))
	if line, err := status(); err == nil {
		t.Errorf("closed server still answers on an old TCP connection: %q", line)
	}
}
