package testutil

import (
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy in front of a backend server that can stall (stop
// reading and forwarding, like a peer that hangs), refuse connections, or
// drop one connection in the middle of a response.
type Proxy struct {
	// Endpoint is the upstream endpoint with the proxy's host and port.
	Endpoint string
	ln       net.Listener
	upstream string

	mu         sync.Mutex
	gate       chan struct{} // closed while traffic flows
	down       bool
	conns      []net.Conn
	stallAfter int64 // client->server bytes left before stalling; 0: not armed
	dropAfter  int64 // server->client bytes left before dropping a connection; 0: not armed
	dropDown   bool  // go down once the connection is dropped
	accepted   atomic.Int64
}

// StartProxy listens on a free 127.0.0.1 port and forwards to the host of
// endpoint, until the test ends.
func StartProxy(t testing.TB, endpoint string) *Proxy {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, upstream: u.Host, gate: open}
	u.Host = ln.Addr().String()
	p.Endpoint = u.String()
	go p.accept()
	t.Cleanup(func() {
		p.Resume()
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

// Accepted is the number of connections accepted so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Stall stops reading from and forwarding to every connection, new ones included.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallLocked()
}

func (p *Proxy) stallLocked() {
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default:
	}
}

// StallAfter stalls once n more bytes have gone from clients to the server.
func (p *Proxy) StallAfter(n int64) {
	p.mu.Lock()
	p.stallAfter = n
	p.mu.Unlock()
}

// Resume lets traffic flow again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// Down makes the proxy close every connection as soon as it is accepted
// (and the open ones), like a server that went away.
func (p *Proxy) Down(down bool) {
	p.mu.Lock()
	p.down = down
	conns := p.conns
	if down {
		p.conns = nil
	}
	p.mu.Unlock()
	if down {
		for _, c := range conns {
			c.Close()
		}
	}
}

// DropAfter closes, once, the connection that carries the n-th byte from
// the server to the clients; with thenDown the proxy then goes down.
func (p *Proxy) DropAfter(n int64, thenDown bool) {
	p.mu.Lock()
	p.dropAfter, p.dropDown = n, thenDown
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		p.mu.Lock()
		down := p.down
		if !down {
			p.conns = append(p.conns, c)
		}
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		// A small receive buffer makes a stalled proxy push back on the client at once.
		c.(*net.TCPConn).SetReadBuffer(64 << 10)
		go p.serve(c)
	}
}

func (p *Proxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, up)
	p.mu.Unlock()
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c, true); done <- struct{}{} }()
	go func() { p.pipe(c, up, false); done <- struct{}{} }()
	<-done // closing both ends stops the other direction
}

// pipe copies src to dst, waiting at the gate before every read and write;
// it returns when either side fails or closes.
func (p *Proxy) pipe(dst, src net.Conn, toServer bool) {
	buf := make([]byte, 32<<10)
	for {
		p.wait()
		n, err := src.Read(buf)
		if n > 0 {
			drop := p.count(int64(n), toServer)
			p.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil || drop {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// count accounts n bytes, arming a stall or reporting that this connection
// is to be dropped.
func (p *Proxy) count(n int64, toServer bool) (drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if toServer && p.stallAfter > 0 {
		if p.stallAfter -= n; p.stallAfter <= 0 {
			p.stallAfter = 0
			p.stallLocked()
		}
	}
	if !toServer && p.dropAfter > 0 {
		if p.dropAfter -= n; p.dropAfter <= 0 {
			p.dropAfter = 0
			p.down = p.down || p.dropDown
			return true
		}
	}
	return false
}

func (p *Proxy) wait() {
	p.mu.Lock()
	g := p.gate
	p.mu.Unlock()
	<-g
}
