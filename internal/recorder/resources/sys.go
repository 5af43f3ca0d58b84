package resources

import (
	"os"
	"syscall"
)

// StatFS is the Disk of the real file system: statfs(2), the space an
// unprivileged writer may use (f_bavail).
type StatFS struct{}

// Usage implements Disk.
func (StatFS) Usage(path string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Bavail * bs, st.Blocks * bs, nil
}

// ProcFDs is the FDs of this process: the entries of /proc/self/fd and the
// soft RLIMIT_NOFILE.
type ProcFDs struct{}

// Open implements FDs.
func (ProcFDs) Open() (int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, err
	}
	return len(names) - 1, nil // minus the descriptor reading the directory
}

// Limit implements FDs.
func (ProcFDs) Limit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}
