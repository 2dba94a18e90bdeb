// Package snapshot scans a workspace, writes snapshot archives with a
// manifest of every entry, and restores them with full verification.
package snapshot

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/zeebo/xxh3"
)

// FormatVersion is the manifest format written by this package. Version 1
// (names as plain JSON strings, one zstd frame per archive) is still read.
const FormatVersion = 2

// Kind is the type of a manifest entry.
type Kind string

// Entry kinds.
const (
	KindFile    Kind = "file"
	KindDir     Kind = "dir"
	KindSymlink Kind = "symlink"
)

// Entry describes one path of the workspace. Path and Link are raw bytes
// (see Name for their JSON form).
type Entry struct {
	Path  string `json:"path"` // slash-separated, relative to the root; "." is the root
	Kind  Kind   `json:"type"`
	Mode  uint32 `json:"mode"` // permission and special bits (fs.FileMode)
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
	CTime int64  `json:"ctime_ns"`
	Link  string `json:"link,omitempty"`
	// XXH3 is the XXH3-128 of the content (hex, canonical big-endian
	// form): a check against damage, fast enough not to slow a backup
	// down. Version 1 manifests carry SHA256 instead.
	XXH3    string `json:"xxh3,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Archive string `json:"archive,omitempty"` // ID of the archive holding the content
	// Inconsistent marks a file that kept changing while it was read: what
	// is stored may mix versions. The next backup reads it again.
	Inconsistent bool `json:"inconsistent,omitempty"`
}

// SameMeta reports whether e and o describe the same unchanged path.
func (e Entry) SameMeta(o Entry) bool {
	return e.Path == o.Path && e.Kind == o.Kind && e.Mode == o.Mode && e.UID == o.UID &&
		e.GID == o.GID && e.Size == o.Size && e.MTime == o.MTime && e.CTime == o.CTime && e.Link == o.Link
}

// NeedsContent reports whether the entry's bytes live in an archive.
func (e Entry) NeedsContent() bool { return e.Kind == KindFile && e.Size > 0 }

// checksum returns a hash of the kind the entry's checksum is and the
// expected value.
func (e Entry) checksum() (hash.Hash, string) {
	if e.XXH3 != "" {
		return xxh3.New128(), e.XXH3
	}
	return sha256.New(), e.SHA256
}

// SameContent reports whether e and o have the same checksum.
func (e Entry) SameContent(o Entry) bool { return e.XXH3 == o.XXH3 && e.SHA256 == o.SHA256 }

// ArchiveInfo describes an archive: a tar stream cut into independent zstd
// frames. Sync lists the offsets, in the
// compressed archive, of the frames that start at a tar header: a restore
// that skips damaged data resumes at the next of them.
type ArchiveInfo struct {
	Size  int64   `json:"size"`
	XXH64 string  `json:"xxh64,omitempty"` // xxhash64 of the compressed bytes, hex
	Sync  []int64 `json:"sync,omitempty"`
}

// Skipped names a path that is not in the snapshot and why.
type Skipped struct {
	Path   Name   `json:"path"`
	Reason string `json:"reason"`
}

// Manifest is the complete description of one snapshot.
type Manifest struct {
	Version  int                    `json:"version"`
	ID       string                 `json:"id"`
	Created  int64                  `json:"created_unix"`
	Archives map[string]ArchiveInfo `json:"archives"`
	Entries  []Entry                `json:"entries"` // sorted by Path
	// Skipped lists (up to MaxListed of) the paths that vanished or could
	// not be read; SkippedCount counts them all.
	Skipped      []Skipped `json:"skipped,omitempty"`
	SkippedCount int       `json:"skipped_count,omitempty"`
}

// MaxListed bounds the lists of paths kept in manifests and results.
const MaxListed = 100

// Totals returns the number of regular files and their total size.
func (m *Manifest) Totals() (files int, bytes int64) {
	for _, e := range m.Entries {
		if e.Kind == KindFile {
			files++
			bytes += e.Size
		}
	}
	return files, bytes
}

// Encode writes m as zstd-compressed JSON.
func (m *Manifest) Encode(w io.Writer) error {
	// A small window keeps the encoder's buffers small: the daemon idles
	// between backups and its peak memory shapes its idle memory.
	zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return err
	}
	if err := json.NewEncoder(zw).Encode(m); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

// DecodeManifest reads a manifest written by Encode and checks its consistency.
func DecodeManifest(r io.Reader) (*Manifest, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var m Manifest
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest is corrupt: %w", err)
	}
	if m.Version != FormatVersion && m.Version != 1 {
		return nil, fmt.Errorf("manifest %s has unsupported version %d", m.ID, m.Version)
	}
	for i, e := range m.Entries {
		if e.NeedsContent() {
			if _, ok := m.Archives[e.Archive]; !ok || (e.SHA256 == "" && e.XXH3 == "") {
				return nil, fmt.Errorf("manifest %s is corrupt: %q has no archive or checksum", m.ID, e.Path)
			}
		}
		if i > 0 && m.Entries[i-1].Path >= e.Path {
			return nil, fmt.Errorf("manifest %s is corrupt: entries out of order at %q", m.ID, e.Path)
		}
	}
	return &m, nil
}

// MetaDigest is a digest of the entries' paths and metadata (what
// SameMeta compares): two lists with the same digest describe the same
// unchanged tree.
func MetaDigest(entries []Entry) [32]byte {
	h := sha256.New()
	var b []byte
	for _, e := range entries {
		b = binary.AppendUvarint(b[:0], uint64(len(e.Path)))
		b = append(b, e.Path...)
		b = append(b, e.Kind...)
		b = binary.AppendUvarint(b, uint64(e.Mode))
		for _, v := range []int64{int64(e.UID), int64(e.GID), e.Size, e.MTime, e.CTime} {
			b = binary.AppendVarint(b, v)
		}
		b = binary.AppendUvarint(b, uint64(len(e.Link)))
		b = append(b, e.Link...)
		h.Write(b)
	}
	return [32]byte(h.Sum(nil))
}
