package snapshot

import (
	"encoding/hex"
	"io"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

const (
	// frameMin: a frame is closed at the next tar header once it holds this
	// much, so damage to one frame costs only the files in it.
	frameMin = 1 << 20
	// frameMax: a frame is closed at this size even inside a file.
	frameMax = 2 << 20
)

// frameWriter cuts a tar stream into independent zstd frames, compresses
// them on several goroutines and writes them in order, recording where the frames that begin with a tar header
// start.
type frameWriter struct {
	enc  *zstd.Encoder
	buf  []byte
	sync bool // the frame being filled starts at a tar header

	jobs  chan *frameJob // to the compressing goroutines
	queue chan *frameJob // to the writing goroutine, in order
	free  chan []byte    // recycled frame buffers
	wg    sync.WaitGroup
	done  chan struct{}

	mu     sync.Mutex
	err    error
	w      io.Writer
	off    int64
	syncAt []int64
	hash   *xxhash.Digest
}

type frameJob struct {
	in, out []byte
	sync    bool
	ready   chan struct{}
}

func newFrameWriter(w io.Writer, workers int) (*frameWriter, error) {
	// A frame never refers outside itself: a window the size of a frame
	// keeps each encoder's history at 2x2 MiB instead of 2x8 MiB. No frame
	// checksum: every file's SHA-256 in the manifest already checks each
	// byte restored (and tar's header checksums the headers), and the
	// archive's xxh64 checks it at rest; the checksum would cost 5% of the
	// CPU of a backup.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(workers),
		zstd.WithEncoderCRC(false), zstd.WithWindowSize(frameMax))
	if err != nil {
		return nil, err
	}
	fw := &frameWriter{enc: enc, buf: make([]byte, 0, frameCap), sync: true, jobs: make(chan *frameJob, workers),
		queue: make(chan *frameJob, workers+1), free: make(chan []byte, 2*workers+2), done: make(chan struct{}),
		w: w, hash: xxhash.New()}
	for range workers {
		fw.wg.Go(fw.compress)
	}
	go fw.output()
	return fw, nil
}

func (fw *frameWriter) compress() {
	for j := range fw.jobs {
		j.out = fw.enc.EncodeAll(j.in, fw.buffer())
		close(j.ready)
	}
}

func (fw *frameWriter) output() {
	defer close(fw.done)
	for j := range fw.queue {
		<-j.ready
		if fw.failed() == nil {
			if j.sync {
				fw.syncAt = append(fw.syncAt, fw.off)
			}
			n, err := fw.w.Write(j.out)
			fw.off += int64(n)
			fw.hash.Write(j.out[:n])
			if err != nil {
				fw.fail(err)
			}
		}
		fw.recycle(j.in)
		fw.recycle(j.out)
	}
}

func (fw *frameWriter) fail(err error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err == nil {
		fw.err = err
	}
}

func (fw *frameWriter) failed() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.err
}

// frameCap leaves room for zstd's framing of an incompressible frame.
const frameCap = frameMax + 64<<10

func (fw *frameWriter) buffer() []byte {
	select {
	case b := <-fw.free:
		return b[:0]
	default:
		return make([]byte, 0, frameCap)
	}
}

func (fw *frameWriter) recycle(b []byte) {
	if cap(b) < frameCap {
		return
	}
	select {
	case fw.free <- b:
	default:
	}
}

// Write appends to the current frame, closing it whenever it is full.
func (fw *frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), frameMax-len(fw.buf))
		fw.buf = append(fw.buf, p[:k]...)
		p = p[k:]
		if len(fw.buf) == frameMax {
			fw.cut(false)
		}
	}
	if err := fw.failed(); err != nil {
		return 0, err
	}
	return n, nil
}

// space returns room in the current frame for up to n bytes, to be filled
// and then passed to commit.
func (fw *frameWriter) space(n int64) []byte {
	if len(fw.buf) == frameMax {
		fw.cut(false)
	}
	end := len(fw.buf) + int(min(n, int64(frameMax-len(fw.buf))))
	return fw.buf[len(fw.buf):end]
}

// commit adds the first n bytes of the last space to the frame.
func (fw *frameWriter) commit(n int) {
	fw.buf = fw.buf[:len(fw.buf)+n]
	if len(fw.buf) == frameMax {
		fw.cut(false)
	}
}

// zeros appends n zero bytes.
func (fw *frameWriter) zeros(n int64) {
	for n > 0 {
		b := fw.space(n)
		clear(b)
		fw.commit(len(b))
		n -= int64(len(b))
	}
}

// Boundary tells the writer that a tar header follows: the current frame
// is closed there if it is big enough.
func (fw *frameWriter) Boundary() {
	if len(fw.buf) == 0 {
		fw.sync = true
	} else if len(fw.buf) >= frameMin {
		fw.cut(true)
	}
}

// cut hands the current frame to the compressors; next says whether the
// following frame starts at a tar header.
func (fw *frameWriter) cut(next bool) {
	if len(fw.buf) > 0 {
		j := &frameJob{in: fw.buf, sync: fw.sync, ready: make(chan struct{})}
		fw.queue <- j
		fw.jobs <- j
		fw.buf = fw.buffer()
	}
	fw.sync = next
}

// Close writes the last frame, waits for every frame to be written and
// describes the archive. It must be called once, also after an error.
func (fw *frameWriter) Close() (ArchiveInfo, error) {
	fw.cut(false)
	close(fw.jobs)
	close(fw.queue)
	fw.wg.Wait()
	<-fw.done
	fw.enc.Close()
	if err := fw.failed(); err != nil {
		return ArchiveInfo{}, err
	}
	return ArchiveInfo{Size: fw.off, XXH64: hex.EncodeToString(fw.hash.Sum(nil)), Sync: fw.syncAt}, nil
}
