//go:build !unix

package app

import "io/fs"

// fileGID returns -1: groups are a unix notion.
func fileGID(fs.FileInfo) int { return -1 }
