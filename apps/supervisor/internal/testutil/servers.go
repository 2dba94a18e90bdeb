package testutil

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is a backend process started for one test.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
}

// Signal sends sig to the server's process group (SIGSTOP/SIGCONT to pause it).
func (s *Server) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil {
		t.Fatalf("signal server: %v", err)
	}
}

// Binary finds a server binary from envVar, then PATH. When it is missing
// the test is skipped, or fails if DEV8_REQUIRE_INTEGRATION=1.
func Binary(t testing.TB, envVar, name string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: set %s or put it on PATH", name, envVar)
	if os.Getenv("DEV8_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + " (DEV8_REQUIRE_INTEGRATION=1)")
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartMoto starts moto's S3 server (DEV8_MOTO_SERVER) on a free port.
func StartMoto(t testing.TB) *Server {
	bin := Binary(t, "DEV8_MOTO_SERVER", "moto_server")
	port := FreePort(t)
	return start(t, "http://127.0.0.1:"+strconv.Itoa(port), bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
}

// AzuriteAccount and AzuriteKey are Azurite's well-known development credentials.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// StartAzurite starts Azurite's blob service (DEV8_AZURITE_BLOB) on a free
// port; Endpoint includes the account path.
func StartAzurite(t testing.TB) *Server {
	bin := Binary(t, "DEV8_AZURITE_BLOB", "azurite-blob")
	port := FreePort(t)
	return start(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/"+AzuriteAccount, bin,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--skipApiVersionCheck", "--loose",
		"--silent", "--inMemoryPersistence", "--disableTelemetry")
}

func start(t testing.TB, endpoint, bin string, args ...string) *Server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = t.TempDir()
	logf, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	s := &Server{Endpoint: endpoint, cmd: cmd}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-exited:
			deadline = time.Time{}
			continue
		default:
		}
		if resp, err := client.Get(endpoint); err == nil {
			resp.Body.Close()
			return s
		}
	}
	out, _ := os.ReadFile(logf.Name())
	t.Fatalf("%s did not become ready at %s:\n%s", bin, endpoint, out)
	return nil
}
