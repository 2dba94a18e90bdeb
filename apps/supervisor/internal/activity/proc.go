package activity

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const tcpEstablished = "01"

// countEstablished counts ESTABLISHED connections whose local port is in
// ports, from the text of /proc/net/tcp or /proc/net/tcp6.
func countEstablished(r io.Reader, ports map[int]string, counts map[string]int) {
	// One large buffer: every read() of /proc/net/tcp walks the kernel's
	// whole connection table again, so few reads are much cheaper.
	sc := bufio.NewScanner(bufio.NewReaderSize(r, 256<<10))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != tcpEstablished {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		port, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil {
			continue
		}
		if name, ok := ports[int(port)]; ok {
			counts[name]++
		}
	}
}

// connections reads tcp and tcp6 under procRoot.
func connections(procRoot string, ports map[int]string) map[string]int {
	counts := map[string]int{}
	for _, name := range ports {
		counts[name] = 0
	}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		fh, err := os.Open(filepath.Join(procRoot, f))
		if err != nil {
			continue
		}
		countEstablished(fh, ports, counts)
		fh.Close()
	}
	return counts
}

// newestPTY returns the latest modification time of the terminals in dir
// (/dev/pts): the kernel updates it on terminal input and output.
func newestPTY(dir string) time.Time {
	var newest time.Time
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "ptmx" {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
	}
	return newest
}

// lastPID returns the most recently created process ID, the last field of
// /proc/loadavg; it changes when processes start. It falls back to the
// highest numbered /proc entry.
func lastPID(procRoot string) int {
	if b, err := os.ReadFile(filepath.Join(procRoot, "loadavg")); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 5 {
			if n, err := strconv.Atoi(f[4]); err == nil {
				return n
			}
		}
	}
	entries, _ := os.ReadDir(procRoot)
	most := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > most {
			most = n
		}
	}
	return most
}
