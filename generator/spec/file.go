package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"testing/fstest"
)

// File is one generated file, in memory.
type File struct {
	Path    string `json:"path"` // slash-separated, relative to the repository root
	Mode    fs.FileMode
	Content []byte
	Owner   string `json:"owner"` // OwnerZdgen or OwnerUser
}

// Who maintains a file after generation. zdgen keeps managing its own
// files (manifests, Dockerfile, the shutdown sequence); a file owned by the
// user (the handlers) is written once and never touched by an upgrade.
const (
	OwnerZdgen = "zdgen"
	OwnerUser  = "user"
)

// Sum is the hex SHA-256 of the file's content.
func (f File) Sum() string {
	s := sha256.Sum256(f.Content)
	return hex.EncodeToString(s[:])
}

// FS presents files as a read-only file system rooted at the repository,
// so that what reads a repository on disk (the manifest checks) can read
// a rendered one before it is written.
func FS(files []File) fs.FS {
	m := fstest.MapFS{}
	for _, f := range files {
		m[f.Path] = &fstest.MapFile{Data: f.Content, Mode: f.Mode}
	}
	return m
}
