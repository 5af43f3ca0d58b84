package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoMedia: a recording has no media file (none was written, or it is
// gone).
var ErrNoMedia = errors.New("store: recording has no media file")

// MediaFile finds the file holding r's media: the finished file, or the
// .part file while it is being written (inProgress). A relative MediaPath is
// tried as given (serve stores <data-dir>/media/..., relative to its working
// directory when --data-dir is) and then relative to dataDir.
func MediaFile(r *Recording, dataDir string) (path string, inProgress bool, err error) {
	if r.MediaPath == "" {
		return "", false, ErrNoMedia
	}
	bases := []string{r.MediaPath}
	if !filepath.IsAbs(r.MediaPath) && dataDir != "" {
		bases = append(bases, filepath.Join(dataDir, r.MediaPath))
	}
	var tried []string
	for _, p := range bases {
		final, part := p, p+".part"
		if strings.HasSuffix(p, ".part") {
			final, part = strings.TrimSuffix(p, ".part"), p
		}
		// Prefer the finished file: the row may lag the rename by a moment.
		for _, c := range []string{final, part} {
			if _, err := os.Stat(c); err == nil {
				return c, c == part, nil
			}
			tried = append(tried, c)
		}
	}
	return "", false, fmt.Errorf("%w: none of %s exists", ErrNoMedia, strings.Join(tried, ", "))
}
