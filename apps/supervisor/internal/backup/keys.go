package backup

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dev8/images/apps/supervisor/internal/store"
)

const (
	archivePrefix  = "archives/"
	archiveSuffix  = ".tar.zst"
	manifestPrefix = "snapshots/"
	manifestSuffix = ".json.zst"
)

func archiveKey(id string) string  { return archivePrefix + id + archiveSuffix }
func manifestKey(id string) string { return manifestPrefix + id + manifestSuffix }

// newID returns a snapshot ID that sorts by creation time.
func newID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(b[:])
}

var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}(\.[0-9]{1,9})?Z-[0-9a-f]{6}$`)

// ValidID reports whether id has the form of a snapshot ID
// (20261127T154809.166111598Z-272034). Only such IDs are read or deleted.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// idFromKey extracts the snapshot ID of a key with the given prefix and suffix.
func idFromKey(key, prefix, suffix string) (string, bool) {
	if !strings.HasPrefix(key, prefix) || !strings.HasSuffix(key, suffix) {
		return "", false
	}
	id := strings.TrimSuffix(strings.TrimPrefix(key, prefix), suffix)
	return id, ValidID(id)
}

// idsFromObjects returns the snapshot IDs of the objects' keys, oldest
// first. Other keys (temporary files, foreign objects) are ignored.
func idsFromObjects(objs []store.Object, prefix, suffix string) []string {
	var ids []string
	for _, o := range objs {
		if id, ok := idFromKey(o.Key, prefix, suffix); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
