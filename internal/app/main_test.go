package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

// App.Close ends every goroutine Start began (recorder, SIP server, CTI
// side, HTTP, sweepers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
