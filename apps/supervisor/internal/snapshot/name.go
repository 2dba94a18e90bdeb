package snapshot

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Name is a file name or link target exactly as the filesystem holds it:
// any bytes but NUL. In JSON it is a string when it is valid UTF-8, and
// otherwise an object {"base64": "<the raw bytes, standard base64>"}, so
// that names in other encodings (Latin-1 "\xe9", stray bytes) round-trip.
type Name string

type rawName struct {
	Base64 []byte `json:"base64"`
}

// MarshalJSON writes the name as a string or, if it is not UTF-8, as base64.
func (n Name) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(n)) {
		return json.Marshal(string(n))
	}
	return json.Marshal(rawName{Base64: []byte(n)})
}

// UnmarshalJSON reads either form.
func (n *Name) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var r rawName
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if r.Base64 == nil {
			return errors.New(`name object without "base64"`)
		}
		*n = Name(r.Base64)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*n = Name(s)
	return nil
}

// entryJSON is Entry on the wire: Path and Link as Names.
type entryJSON struct {
	*plainEntry
	Path Name `json:"path"`
	Link Name `json:"link,omitempty"`
}

type plainEntry Entry

// MarshalJSON encodes the entry with byte-exact names.
func (e Entry) MarshalJSON() ([]byte, error) {
	p := plainEntry(e)
	return json.Marshal(entryJSON{plainEntry: &p, Path: Name(e.Path), Link: Name(e.Link)})
}

// UnmarshalJSON decodes an entry written by MarshalJSON.
func (e *Entry) UnmarshalJSON(b []byte) error {
	w := entryJSON{plainEntry: (*plainEntry)(e)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	e.Path, e.Link = string(w.Path), string(w.Link)
	return nil
}
