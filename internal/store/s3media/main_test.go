package s3media_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The Uploader's dispatcher and workers end with Close; the SDK's idle
// connections with Bucket.Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
