// Package snapshot scans a workspace, writes snapshot archives with a
// manifest of every entry, and restores them with full verification.
package snapshot

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// FormatVersion is the manifest format written by this package.
const FormatVersion = 1

// Kind is the type of a manifest entry.
type Kind string

// Entry kinds.
const (
	KindFile    Kind = "file"
	KindDir     Kind = "dir"
	KindSymlink Kind = "symlink"
)

// Entry describes one path of the workspace.
type Entry struct {
	Path    string `json:"path"` // slash-separated, relative to the root; "." is the root
	Kind    Kind   `json:"type"`
	Mode    uint32 `json:"mode"` // permission and special bits (fs.FileMode)
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
	Size    int64  `json:"size"`
	MTime   int64  `json:"mtime_ns"`
	CTime   int64  `json:"ctime_ns"`
	Link    string `json:"link,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Archive string `json:"archive,omitempty"` // ID of the archive holding the content
}

// sameMeta reports whether e and o describe the same unchanged path.
func (e Entry) sameMeta(o Entry) bool {
	return e.Path == o.Path && e.Kind == o.Kind && e.Mode == o.Mode && e.UID == o.UID &&
		e.GID == o.GID && e.Size == o.Size && e.MTime == o.MTime && e.CTime == o.CTime && e.Link == o.Link
}

// needsContent reports whether the entry's bytes live in an archive.
func (e Entry) needsContent() bool { return e.Kind == KindFile && e.Size > 0 }

// ArchiveInfo describes an archive. Its integrity is checked by the zstd
// frame checksum (xxhash64 of the whole tar stream), the tar headers'
// checksums and the SHA-256 of every file in it; its size is checked too.
type ArchiveInfo struct {
	Size int64 `json:"size"`
}

// Manifest is the complete description of one snapshot.
type Manifest struct {
	Version  int                    `json:"version"`
	ID       string                 `json:"id"`
	Created  int64                  `json:"created_unix"`
	Archives map[string]ArchiveInfo `json:"archives"`
	Entries  []Entry                `json:"entries"`
}

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
	zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
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
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var m Manifest
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest is corrupt: %w", err)
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("manifest %s has unsupported version %d", m.ID, m.Version)
	}
	for _, e := range m.Entries {
		if e.needsContent() {
			if _, ok := m.Archives[e.Archive]; !ok || e.SHA256 == "" {
				return nil, fmt.Errorf("manifest %s is corrupt: %q has no archive or checksum", m.ID, e.Path)
			}
		}
	}
	return &m, nil
}
