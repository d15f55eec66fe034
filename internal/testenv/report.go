package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TemporalVersion is the Temporal CLI's version line ("1.5.1 (Server
// 1.29.1, UI 2.42.1)"), or "unknown", for the reports of the bench and
// the fault suite.
func TemporalVersion() string {
	cli, err := FindTemporalCLI()
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command(cli, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "temporal version "))
}

// ProcField reads a "Name:   123 kB" line of a /proc file, in KiB; zero
// when the file or the line is missing.
func ProcField(path, field string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return v
		}
	}
	return 0
}

// Section is a part of a document that a program rewrites: what stands
// between its two markers.
type Section struct {
	// Name tells the markers apart in error messages ("bench").
	Name string
	// Begin and End are the markers, each on a line of its own.
	Begin, End string
}

// Write replaces what path holds between s's markers with md, or appends
// the markers and md when there are none; a file with one marker and not
// the other is an error and is left alone.
func (s Section) Write(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	section := s.Begin + "\n" + md + s.End
	var out []byte
	i, j := bytes.Index(old, []byte(s.Begin)), bytes.Index(old, []byte(s.End))
	switch {
	case i >= 0 && j > i:
		out = append(append(append([]byte{}, old[:i]...), section...), old[j+len(s.End):]...)
	case i >= 0 || j >= 0:
		return fmt.Errorf("%s: one %s marker without the other; fix the file by hand", path, s.Name)
	default:
		out = append(append(old, '\n'), section+"\n"...)
	}
	return os.WriteFile(path, out, 0o644)
}

// ProcCPU is the user+system CPU time pid has used, from
// /proc/PID/stat (0 when it cannot be read); with children, the CPU time
// of the children it waited for too (cutime+cstime).
func ProcCPU(pid int, children bool) time.Duration {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	ticks := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	// f[0] is field 3 (state): utime, stime, cutime, cstime are fields
	// 14 to 17.
	t := ticks(11) + ticks(12)
	if children {
		t += ticks(13) + ticks(14)
	}
	return time.Duration(t) * time.Second / clockTick
}

// ProcTreeCPU is the CPU time of pid, of its live children and of the
// children it waited for: a PostgreSQL postmaster and its backends.
func ProcTreeCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	total := ProcCPU(pid, true)
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		child, err := strconv.Atoi(filepath.Base(d))
		if err != nil || child == pid {
			continue
		}
		if f := statFields(child); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			total += ProcCPU(child, false)
		}
	}
	return total
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's CPU times.
const clockTick = 100

// statFields are the fields of /proc/PID/stat after the command name,
// which may hold spaces (the first is field 3, the state).
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}
