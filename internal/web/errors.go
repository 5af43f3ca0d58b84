package web

import "errors"

// ErrAssets means the embedded UI files are unusable (missing index.html or
// an unreadable file): a broken build.
var ErrAssets = errors.New("web: embedded assets")
