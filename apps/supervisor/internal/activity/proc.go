package activity

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const tcpEstablished = "01"

// countEstablished counts ESTABLISHED connections whose local port is in
// ports, from the text of /proc/net/tcp or /proc/net/tcp6. It allocates
// nothing: it runs at every poll of an idle daemon.
func countEstablished(text []byte, ports map[int]string, counts map[string]int) {
	_, text, _ = bytes.Cut(text, []byte("\n")) // header
	for len(text) > 0 {
		var line []byte
		line, text, _ = bytes.Cut(text, []byte("\n"))
		// Fields: "sl: local_address remote_address st ...".
		_, rest := field(line)
		local, rest := field(rest)
		_, rest = field(rest)
		state, _ := field(rest)
		if string(state) != tcpEstablished {
			continue
		}
		i := bytes.LastIndexByte(local, ':')
		if i < 0 {
			continue
		}
		port, err := strconv.ParseUint(string(local[i+1:]), 16, 16)
		if err != nil {
			continue
		}
		if name, ok := ports[int(port)]; ok {
			counts[name]++
		}
	}
}

// field splits the first space-separated field off b.
func field(b []byte) (f, rest []byte) {
	b = bytes.TrimLeft(b, " ")
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i:]
	}
	return b, nil
}

// procReader reads /proc/net/tcp{,6} with few large reads (every read()
// walks the kernel's whole connection table again) into a buffer kept
// between polls, so that an idle daemon allocates next to nothing.
type procReader struct {
	buf []byte
}

// read returns the content of the file at path, in the reused buffer.
func (p *procReader) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if p.buf == nil {
		p.buf = make([]byte, 0, 64<<10)
	}
	b := p.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	p.buf = b
	return b, nil
}

// connections reads tcp and tcp6 under procRoot.
func (p *procReader) connections(procRoot string, ports map[int]string) map[string]int {
	counts := map[string]int{}
	for _, name := range ports {
		counts[name] = 0
	}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		if b, err := p.read(filepath.Join(procRoot, f)); err == nil {
			countEstablished(b, ports, counts)
		}
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
