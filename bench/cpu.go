package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/genflow/genflow/internal/testenv"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat's CPU times; 100 on
// every Linux this runs on.
const clockTick = 100

// cpuTime is the user+system CPU time a process has used so far, from
// /proc/PID/stat (0 when it cannot be read).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) start at ") ".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTick
}

// childPID finds the child process of this one whose command is name
// (the dev server started by testsuite.StartDevServer), or 0.
func childPID(name string) int {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) > 1 && f[1] == self && s[open+1:end] == name {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

// cpuMeter measures the CPU the Temporal server (the dev server), this
// process and, with -postgres-pid, PostgreSQL use.
type cpuMeter struct{ serverPID, postgresPID int }

type cpuSample struct{ server, self, postgres time.Duration }

func (m cpuMeter) sample() cpuSample {
	s := cpuSample{server: cpuTime(m.serverPID), self: cpuTime(os.Getpid())}
	if m.postgresPID > 0 {
		s.postgres = testenv.ProcTreeCPU(m.postgresPID)
	}
	return s
}

// since is the CPU used since s.
func (m cpuMeter) since(s cpuSample) cpuSample {
	now := m.sample()
	return cpuSample{server: now.server - s.server, self: now.self - s.self, postgres: now.postgres - s.postgres}
}
