package app

import (
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/mediaconv"
)

// storeCodec checks, before anything starts, that every storage format
// the configuration asks for (media_format, also per tenant) can be made
// and read back: MP3 and Opus need ffmpeg with its libmp3lame / libopus
// encoders. A deployment asking for one without it does not start.
func storeCodec(cfg config.Serve) (mediaconv.StoreCodec, error) {
	c := mediaconv.StoreCodec{FFmpeg: cfg.FFmpeg}
	formats := []string{cfg.MediaFormat}
	for _, t := range cfg.Tenants {
		f, _ := cfg.TenantMediaFormat(t.Name)
		formats = append(formats, f)
	}
	checked := map[string]bool{}
	for _, f := range formats {
		f, err := mediaconv.ParseStoreFormat(f)
		if err != nil {
			return c, fmt.Errorf("media_format: %w", err)
		}
		if checked[f] {
			continue
		}
		checked[f] = true
		if err := c.Check(f); err != nil {
			return c, fmt.Errorf("media_format %s: %w", f, err)
		}
	}
	return c, nil
}

// mediaFormatBySource returns the storage format and bitrate of a
// session from a SIP source: its tenant's (source_tenants,
// default_tenant) where it sets media_format or media_bitrate, else the
// deployment's. "" (a recording redone at start) is the deployment's.
func mediaFormatBySource(cfg config.Serve) func(string) (string, int) {
	tenantOf := sourceTenantName(cfg)
	return func(source string) (string, int) {
		name := ""
		if source != "" {
			name = tenantOf(source)
		}
		f, kbps := cfg.TenantMediaFormat(name)
		return strings.ToLower(f), kbps
	}
}
