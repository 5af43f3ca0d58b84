//go:build unix

package app

import (
	"io/fs"
	"syscall"
)

// fileGID returns the group owning fi's file (-1 if unknown).
func fileGID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Gid)
	}
	return -1
}
